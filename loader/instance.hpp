// The verbs that change state: load, unload, enable/disable. Each one validates everything it
// can before touching the system, and load rolls back on failure, so a refused or failed
// command leaves things as they were.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace sipalg {

struct Target {
    std::string ifname;
    std::optional<std::string> pin_root; // --pin-root, else the per-netns default
};

struct LoadReport {
    std::string pin_dir;
    std::uint32_t xdp_id = 0;
    std::uint32_t tc_id = 0;
    bool multiprog = false;
    std::string fallback_reason;
};

LoadReport load_instance(const Target &t);

struct UnloadReport {
    std::string pin_dir;
    bool xdp_detached = false;
    bool tc_detached = false;
    bool interface_gone = false;
};

UnloadReport unload_instance(const Target &t);

// Writes only the pinned config map: the programs pick the flag up on the next packet.
void set_enabled(const Target &t, bool enabled);

} // namespace sipalg
