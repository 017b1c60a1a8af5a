#include "state/status.hpp"

#include "cli/error.hpp"
#include "attach/links.hpp"
#include "attach/netif.hpp"
#include "instance/pin_paths.hpp"

#include <net/if.h>
#include <sys/stat.h>
#include <time.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace sipalg {
namespace {

// The aging timer ticks every 250 ms; a few seconds without a tick means it stopped.
constexpr double kTimerStaleS = 5.0;
// The daemon beats every 500 ms: four missed beats and it is gone.
constexpr double kDaemonStaleS = 2.0;

double monotonic_s() {
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

std::string ifname_or_index(unsigned int ifindex) {
    char buf[IF_NAMESIZE] = {};
    if (::if_indextoname(ifindex, buf))
        return buf;
    // Appended rather than "?" + std::to_string(...): that form trips GCC 12's false -Wrestrict
    // at -O3 (see cli/list_text.hpp).
    std::string gone = "?";
    gone += std::to_string(ifindex);
    return gone;
}

} // namespace

CounterSummary summarize(const CounterValues &c) {
    CounterSummary s;
    const auto at = [&c](sipalg_counter i) { return c[static_cast<size_t>(i)]; };
    s.seen = at(SIPALG_CTR_LAN_SEEN) + at(SIPALG_CTR_WAN_IN_SEEN);
    s.forwarded = at(SIPALG_CTR_SIP_OUT) + at(SIPALG_CTR_SIP_IN) + at(SIPALG_CTR_MEDIA_OUT) +
                  at(SIPALG_CTR_MEDIA_IN);
    s.rewritten = at(SIPALG_CTR_SIP_REWRITTEN);
    s.passed = at(SIPALG_CTR_LAN_PASS) + at(SIPALG_CTR_WAN_IN_PASS);
    s.dropped = at(SIPALG_CTR_DROPPED);
    for (int i = 0; i < SIPALG_CTR_COUNT; ++i) {
        if (std::strncmp(kCounters[i].name, "slow_", 5) == 0)
            s.slow_path += c[static_cast<size_t>(i)];
    }
    return s;
}

DaemonView daemon_view(const sipalg_state &st, double now_s) {
    DaemonView d;
    if (st.daemon_ns)
        d.beat_age_s = now_s - static_cast<double>(st.daemon_ns) / 1e9;
    d.attached = sipalg_daemon_fresh(&st) && d.beat_age_s && *d.beat_age_s <= kDaemonStaleS;
    // A clean stop beats 0 (slow_mark 0); a mark left with a stale beat is a killed daemon.
    d.unclean = st.slow_mark != 0 && !d.attached;
    return d;
}

std::optional<ReasmCounters> parse_reasm(const std::string &snmp) {
    std::istringstream in(snmp);
    std::string names, values, line;
    while (std::getline(in, line)) {
        if (line.rfind("Ip: ", 0) != 0)
            continue;
        if (names.empty())
            names = line;
        else {
            values = line;
            break;
        }
    }
    if (values.empty())
        return std::nullopt;
    std::istringstream n(names), v(values);
    std::string name, value;
    ReasmCounters r;
    int found = 0;
    while (n >> name && v >> value) {
        std::uint64_t *to = name == "ReasmFails"     ? &r.fails
                            : name == "ReasmTimeout" ? &r.timeouts
                                                     : nullptr;
        if (!to)
            continue;
        try {
            *to = std::stoull(value);
            found++;
        } catch (const std::exception &) {
            return std::nullopt;
        }
    }
    return found == 2 ? std::optional<ReasmCounters>(r) : std::nullopt;
}

InstanceStatus query_instance(const std::string &root, const std::string &ifname) {
    InstanceStatus st;
    st.ifname = ifname;
    st.pin_dir = instance_dir(root, ifname);
    struct stat sb {};
    if (!valid_ifname(ifname) || ::stat(st.pin_dir.c_str(), &sb) != 0)
        throw UserError("sipalg is not loaded on " + ifname + " (no " + st.pin_dir +
                        "); run: sipalg load --wan " + ifname);

    const std::string reload =
            "; fix: sipalg unload --wan " + ifname + " && sipalg load --wan " + ifname;
    std::vector<std::uint32_t> lan_ifindexes;
    std::vector<std::pair<std::uint32_t, sipalg_bridge_port>> lan_ports;
    try {
        const InstanceMaps maps = InstanceMaps::open(st.pin_dir, ifname, true);
        st.config = maps.read_config();
        st.enabled = st.config->enabled != 0;
        st.limits = maps.read_limits();
        st.counters = maps.read_counters();
        st.state = maps.read_state();
        lan_ifindexes = maps.read_lan_ifindexes();
        lan_ports = maps.read_lan_ports();
        if (st.state->last_tick_ns)
            st.last_tick_age_s = monotonic_s() - static_cast<double>(st.state->last_tick_ns) / 1e9;
        st.failover = failover_view(*st.limits, maps.read_failover(),
                                    static_cast<std::uint64_t>(monotonic_s() * 1e9));
        const DaemonView d = daemon_view(*st.state, monotonic_s());
        st.daemon_attached = d.attached;
        st.daemon_beat_age_s = d.beat_age_s;
        st.daemon_unclean = d.unclean;
    } catch (const UserError &e) {
        st.problems.push_back(std::string("maps unreadable: ") + e.what());
    }
    {
        std::ifstream f("/proc/net/snmp");
        std::stringstream all;
        all << f.rdbuf();
        st.reasm = parse_reasm(all.str());
    }
    if (st.state && (!st.last_tick_age_s || *st.last_tick_age_s > kTimerStaleS))
        st.problems.push_back("the aging timer is not running (bindings and pinholes never "
                              "expire)" +
                              reload);

    for (std::uint32_t idx : lan_ifindexes) {
        LanHookStatus h;
        h.ifindex = idx;
        h.ifname = ifname_or_index(idx);
        h.tc = query_tc(idx, kLanIngress);
        if (!h.tc.attached)
            st.problems.push_back("LAN program " SIPALG_PROG_LAN_INGRESS " is not attached to " +
                                  h.ifname + " ingress" + reload);
        st.lan.push_back(h);
    }
    const std::uint32_t lan_xdp_pinned = pinned_prog_id(st.pin_dir, SIPALG_PIN_PROG_LAN_PORT_XDP);
    for (const auto &[idx, port] : lan_ports) {
        LanPortStatus p;
        p.ifindex = idx;
        p.ifname = ifname_or_index(idx);
        p.xdp = query_xdp(idx, lan_xdp_pinned, SIPALG_PROG_LAN_PORT_XDP);
        p.xdp_xmit = port.flags & SIPALG_IFACE_XDP_XMIT;
        p.xdp_xmit_now = accepts_xdp_frames(idx);
        if (!p.xdp.attached)
            st.problems.push_back("LAN port program " SIPALG_PROG_LAN_PORT_XDP
                                  " is not attached to " +
                                  p.ifname + reload);
        // XDP redirects to a device that no longer takes XDP frames are dropped by the kernel.
        if (p.xdp_xmit && !p.xdp_xmit_now)
            st.problems.push_back("LAN port " + p.ifname +
                                  " no longer accepts XDP frames (a veth whose peer lost its XDP "
                                  "program?): inbound media redirected to it is dropped" +
                                  reload);
        st.lan_xdp.push_back(p);
    }
    if (st.config && lan_ifindexes.empty())
        st.problems.push_back("no LAN interface is recorded for this instance" + reload);

    st.ifindex = find_ifindex(ifname);
    if (st.ifindex == 0) {
        st.problems.push_back("interface " + ifname +
                              " no longer exists; fix: sipalg unload --wan " + ifname);
        return st;
    }
    st.wan_xdp_xmit_now = accepts_xdp_frames(st.ifindex);
    if (st.config && (st.config->xdp_flags & SIPALG_XDP_WAN_XMIT) && !st.wan_xdp_xmit_now)
        st.problems.push_back(ifname +
                              " no longer accepts XDP frames: outbound media the LAN port program "
                              "redirects to it is dropped" +
                              reload);
    const std::uint32_t xdp_pinned = pinned_prog_id(st.pin_dir, SIPALG_PIN_PROG_WAN_XDP);
    st.xdp = query_xdp(st.ifindex, xdp_pinned);
    if (!st.xdp.attached)
        st.problems.push_back("XDP program " SIPALG_PROG_WAN_XDP " is not attached to " + ifname +
                              reload);
    st.tc = query_tc(st.ifindex, kWanEgress);
    if (!st.tc.attached)
        st.problems.push_back("tc program " SIPALG_PROG_WAN_EGRESS " is not attached to " + ifname +
                              " egress" + reload);
    st.wan_in = query_tc(st.ifindex, kWanIngress);
    if (!st.wan_in.attached)
        st.problems.push_back("tc program " SIPALG_PROG_WAN_INGRESS " is not attached to " +
                              ifname + " ingress" + reload);
    return st;
}

std::vector<std::string> list_instances(const std::string &root) {
    std::vector<std::string> names;
    std::error_code ec;
    for (const auto &entry : std::filesystem::directory_iterator(root, ec)) {
        std::error_code ec2;
        if (entry.is_directory(ec2) &&
            std::filesystem::exists(entry.path() / SIPALG_MAP_CONFIG, ec2))
            names.push_back(entry.path().filename().string());
    }
    std::sort(names.begin(), names.end());
    return names;
}

} // namespace sipalg
