#include "cli/verb_render.hpp"

#include "cli/json.hpp"
#include "instance/discover.hpp"
#include "instance/policy.hpp"
#include "sipalg_maps.h"

#include <iomanip>
#include <sstream>

namespace sipalg {

namespace {

// How the WAN XDP program went on: through libxdp's dispatcher (other XDP programs can share
// the interface), directly because libxdp failed, or directly because the kernel has no
// dispatcher support.
const char *xdp_attach_kind(const LoadReport &r) {
    if (r.multiprog)
        return "multiprog";
    return r.fallback_reason.empty() ? "single" : "direct_after_libxdp_failed";
}

void json_prog(JsonWriter &w, const char *name, std::uint32_t id) {
    w.field("prog_id", id).field("prog_name", name);
}

} // namespace

std::string render_load_human(const std::string &wan, const LoadReport &r) {
    std::ostringstream out;
    out << "loaded on " << wan << ": xdp " SIPALG_PROG_WAN_XDP " id " << r.xdp_id;
    if (r.multiprog)
        out << " (native, via libxdp dispatcher)";
    else if (!r.fallback_reason.empty())
        out << " (native, attached directly because libxdp failed: " << r.fallback_reason
            << "; other XDP programs cannot share " << wan << ")";
    else
        // libxdp itself fell back to a plain attach (its dispatcher needs freplace programs,
        // which some kernels or sandboxes refuse).
        out << " (native; libxdp's multiprog dispatcher is unavailable, so it is the only "
               "XDP program "
            << wan << " can run)";
    out << ", tc " SIPALG_PROG_WAN_EGRESS " id " << r.tc_id
        << " (clsact egress), " SIPALG_PROG_WAN_INGRESS " id " << r.wan_in_id
        << " (clsact ingress); LAN";
    for (const auto &[name, id] : r.lan)
        out << " " << name << " (" SIPALG_PROG_LAN_INGRESS " id " << id << ")";
    out << "; LAN port XDP " SIPALG_PROG_LAN_PORT_XDP ":";
    for (const auto &p : r.lan_xdp)
        out << " " << p.port << " (id " << p.id
            << (p.xdp_xmit ? ", media both ways in XDP)" : ", outbound media in XDP)");
    if (r.lan_xdp.empty())
        out << " not attached (" << r.lan_xdp_off << ")";
    for (const auto &why : r.lan_xdp_skipped)
        out << "; not on " << why;
    out << "; public " << format_ipv4(r.public_ip) << ", LAN prefixes";
    for (const auto &p : r.lan_prefixes)
        out << " " << format_prefix(p);
    out << "; pins in " << r.pin_dir << "; ALG: disabled until `sipalg enable --wan " << wan
        << "`\n";
    return out.str();
}

std::string render_load_json(const std::string &wan, const LoadReport &r) {
    JsonWriter w;
    w.begin_object();
    w.field("interface", wan).field("pin_dir", r.pin_dir);
    // A fresh load is always disabled: the ALG is off until `enable`.
    w.field("enabled", false).field("alg", "disabled");
    w.key("xdp").begin_object();
    json_prog(w, SIPALG_PROG_WAN_XDP, r.xdp_id);
    w.field("attach", xdp_attach_kind(r)).field("multiprog", r.multiprog);
    if (!r.fallback_reason.empty())
        w.field("libxdp_error", r.fallback_reason);
    w.end_object();
    w.key("tc").begin_object();
    json_prog(w, SIPALG_PROG_WAN_EGRESS, r.tc_id);
    w.field("hook", "egress").end_object();
    w.key("wan_in").begin_object();
    json_prog(w, SIPALG_PROG_WAN_INGRESS, r.wan_in_id);
    w.field("hook", "ingress").end_object();
    w.key("lan").begin_array();
    for (const auto &[name, id] : r.lan) {
        w.begin_object().field("interface", name);
        json_prog(w, SIPALG_PROG_LAN_INGRESS, id);
        w.field("hook", "ingress").end_object();
    }
    w.end_array();
    w.key("lan_xdp").begin_array();
    for (const auto &p : r.lan_xdp) {
        w.begin_object().field("interface", p.port);
        json_prog(w, SIPALG_PROG_LAN_PORT_XDP, p.id);
        w.field("xdp_xmit", p.xdp_xmit).end_object();
    }
    w.end_array();
    w.field("lan_xdp_skipped", r.lan_xdp_skipped);
    if (r.lan_xdp.empty())
        w.field("lan_xdp_off", r.lan_xdp_off);
    w.field("public_ip", format_ipv4(r.public_ip));
    w.key("lan_prefixes").begin_array();
    for (const auto &p : r.lan_prefixes)
        w.value(format_prefix(p));
    w.end_array();
    w.end_object();
    return w.str() + "\n";
}

std::string render_unload_human(const std::string &wan, const UnloadReport &r) {
    std::ostringstream out;
    out << "unloaded from " << wan << ": ";
    if (r.interface_gone)
        out << "interface gone, programs went with it";
    else
        out << "xdp " << (r.xdp_detached ? "detached" : "was not attached") << ", tc "
            << (r.tc_detached ? "detached" : "was not attached") << ", wan ingress "
            << (r.wan_in_detached ? "detached" : "was not attached");
    out << ", LAN hooks detached:";
    if (r.lan_detached.empty())
        out << " none";
    for (const auto &name : r.lan_detached)
        out << " " << name;
    for (const auto &name : r.lan_xdp_detached)
        out << " " << name << " (xdp)";
    if (!r.steering_removed.empty())
        out << ", removed what a killed daemon left (" << r.steering_removed << ")";
    out << ", removed " << r.pin_dir << "\n";
    return out.str();
}

std::string render_unload_json(const std::string &wan, const UnloadReport &r) {
    JsonWriter w;
    w.begin_object();
    w.field("interface", wan).field("pin_dir", r.pin_dir).field("pins_removed", true);
    w.field("interface_gone", r.interface_gone);
    w.key("detached").begin_object();
    w.field("xdp", r.xdp_detached).field("tc", r.tc_detached).field("wan_in", r.wan_in_detached);
    w.field("lan", r.lan_detached);
    w.field("lan_xdp", r.lan_xdp_detached);
    w.end_object();
    if (r.steering_removed.empty())
        w.key("daemon_leftovers_removed").null();
    else
        w.field("daemon_leftovers_removed", r.steering_removed);
    w.end_object();
    return w.str() + "\n";
}

std::string render_enabled_human(const std::string &wan, bool enabled) {
    return wan + ": ALG: " + (enabled ? "enabled" : "disabled") + "\n";
}

std::string render_enabled_json(const std::string &wan, bool enabled) {
    JsonWriter w;
    w.begin_object().field("interface", wan).field("enabled", enabled);
    w.field("alg", enabled ? "enabled" : "disabled").end_object();
    return w.str() + "\n";
}

void json_policies(JsonWriter &w, std::uint32_t flags) {
    w.key("policies").begin_object();
    for (const auto &p : policy_table())
        w.field(p.name, (flags & p.bit) != 0);
    w.end_object();
}

std::string render_policies_human(const std::string &wan, std::uint32_t flags) {
    std::ostringstream s;
    s << wan << ": policies (sipalg policy --wan " << wan << " NAME on|off)\n";
    for (const auto &p : policy_table()) {
        s << "    " << std::left << std::setw(14) << p.name << std::setw(4)
          << ((flags & p.bit) ? "on" : "off") << " default " << (p.default_on ? "on" : "off")
          << (p.runtime ? "; switches at runtime" : "; changes with a reload") << "\n        "
          << p.help << "\n";
    }
    return s.str();
}

std::string render_policies_json(const std::string &wan, std::uint32_t flags) {
    JsonWriter w;
    w.begin_object().field("interface", wan);
    json_policies(w, flags);
    w.key("defaults").begin_object();
    for (const auto &p : policy_table())
        w.field(p.name, p.default_on);
    w.end_object().end_object();
    return w.str() + "\n";
}

} // namespace sipalg
