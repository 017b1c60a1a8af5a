// Who an instance's pins belong to: the network namespace and WAN interface that loaded it.
//
// bpffs is one file system for every namespace and the default pin path is keyed by the
// namespace's inode, which the kernel hands out again once a namespace is gone. The pins of a
// router namespace that died without `unload` would then make a new namespace that reuses the
// inode and the interface name look loaded. The record names the namespace by its cookie
// (never reused until reboot), so `load` can tell such leftovers from a live instance.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace sipalg {

inline constexpr const char *kOwnerPin = "sipalg_owner";

// The public address was taken from the WAN interface (no --public-ip): the daemon keeps it
// following the interface's address.
inline constexpr std::uint32_t kOwnerFollowWanAddress = 1;
// `load` created the WAN's clsact qdisc; LAN interface i (in the order of the lanifs map)'s is
// bit kOwnerCreatedLanClsact << i. `unload` removes only those, and only when left empty.
inline constexpr std::uint32_t kOwnerCreatedWanClsact = 2;
inline constexpr std::uint32_t kOwnerCreatedLanClsact = 1u << 8;

struct InstanceOwner {
    std::uint64_t netns_cookie = 0; // SO_NETNS_COOKIE
    std::uint64_t netns_inode = 0;  // inode of /proc/self/ns/net
    std::uint32_t ifindex = 0;      // the WAN interface at load time
    std::uint32_t flags = 0;        // kOwner*
};

// This namespace, with the given WAN and flags. Throws UserError.
InstanceOwner current_owner(unsigned int ifindex, std::uint32_t flags);

// Pins a one-entry array map holding `o` at <dir>/sipalg_owner. Throws UserError.
void write_owner(const std::string &dir, const InstanceOwner &o);

// Rewrites the record pinned in `dir`. Throws UserError.
void update_owner(const std::string &dir, const InstanceOwner &o);

// The record in `dir`, or nothing (no record: an older loader's instance, or a load that was
// interrupted before writing it).
std::optional<InstanceOwner> read_owner(const std::string &dir);

// Whether some process or `ip netns` mount still holds a network namespace with this inode.
bool netns_inode_in_use(std::uint64_t inode);

} // namespace sipalg
