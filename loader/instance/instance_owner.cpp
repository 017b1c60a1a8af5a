#include "instance/instance_owner.hpp"

#include "cli/error.hpp"
#include "instance/pin_paths.hpp"
#include "state/unique_fd.hpp"

#include <bpf/bpf.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>

#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71
#endif

namespace sipalg {
namespace {

std::uint64_t netns_cookie() {
    UniqueFd s(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    std::uint64_t cookie = 0;
    socklen_t len = sizeof(cookie);
    if (!s.valid() || ::getsockopt(s.get(), SOL_SOCKET, SO_NETNS_COOKIE, &cookie, &len) != 0)
        throw UserError("cannot read this network namespace's cookie (SO_NETNS_COOKIE: " +
                        errno_text(errno) + "; needs Linux 5.14+)");
    return cookie;
}

bool same_inode(const std::filesystem::path &p, std::uint64_t inode) {
    struct stat st {};
    return ::stat(p.c_str(), &st) == 0 && st.st_ino == inode;
}

} // namespace

InstanceOwner current_owner(unsigned int ifindex, std::uint32_t flags) {
    InstanceOwner o;
    o.netns_cookie = netns_cookie();
    o.netns_inode = current_netns().inode;
    o.ifindex = ifindex;
    o.flags = flags;
    return o;
}

void write_owner(const std::string &dir, const InstanceOwner &o) {
    UniqueFd fd(bpf_map_create(BPF_MAP_TYPE_ARRAY, kOwnerPin, sizeof(std::uint32_t), sizeof(o), 1,
                               nullptr));
    const std::uint32_t key = 0;
    const std::string path = pin_file(dir, kOwnerPin);
    if (!fd.valid() || bpf_map_update_elem(fd.get(), &key, &o, BPF_ANY) != 0 ||
        bpf_obj_pin(fd.get(), path.c_str()) != 0)
        throw UserError("cannot record the instance's namespace in " + path + " (" +
                        errno_text(errno) + ")");
}

void update_owner(const std::string &dir, const InstanceOwner &o) {
    const std::string path = pin_file(dir, kOwnerPin);
    UniqueFd fd(bpf_obj_get(path.c_str()));
    const std::uint32_t key = 0;
    if (!fd.valid() || bpf_map_update_elem(fd.get(), &key, &o, BPF_EXIST) != 0)
        throw UserError("cannot update " + path + " (" + errno_text(errno) + ")");
}

std::optional<InstanceOwner> read_owner(const std::string &dir) {
    UniqueFd fd(bpf_obj_get(pin_file(dir, kOwnerPin).c_str()));
    InstanceOwner o;
    const std::uint32_t key = 0;
    if (!fd.valid() || bpf_map_lookup_elem(fd.get(), &key, &o) != 0)
        return std::nullopt;
    return o;
}

bool netns_inode_in_use(std::uint64_t inode) {
    std::error_code ec;
    for (const char *mounts : {"/run/netns", "/var/run/netns"}) {
        for (const auto &e : std::filesystem::directory_iterator(mounts, ec)) {
            if (same_inode(e.path(), inode))
                return true;
        }
    }
    for (const auto &e : std::filesystem::directory_iterator("/proc", ec)) {
        const std::string name = e.path().filename().string();
        if (!name.empty() && name.find_first_not_of("0123456789") == std::string::npos &&
            same_inode(e.path() / "ns" / "net", inode))
            return true;
    }
    return false;
}

} // namespace sipalg
