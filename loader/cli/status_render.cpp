#include "cli/status_render.hpp"

#include "instance/config.hpp"
#include "instance/policy.hpp"
#include "cli/verb_render.hpp"
#include "cli/json.hpp"
#include "cli/list_text.hpp"

#include <arpa/inet.h>

#include <iomanip>
#include <sstream>

namespace sipalg {
namespace {

std::string prog_text(const ProgRef &p) {
    std::ostringstream s;
    s << (p.name.empty() ? "?" : p.name) << " id " << p.id;
    return s.str();
}

void json_prog(JsonWriter &w, const char *id_key, const char *name_key, const ProgRef &p) {
    if (p.id)
        w.field(id_key, p.id).field(name_key, p.name);
    else
        w.key(id_key).null().key(name_key).null();
}

std::string rate_text(unsigned per_s) {
    return per_s ? std::to_string(per_s) + "/s" : "unlimited";
}

// Who may send requests to phones, and the per-source limits.
std::string signalling_text(const sipalg_limits &l) {
    std::ostringstream s;
    if (l.any_peer) {
        s << "requests to phones from anyone (--any-peer)";
    } else {
        s << "requests to phones only from their registrars and calls";
        for (const auto &p : trusted_prefixes(l))
            s << ", " << format_prefix(p);
    }
    s << "; per source: REGISTER " << rate_text(l.register_rate) << ", INVITE "
      << rate_text(l.invite_rate) << "; max bindings "
      << (l.bind_max_phone ? std::to_string(l.bind_max_phone) + "/phone" : "unlimited");
    return s.str();
}

void human_tc(std::ostringstream &s, const TcState &tc, const char *dir) {
    if (tc.attached) {
        s << prog_text(tc.prog) << ", clsact " << dir << " handle 0x" << std::hex << kTcHandle
          << std::dec << " prio " << kTcPriority;
    } else {
        s << "MISSING";
        if (tc.foreign.id)
            s << " (our slot runs " << prog_text(tc.foreign) << ")";
    }
}

void json_tc(JsonWriter &w, const TcState &tc, const char *dir) {
    w.field("attached", tc.attached);
    json_prog(w, "prog_id", "prog_name", tc.attached ? tc.prog : ProgRef{});
    w.field("hook", dir).field("handle", kTcHandle).field("priority", kTcPriority);
}

std::string sip_ports_text(const sipalg_config &c) {
    std::string out;
    for (int i = 0; i < SIPALG_MAX_SIP_PORTS; ++i) {
        if (c.sip_port[i])
            append_listed(out, std::to_string(c.sip_port[i]));
    }
    return out;
}

} // namespace

std::string alg_state_text(const InstanceStatus &st) {
    if (!st.enabled)
        return "ALG: unknown";
    return *st.enabled ? "ALG: enabled" : "ALG: disabled";
}

std::string render_human(const InstanceStatus &st) {
    std::ostringstream s;
    s << st.ifname;
    if (st.ifindex)
        s << " (ifindex " << st.ifindex << ")";
    s << "\n";
    s << "    " << alg_state_text(st);
    if (!st.healthy() && st.enabled.value_or(false))
        s << " (but not fully attached, see problems below)";
    s << "\n";
    s << "    pin dir:  " << st.pin_dir << "\n";

    s << "    xdp:      ";
    if (st.xdp.attached) {
        s << prog_text(st.xdp.prog) << ", " << st.xdp.mode << " mode";
        if (st.xdp.multiprog)
            s << ", via libxdp dispatcher " << prog_text(st.xdp.if_prog);
        else
            s << ", sole XDP program on the interface (no libxdp dispatcher)";
    } else {
        s << "MISSING";
        if (st.xdp.foreign.id)
            s << " (interface runs " << prog_text(st.xdp.foreign) << ")";
    }
    s << "\n";

    s << "    tc:       ";
    human_tc(s, st.tc, "egress");
    s << "\n";
    s << "    wan in:   ";
    human_tc(s, st.wan_in, "ingress");
    s << "\n";
    for (const auto &l : st.lan) {
        s << "    lan:      " << l.ifname << ": ";
        human_tc(s, l.tc, "ingress");
        s << "\n";
    }
    if (st.lan_xdp.empty())
        s << "    lan xdp:  none (LAN media is taken by the LAN tc program)\n";
    for (const auto &p : st.lan_xdp) {
        s << "    lan xdp:  " << p.ifname << ": ";
        if (p.xdp.attached)
            s << prog_text(p.xdp.prog) << ", " << p.xdp.mode << " mode; media out in XDP, in "
              << (p.xdp_xmit ? "XDP-redirected to this port" : "via tc");
        else
            s << "MISSING";
        s << "\n";
    }

    if (st.config) {
        const sipalg_config &c = *st.config;
        s << "    public:   " << format_ipv4(ntohl(c.public_ip)) << "; LAN prefixes";
        for (const auto &p : config_prefixes(c))
            s << " " << format_prefix(p);
        s << "\n";
        s << "    config:   SIP ports " << sip_ports_text(c) << "; public ports " << c.port_min
          << "-" << c.port_max << "; binding lifetime " << c.bind_lifetime_s << " s, REGISTER "
          << c.reg_lifetime_s << " s, pinhole idle " << c.pin_idle_s << " s; max pinholes "
          << c.pin_max_phone << "/phone, " << c.pin_max_total << " total";
        if (st.limits)
            s << "; dialog idle " << st.limits->dlg_idle_s << " s; max dialogs "
              << st.limits->dlg_max_phone << "/phone, " << st.limits->dlg_max_total << " total";
        s << "\n";
        if (st.limits) {
            s << "    signal:   " << signalling_text(*st.limits) << "\n";
            s << "    policies: " << policies_text(st.limits->policy) << "\n";
        }
    }
    if (st.failover)
        s << "    failover: " << failover_text(*st.failover) << "\n";
    if (st.state) {
        s << "    state:    " << st.state->bindings << " bindings, " << st.state->pinholes
          << " pinholes, " << st.state->dialogs << " dialogs; ALG clock " << st.state->now_s
          << " s; aging timer ";
        if (st.last_tick_age_s)
            s << "last ran " << std::fixed << std::setprecision(1) << *st.last_tick_age_s
              << " s ago";
        else
            s << "never ran";
        s << "\n";
        s << "    slow path: daemon ";
        if (st.daemon_attached)
            s << "attached";
        else if (st.daemon_unclean && st.daemon_beat_age_s)
            s << "not running (it stopped without detaching, killed?, " << std::fixed
              << std::setprecision(1) << *st.daemon_beat_age_s
              << " s ago; slow-path packets pass untouched; start it again)";
        else
            s << "not running (slow-path packets pass untouched)";
        s << "; handed " << st.counters[SIPALG_CTR_DAEMON_HANDED] << ", handled "
          << st.counters[SIPALG_CTR_DAEMON_HANDLED] << ", failed "
          << st.counters[SIPALG_CTR_DAEMON_FAILED] << ", dropped "
          << st.counters[SIPALG_CTR_DAEMON_DROPPED];
        if (st.reasm)
            s << "; kernel reassembly (IPv4, this netns): " << st.reasm->fails << " failed, "
              << st.reasm->timeouts << " timed out";
        s << "\n";
    }
    const CounterSummary sum = summarize(st.counters);
    s << "    summary:  seen " << sum.seen << ", NATed by the fast path " << sum.forwarded
      << ", rewritten " << sum.rewritten << ", passed untouched " << sum.passed << ", dropped "
      << sum.dropped << ", slow path needed " << sum.slow_path << "\n";

    s << "    counters:\n";
    for (int i = 0; i < SIPALG_CTR_COUNT; ++i)
        s << "        " << std::left << std::setw(17) << kCounters[i].name << std::right
          << std::setw(14) << st.counters[static_cast<size_t>(i)] << "  " << kCounters[i].help
          << "\n";
    for (const auto &p : st.problems)
        s << "    problem:  " << p << "\n";
    return s.str();
}

// Keys (stable contract for scripts and tests):
//   interface, ifindex (null if gone), enabled (bool|null), alg ("enabled"|"disabled"|"unknown"),
//   healthy, pin_dir,
//   xdp: {attached, prog_id, prog_name, mode, multiprog, if_prog_id, if_prog_name}
//        (if_prog_* is what the interface runs: the libxdp dispatcher, or sipalg_wan_xdp itself;
//        it is the id `bpftool net show` reports)
//   tc:  {attached, prog_id, prog_name, hook ("egress"), handle, priority}   (WAN egress)
//   wan_in: the same for the WAN ingress tc program (hook "ingress")
//   lan: [{interface, ifindex, attached, prog_id, prog_name, hook, handle, priority}, ...]
//   lan_xdp: [{interface, ifindex, attached, prog_id, prog_name, mode, xdp_xmit,
//              xdp_xmit_now}, ...]  (the LAN port XDP program; [] when not attached),
//   wan_xdp_xmit: {configured, now}  (the WAN accepts XDP frames: at load, and now)
//   public_ip (string|null), lan_prefixes: ["a.b.c.d/len", ...],
//   config: {sip_ports: [...], port_min, port_max, binding_lifetime_s, register_lifetime_s,
//            pinhole_idle_s, max_pinholes_per_phone, max_pinholes, dialog_idle_s,
//            max_dialogs_per_phone, max_dialogs, any_peer, register_rate, invite_rate (0: no
//            limit), max_bindings_per_phone (0: no limit), trusted_peers: ["a.b.c.d/len", ...]
//            (these null if unreadable)} | null
//   bindings, pinholes, dialogs (numbers, null if unreadable), clock_s (the ALG clock),
//   aging: {ticks, last_tick_s_ago (null: never)},
//   failover: {policy (bool), server ("a.b.c.d:port"|null), after_s, wan ("up"|"down"|
//              "unknown": no daemon watching), why ("up"|"link_down"|"no_route"|"no_answer"|
//              "unknown"), peer (the registrar concerned|null), since (UTC ISO 8601|null),
//              since_unix_ms, transitions, redirecting (bool), redirected_packets} | null,
//   summary: {seen, forwarded, rewritten, passed_untouched, dropped, slow_path_needed},
//   counters: {<name>: <sum over CPUs>, ...} in maps/sipalg_maps.h order,
//   problems: [string, ...]
void render_json(JsonWriter &w, const InstanceStatus &st) {
    w.begin_object();
    w.field("interface", st.ifname);
    if (st.ifindex)
        w.field("ifindex", st.ifindex);
    else
        w.key("ifindex").null();
    if (st.enabled)
        w.field("enabled", *st.enabled);
    else
        w.key("enabled").null();
    w.field("alg", !st.enabled ? "unknown" : (*st.enabled ? "enabled" : "disabled"));
    w.field("healthy", st.healthy());
    w.field("pin_dir", st.pin_dir);

    w.key("xdp").begin_object();
    w.field("attached", st.xdp.attached);
    json_prog(w, "prog_id", "prog_name", st.xdp.attached ? st.xdp.prog : ProgRef{});
    w.field("mode", st.xdp.mode);
    w.field("multiprog", st.xdp.multiprog);
    json_prog(w, "if_prog_id", "if_prog_name", st.xdp.if_prog);
    w.end_object();

    w.key("tc").begin_object();
    json_tc(w, st.tc, "egress");
    w.end_object();
    w.key("wan_in").begin_object();
    json_tc(w, st.wan_in, "ingress");
    w.end_object();
    w.key("lan").begin_array();
    for (const auto &l : st.lan) {
        w.begin_object();
        w.field("interface", l.ifname).field("ifindex", l.ifindex);
        json_tc(w, l.tc, "ingress");
        w.end_object();
    }
    w.end_array();
    w.key("lan_xdp").begin_array();
    for (const auto &p : st.lan_xdp) {
        w.begin_object();
        w.field("interface", p.ifname).field("ifindex", p.ifindex);
        w.field("attached", p.xdp.attached);
        json_prog(w, "prog_id", "prog_name", p.xdp.attached ? p.xdp.prog : ProgRef{});
        w.field("mode", p.xdp.mode);
        w.field("xdp_xmit", p.xdp_xmit).field("xdp_xmit_now", p.xdp_xmit_now);
        w.end_object();
    }
    w.end_array();
    w.key("wan_xdp_xmit").begin_object();
    w.field("configured", st.config && (st.config->xdp_flags & SIPALG_XDP_WAN_XMIT) != 0);
    w.field("now", st.wan_xdp_xmit_now);
    w.end_object();

    if (st.config) {
        const sipalg_config &c = *st.config;
        w.field("public_ip", format_ipv4(ntohl(c.public_ip)));
        w.key("lan_prefixes").begin_array();
        for (const auto &p : config_prefixes(c))
            w.value(format_prefix(p));
        w.end_array();
        w.key("config").begin_object();
        w.key("sip_ports").begin_array();
        for (int i = 0; i < SIPALG_MAX_SIP_PORTS; ++i) {
            if (c.sip_port[i])
                w.value(static_cast<std::uint32_t>(c.sip_port[i]));
        }
        w.end_array();
        w.field("port_min", static_cast<std::uint32_t>(c.port_min))
                .field("port_max", static_cast<std::uint32_t>(c.port_max))
                .field("binding_lifetime_s", c.bind_lifetime_s)
                .field("register_lifetime_s", c.reg_lifetime_s)
                .field("pinhole_idle_s", c.pin_idle_s)
                .field("max_pinholes_per_phone", c.pin_max_phone)
                .field("max_pinholes", c.pin_max_total);
        if (st.limits) {
            w.field("dialog_idle_s", st.limits->dlg_idle_s)
                    .field("max_dialogs_per_phone", st.limits->dlg_max_phone)
                    .field("max_dialogs", st.limits->dlg_max_total)
                    .field("any_peer", st.limits->any_peer != 0)
                    .field("register_rate", st.limits->register_rate)
                    .field("invite_rate", st.limits->invite_rate)
                    .field("max_bindings_per_phone", st.limits->bind_max_phone);
            w.key("trusted_peers").begin_array();
            for (const auto &p : trusted_prefixes(*st.limits))
                w.value(format_prefix(p));
            w.end_array();
            json_policies(w, st.limits->policy);
        } else {
            for (const char *k : {"dialog_idle_s", "max_dialogs_per_phone", "max_dialogs",
                                  "any_peer", "register_rate", "invite_rate",
                                  "max_bindings_per_phone", "trusted_peers", "policies"})
                w.key(k).null();
        }
        w.end_object();
    } else {
        w.key("public_ip").null();
        w.key("lan_prefixes").begin_array().end_array();
        w.key("config").null();
    }
    if (st.state) {
        w.field("bindings", st.state->bindings).field("pinholes", st.state->pinholes);
        w.field("dialogs", st.state->dialogs);
        w.field("clock_s", st.state->now_s);
        w.field("daemon_attached", st.daemon_attached);
        if (st.daemon_beat_age_s)
            w.field("daemon_heartbeat_ms_ago",
                    static_cast<std::uint64_t>(*st.daemon_beat_age_s * 1000.0));
        else
            w.key("daemon_heartbeat_ms_ago").null();
        if (st.reasm) {
            w.key("reassembly").begin_object();
            w.field("fails", st.reasm->fails).field("timeouts", st.reasm->timeouts);
            w.end_object();
        } else {
            w.key("reassembly").null();
        }
        w.key("aging").begin_object().field("ticks", static_cast<std::uint64_t>(st.state->ticks));
        if (st.last_tick_age_s)
            w.field("last_tick_s_ago", static_cast<std::uint64_t>(*st.last_tick_age_s));
        else
            w.key("last_tick_s_ago").null();
        w.end_object();
    } else {
        w.key("bindings").null().key("pinholes").null().key("dialogs").null();
        w.key("clock_s").null();
        w.key("daemon_attached").null();
        w.key("daemon_heartbeat_ms_ago").null();
        w.key("aging").null();
    }
    if (st.failover) {
        const FailoverView &f = *st.failover;
        w.key("failover").begin_object();
        w.field("policy", f.policy);
        if (f.server.empty())
            w.key("server").null();
        else
            w.field("server", f.server);
        w.field("after_s", f.after_s);
        w.field("wan", f.wan).field("why", f.why);
        if (f.peer.empty())
            w.key("peer").null();
        else
            w.field("peer", f.peer);
        if (f.since_ms)
            w.field("since", utc_text(f.since_ms)).field("since_unix_ms", f.since_ms);
        else
            w.key("since").null().key("since_unix_ms").null();
        w.field("transitions", f.transitions);
        w.field("redirecting", f.redirecting).field("redirected_packets", f.redirected);
        w.end_object();
    } else {
        w.key("failover").null();
    }
    const CounterSummary sum = summarize(st.counters);
    w.key("summary").begin_object();
    w.field("seen", sum.seen)
            .field("forwarded", sum.forwarded)
            .field("rewritten", sum.rewritten)
            .field("passed_untouched", sum.passed)
            .field("dropped", sum.dropped)
            .field("slow_path_needed", sum.slow_path);
    w.end_object();

    w.key("counters").begin_object();
    for (int i = 0; i < SIPALG_CTR_COUNT; ++i)
        w.field(kCounters[i].name, st.counters[static_cast<size_t>(i)]);
    w.end_object();

    w.field("problems", st.problems);
    w.end_object();
}

std::string render_json(const InstanceStatus &st) {
    JsonWriter w;
    render_json(w, st);
    return w.str();
}

std::string render_json(const std::vector<InstanceStatus> &all) {
    JsonWriter w;
    w.begin_array();
    for (const auto &st : all)
        render_json(w, st);
    w.end_array();
    return w.str();
}

} // namespace sipalg
