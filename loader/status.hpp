// Gathering what `sipalg status` shows: pinned state plus what the kernel really has attached.
#pragma once

#include "hooks.hpp"
#include "maps_io.hpp"

#include <optional>
#include <string>
#include <vector>

namespace sipalg {

struct LanHookStatus {
    std::string ifname; // "?" + index if the interface is gone
    unsigned int ifindex = 0;
    TcState tc;
};

// Totals over the counters, in the terms of the brief: what was seen, NATed by the fast path,
// rewritten, passed untouched, dropped, and what needed the slow path.
struct CounterSummary {
    std::uint64_t seen = 0;
    std::uint64_t forwarded = 0;
    std::uint64_t rewritten = 0;
    std::uint64_t passed = 0;
    std::uint64_t dropped = 0;
    std::uint64_t slow_path = 0;
};
CounterSummary summarize(const CounterValues &c);

struct InstanceStatus {
    std::string ifname;
    unsigned int ifindex = 0; // 0: the interface no longer exists
    std::string pin_dir;
    std::optional<bool> enabled; // empty if the config map could not be read
    CounterValues counters{};
    XdpState xdp;
    TcState tc;     // WAN egress
    TcState wan_in; // WAN ingress
    std::vector<LanHookStatus> lan;
    std::optional<sipalg_config> config;
    std::optional<sipalg_state> state; // bindings, pinholes, clock, timer
    std::optional<double> last_tick_age_s;
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
