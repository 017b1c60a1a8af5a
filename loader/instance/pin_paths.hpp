// Where an instance's pins live.
//
// Layout: <root>/<ifname>/{sipalg_config,sipalg_counters,prog_xdp,prog_tc}
// root defaults to /sys/fs/bpf/sipalg in the initial network namespace and to
// /sys/fs/bpf/sipalg/netns-<inode of /proc/self/ns/net> elsewhere: bpffs is shared by all
// network namespaces, and two routers in two namespaces may both have a "wan0".
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

namespace sipalg {

inline constexpr const char *kDefaultPinBase = "/sys/fs/bpf/sipalg";

struct NetnsId {
    bool initial = true; // same network namespace as PID 1
    ino_t inode = 0;     // inode of /proc/self/ns/net
};

// Reads /proc/self/ns/net and /proc/1/ns/net (the latter needs root). Throws UserError.
NetnsId current_netns();

// Pure: the default root for a given namespace.
std::string default_pin_root(const NetnsId &ns);

// --pin-root if given, else the default for the current namespace.
std::string resolve_pin_root(const std::optional<std::string> &override_root);

// Interface names become path components; refuse anything that is not a plausible Linux
// interface name (1-15 chars, no '/', not "." or "..") so a name can never escape the root.
bool valid_ifname(const std::string &name);

std::string instance_dir(const std::string &root, const std::string &ifname);
std::string pin_file(const std::string &dir, const char *name);

} // namespace sipalg
