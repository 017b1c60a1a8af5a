// Gathering what `sipalg status` shows: pinned state plus what the kernel really has attached.
#pragma once

#include "attach/hooks.hpp"
#include "state/failover_view.hpp"
#include "state/maps_io.hpp"

#include <optional>
#include <string>
#include <vector>

namespace sipalg {

struct LanHookStatus {
    std::string ifname; // "?" + index if the interface is gone
    unsigned int ifindex = 0;
    TcState tc;
};

// A LAN port with the LAN XDP program (sipalg_lan_port_xdp), as recorded at load and as it is now.
struct LanPortStatus {
    std::string ifname;
    unsigned int ifindex = 0;
    XdpState xdp;
    bool xdp_xmit = false;     // recorded: inbound media is XDP-redirected to the port
    bool xdp_xmit_now = false; // the port accepts XDP frames now
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

// The kernel's IPv4 reassembly failures in this network namespace (/proc/net/snmp): the slow
// path's fragments that never completed (a lone fragment, a timeout) die there, never
// forwarded half-rewritten, and this is where they are counted.
struct ReasmCounters {
    std::uint64_t fails = 0;    // ReasmFails (timeouts included)
    std::uint64_t timeouts = 0; // ReasmTimeout
};
// Parses the two "Ip:" lines of /proc/net/snmp; empty if they are not there.
std::optional<ReasmCounters> parse_reasm(const std::string &snmp);

// The slow-path daemon as `status` shows it, from the state map at monotonic time now_s.
struct DaemonView {
    bool attached = false;
    std::optional<double> beat_age_s; // empty: it never beat, or detached cleanly
    bool unclean = false;             // stopped without detaching (killed)
};
DaemonView daemon_view(const sipalg_state &st, double now_s);

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
    std::vector<LanPortStatus> lan_xdp;
    bool wan_xdp_xmit_now = false; // the WAN accepts XDP frames now
    std::optional<sipalg_config> config;
    std::optional<sipalg_limits> limits; // the dialog settings
    std::optional<sipalg_state> state;   // bindings, pinholes, dialogs, clock, timer
    std::optional<double> last_tick_age_s;
    // The slow-path daemon: attached only while its heartbeat is fresh by the datapath's ALG
    // clock and by wall time (the ALG clock stands still while disabled, so a daemon killed
    // then would otherwise look attached forever).
    bool daemon_attached = false;
    std::optional<double> daemon_beat_age_s; // empty: it never beat, or detached cleanly
    bool daemon_unclean = false;             // stopped without detaching (killed)
    std::optional<ReasmCounters> reasm;
    std::optional<FailoverView> failover; // the WAN failover policy and the WAN's state
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
