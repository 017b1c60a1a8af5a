#include "instance/pin_paths.hpp"

#include "cli/error.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <cstdio>

namespace sipalg {

namespace {

// init_net's fixed inode number on kernels >= 6.18 (PROC_NET_INIT_INO). Older kernels number
// namespaces dynamically from 0xF0000000 up, so no other namespace can have this inode.
constexpr ino_t kInitNetInode = 0xEFFFFFF9U;

bool ns_inode_of(const char *path, struct stat &out) {
    return ::stat(path, &out) == 0;
}

// Kernel threads always run in the initial network namespace; PID 2 is kthreadd when we are in
// the initial PID namespace.
bool pid2_is_kthreadd() {
    FILE *f = std::fopen("/proc/2/comm", "re");
    if (!f)
        return false;
    char comm[32] = {};
    const bool ok = std::fgets(comm, sizeof(comm), f) != nullptr;
    std::fclose(f);
    return ok && std::string(comm) == "kthreadd\n";
}

} // namespace

NetnsId current_netns() {
    struct stat self {};
    if (!ns_inode_of("/proc/self/ns/net", self))
        throw UserError("cannot read /proc/self/ns/net (" + errno_text(errno) +
                        "); is /proc mounted?");
    NetnsId ns;
    ns.inode = self.st_ino;

    // PID 1's namespace is "the initial one". Some sandboxes deny reading PID 1's namespaces
    // even to root; then use kthreadd's, then the kernel's fixed init_net inode.
    struct stat ref {};
    if (ns_inode_of("/proc/1/ns/net", ref) ||
        (pid2_is_kthreadd() && ns_inode_of("/proc/2/ns/net", ref))) {
        ns.initial = self.st_ino == ref.st_ino && self.st_dev == ref.st_dev;
        return ns;
    }
    if (self.st_ino == kInitNetInode) {
        ns.initial = true;
        return ns;
    }
    throw UserError("cannot tell whether this is the initial network namespace (/proc/1/ns/net: " +
                    errno_text(errno) + "); run as root or pass --pin-root DIR");
}

std::string default_pin_root(const NetnsId &ns) {
    if (ns.initial)
        return kDefaultPinBase;
    return std::string(kDefaultPinBase) + "/netns-" + std::to_string(ns.inode);
}

std::string resolve_pin_root(const std::optional<std::string> &override_root) {
    if (override_root) {
        std::string root = *override_root;
        while (root.size() > 1 && root.back() == '/')
            root.pop_back();
        if (root.empty())
            throw UserError("--pin-root must not be empty; give a directory on bpffs");
        return root;
    }
    return default_pin_root(current_netns());
}

bool valid_ifname(const std::string &name) {
    // IFNAMSIZ is 16 including the terminating NUL.
    if (name.empty() || name.size() > 15 || name == "." || name == "..")
        return false;
    for (char c : name) {
        if (c == '/' || c == ':' || c <= ' ' || c == 0x7f)
            return false;
    }
    return true;
}

std::string instance_dir(const std::string &root, const std::string &ifname) {
    return root + "/" + ifname;
}

std::string pin_file(const std::string &dir, const char *name) {
    return dir + "/" + name;
}

} // namespace sipalg
