#include "cgroup.hpp"

#include "text.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <vector>

namespace bench {
namespace {

struct Membership {
    std::string v1_memory; // path inside the v1 memory hierarchy, "" if none
    std::string v2;        // path inside the v2 hierarchy, "" if none
};

Membership membership() {
    Membership m;
    std::istringstream in(read_file("/proc/self/cgroup"));
    std::string line;
    while (std::getline(in, line)) {
        const auto a = line.find(':'), b = line.find(':', a + 1);
        if (a == std::string::npos || b == std::string::npos)
            continue;
        const std::string ctrl = line.substr(a + 1, b - a - 1), p = line.substr(b + 1);
        std::stringstream cs(ctrl);
        std::string c;
        while (std::getline(cs, c, ','))
            if (c == "memory")
                m.v1_memory = p;
        if (ctrl.empty() && line.rfind("0::", 0) == 0)
            m.v2 = p;
    }
    return m;
}

// Mount points by file system type ("cgroup2"), or of the v1 hierarchy holding `option`.
std::vector<std::string> mounts(const std::string &fstype, const std::string &option = "") {
    std::vector<std::string> out;
    std::istringstream in(read_file("/proc/self/mounts"));
    std::string dev, dir, type, opts;
    while (in >> dev >> dir >> type >> opts) {
        std::string rest;
        std::getline(in, rest);
        if (type != fstype)
            continue;
        if (!option.empty() && ("," + opts + ",").find("," + option + ",") == std::string::npos)
            continue;
        // A mount point listed twice (a bind mount over itself) is one hierarchy.
        if (std::find(out.begin(), out.end(), dir) == out.end())
            out.push_back(dir);
    }
    return out;
}

bool has_word(const std::string &text, const std::string &word) {
    std::istringstream in(text);
    std::string w;
    while (in >> w)
        if (w == word)
            return true;
    return false;
}

bool write_file(const std::string &path, const std::string &text, std::string *err) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) {
        if (err)
            *err = path + ": " + std::strerror(errno);
        return false;
    }
    const bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
    if (!ok && err)
        *err = path + ": " + std::strerror(errno);
    ::close(fd);
    return ok;
}

long long stat_line(const std::string &stat, const char *key) {
    const std::string k = std::string("\n") + key + " ";
    const std::string t = "\n" + stat;
    const auto p = t.find(k);
    return p == std::string::npos ? -1 : std::atoll(t.c_str() + p + k.size());
}

} // namespace

bool MemCgroup::try_join(const std::string &dir, const std::string &home, bool v2) {
    if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
        why_ += (why_.empty() ? "" : "; ") + dir + ": " + std::strerror(errno);
        return false;
    }
    std::string err;
    if (!write_file(dir + "/cgroup.procs", std::to_string(getpid()), &err)) {
        why_ += (why_.empty() ? "" : "; ") + err;
        ::rmdir(dir.c_str());
        return false;
    }
    dir_ = dir;
    home_ = home;
    v2_ = v2;
    if (v2)
        what_ = stat_line(read_file(dir + "/memory.stat"), "kernel") >= 0
                        ? "cgroup v2 memory.stat `kernel` of a child cgroup of its own"
                        : "cgroup v2 memory.current of a child cgroup of its own";
    else
        what_ = "cgroup v1 memory.kmem.usage_in_bytes of a child memory cgroup of its own";
    return true;
}

bool MemCgroup::join(const std::string &name) {
    leave();
    why_.clear();
    const Membership m = membership();
    const std::string leaf = name + "-" + std::to_string(getpid());
    for (const std::string &mnt : mounts("cgroup2")) {
        if (m.v2.empty())
            break;
        const std::string own = mnt + (m.v2 == "/" ? "" : m.v2);
        if (!has_word(read_file(mnt + "/cgroup.controllers"), "memory")) {
            why_ += (why_.empty() ? "" : "; ") + mnt + ": cgroup v2 without the memory controller";
            continue;
        }
        // A child of our own cgroup only counts if our cgroup hands the controller down.
        if (has_word(read_file(own + "/cgroup.subtree_control"), "memory") &&
            try_join(own + "/" + leaf, own, true))
            return true;
        // The v2 root may have processes and may enable controllers for its children.
        if (!has_word(read_file(mnt + "/cgroup.subtree_control"), "memory")) {
            std::string err;
            if (!write_file(mnt + "/cgroup.subtree_control", "+memory", &err)) {
                why_ += (why_.empty() ? "" : "; ") + err;
                continue;
            }
        }
        if (try_join(mnt + "/" + leaf, own, true))
            return true;
    }
    if (!m.v1_memory.empty())
        for (const std::string &mnt : mounts("cgroup", "memory")) {
            const std::string own = mnt + (m.v1_memory == "/" ? "" : m.v1_memory);
            struct stat st {};
            if (::stat((own + "/memory.kmem.usage_in_bytes").c_str(), &st) != 0) {
                why_ += (why_.empty() ? "" : "; ") + own + ": no memory.kmem.usage_in_bytes";
                continue;
            }
            if (try_join(own + "/" + leaf, own, false))
                return true;
        }
    if (why_.empty())
        why_ = "no cgroup v2 or v1 memory hierarchy mounted";
    return false;
}

void MemCgroup::leave() {
    if (dir_.empty())
        return;
    write_file(home_ + "/cgroup.procs", std::to_string(getpid()), nullptr);
    // Freed map memory is uncharged asynchronously; rmdir succeeds anyway (the kernel keeps an
    // offline cgroup until the last charge is gone).
    ::rmdir(dir_.c_str());
    dir_.clear();
}

long long MemCgroup::kernel_bytes() const {
    if (dir_.empty())
        return -1;
    if (!v2_)
        return std::atoll(read_file(dir_ + "/memory.kmem.usage_in_bytes").c_str());
    const long long k = stat_line(read_file(dir_ + "/memory.stat"), "kernel");
    return k >= 0 ? k : current_bytes();
}

long long MemCgroup::current_bytes() const {
    if (dir_.empty())
        return -1;
    return std::atoll(
            read_file(dir_ + (v2_ ? "/memory.current" : "/memory.usage_in_bytes")).c_str());
}

SharedMemcg SharedMemcg::find() {
    SharedMemcg m;
    const Membership own = membership();
    struct stat st {};
    if (!own.v1_memory.empty())
        for (const std::string &mnt : mounts("cgroup", "memory")) {
            const std::string f = mnt + own.v1_memory + "/memory.kmem.usage_in_bytes";
            if (::stat(f.c_str(), &st) == 0) {
                m.path = f;
                m.what = "cgroup v1 memory.kmem.usage_in_bytes of this process's memory cgroup";
                return m;
            }
        }
    if (!own.v2.empty())
        for (const std::string &mnt : mounts("cgroup2")) {
            const std::string f = mnt + own.v2 + "/memory.stat";
            if (::stat(f.c_str(), &st) == 0 && stat_line(read_file(f), "kernel") >= 0) {
                m.path = f;
                m.v2 = true;
                m.what = "cgroup v2 memory.stat `kernel` of this process's cgroup";
                return m;
            }
        }
    return m;
}

long long SharedMemcg::read() const {
    if (path.empty())
        return -1;
    const std::string t = read_file(path);
    return v2 ? stat_line(t, "kernel") : std::atoll(t.c_str());
}

} // namespace bench
