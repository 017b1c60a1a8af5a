// What a killed slow-path daemon leaves in the kernel: its nftables table and the policy route
// for its mark. The daemon removes them when it stops; `unload` removes them when it could not.
#pragma once

#include <cstdint>
#include <string>

namespace sipalg {

// Removes the steering of the daemon of `wan` that used `mark` (0: only the nft table). The
// policy rule and its table are shared by every daemon using the same mark in this namespace,
// so they go only when no other daemon's table is left. Returns what it removed, e.g.
// "nft table sipalg_slow_wan0, ip rule fwmark 0x51a1 lookup 1306" (empty: nothing was there).
std::string remove_daemon_steering(const std::string &wan, std::uint32_t mark);

} // namespace sipalg
