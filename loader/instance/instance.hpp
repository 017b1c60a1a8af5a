// The verbs that change state: load, unload, enable/disable. Each one validates everything it
// can before touching the system, and load rolls back on failure, so a refused or failed
// command leaves things as they were.
#pragma once

#include "instance/config.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace sipalg {

struct Target {
    std::string ifname;
    std::optional<std::string> pin_root; // --pin-root, else the per-netns default
};

struct LoadReport {
    std::string pin_dir;
    std::uint32_t xdp_id = 0;
    std::uint32_t tc_id = 0;                                // WAN egress
    std::uint32_t wan_in_id = 0;                            // WAN ingress
    std::vector<std::pair<std::string, std::uint32_t>> lan; // LAN interface, program id
    // The LAN port XDP program: the ports it was attached to (port, program id, whether
    // inbound media can be XDP-redirected to it), the ports it could not go on and why, or
    // why it was not attached at all.
    struct LanXdpPort {
        std::string port;
        std::uint32_t id = 0;
        bool xdp_xmit = false;
    };
    std::vector<LanXdpPort> lan_xdp;
    std::vector<std::string> lan_xdp_skipped;
    std::string lan_xdp_off;
    bool multiprog = false;
    std::string fallback_reason;
    std::uint32_t public_ip = 0; // host order
    std::vector<Prefix> lan_prefixes;
};

LoadReport load_instance(const Target &t, const AlgSettings &settings = {});

struct UnloadReport {
    std::string pin_dir;
    bool xdp_detached = false;
    bool tc_detached = false;
    bool wan_in_detached = false;
    std::vector<std::string> lan_detached;
    std::vector<std::string> lan_xdp_detached; // LAN ports
    bool interface_gone = false;
    std::string steering_removed; // the daemon's nft table and policy route, if it left them
};

UnloadReport unload_instance(const Target &t);

// Writes only the pinned config map: the programs pick the flag up on the next packet.
void set_enabled(const Target &t, bool enabled);

// Switches one policy (by its CLI name) in the pinned limits map; the programs pick it up on the
// next packet. UserError if it cannot change without a reload. Returns the policy word now.
std::uint32_t set_policy(const Target &t, const std::string &name, bool on);

// The policy word of a loaded instance.
std::uint32_t read_policies(const Target &t);

// The pin dir of a loaded instance (UserError with what to do if it is not loaded).
std::string loaded_instance_dir(const Target &t);

} // namespace sipalg
