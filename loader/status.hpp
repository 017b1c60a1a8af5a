// Gathering what `sipalg status` shows: pinned state plus what the kernel really has attached.
#pragma once

#include "hooks.hpp"
#include "maps_io.hpp"

#include <optional>
#include <string>
#include <vector>

namespace sipalg {

struct InstanceStatus {
    std::string ifname;
    unsigned int ifindex = 0; // 0: the interface no longer exists
    std::string pin_dir;
    std::optional<bool> enabled; // empty if the config map could not be read
    CounterValues counters{};
    XdpState xdp;
    TcState tc;
    // Human-readable descriptions of anything wrong, each with what to do. Empty == healthy.
    std::vector<std::string> problems;

    bool healthy() const { return problems.empty(); }
};

// Status of the instance on `ifname` under `root`. Throws UserError if it is not loaded.
InstanceStatus query_instance(const std::string &root, const std::string &ifname);

// Interface names that have an instance under `root` (a dir holding a config map pin).
// Sorted; per-netns subdirectories of the default root are not instances and are skipped.
std::vector<std::string> list_instances(const std::string &root);

} // namespace sipalg
