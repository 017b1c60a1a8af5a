#include "instance/preflight.hpp"

#include "cli/error.hpp"

#include <linux/capability.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

namespace sipalg {
namespace {

// CAP_BPF appeared in Linux 5.8 headers; keep building against older uapi.
#ifndef CAP_BPF
#define CAP_BPF 39
#endif

bool has_effective_cap(const __user_cap_data_struct (&data)[2], int cap) {
    return (data[cap / 32].effective & (1u << (cap % 32))) != 0;
}

} // namespace

void require_privileges() {
    __user_cap_header_struct hdr{};
    __user_cap_data_struct data[2]{};
    hdr.version = _LINUX_CAPABILITY_VERSION_3;
    hdr.pid = 0;
    // No libcap dependency for one syscall.
    if (::syscall(SYS_capget, &hdr, data) != 0)
        throw UserError("cannot read process capabilities (" + errno_text(errno) +
                        "); run sipalg as root");
    const bool admin = has_effective_cap(data, CAP_SYS_ADMIN);
    const bool bpf_net = has_effective_cap(data, CAP_BPF) && has_effective_cap(data, CAP_NET_ADMIN);
    if (!admin && !bpf_net)
        throw UserError("permission denied: must run as root (needs CAP_SYS_ADMIN, or CAP_BPF and "
                        "CAP_NET_ADMIN); try: sudo sipalg ...");
}

std::string nearest_existing_ancestor(const std::string &path) {
    std::string p = path.empty() ? "/" : path;
    struct stat st {};
    while (::stat(p.c_str(), &st) != 0) {
        const auto slash = p.find_last_of('/');
        if (slash == std::string::npos) // relative path with no existing component
            return ".";
        p = slash == 0 ? "/" : p.substr(0, slash);
    }
    return p;
}

void require_bpffs(const std::string &pin_root) {
    const std::string probe = nearest_existing_ancestor(pin_root);
    struct statfs fs {};
    if (::statfs(probe.c_str(), &fs) != 0)
        throw UserError("cannot check filesystem of " + probe + " (" + errno_text(errno) +
                        "); mount bpffs: mount -t bpf bpf /sys/fs/bpf");
    if (static_cast<unsigned long>(fs.f_type) != BPF_FS_MAGIC)
        throw UserError("bpffs not mounted: pin root " + pin_root +
                        " is not on a bpf filesystem;"
                        " run: mount -t bpf bpf /sys/fs/bpf (or pass --pin-root DIR on bpffs)");
}

} // namespace sipalg
