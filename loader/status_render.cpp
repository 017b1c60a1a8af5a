#include "status_render.hpp"

#include "json.hpp"

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
    if (st.tc.attached) {
        s << prog_text(st.tc.prog) << ", clsact egress handle 0x" << std::hex << kTcHandle
          << std::dec << " prio " << kTcPriority;
    } else {
        s << "MISSING";
        if (st.tc.foreign.id)
            s << " (our slot runs " << prog_text(st.tc.foreign) << ")";
    }
    s << "\n";

    s << "    counters:\n";
    for (int i = 0; i < SIPALG_CTR_COUNT; ++i)
        s << "        " << std::left << std::setw(14) << kCounters[i].name << std::right
          << std::setw(20) << st.counters[static_cast<size_t>(i)] << "  " << kCounters[i].help
          << "\n";
    for (const auto &p : st.problems)
        s << "    problem:  " << p << "\n";
    return s.str();
}

// Keys (stable contract for scripts and tests):
//   interface, ifindex (null if gone), enabled (bool|null), alg ("enabled"|"disabled"|"unknown"),
//   healthy, pin_dir,
//   xdp: {attached, prog_id, prog_name, mode, multiprog, if_prog_id, if_prog_name}
//        (if_prog_* is what the interface runs: the libxdp dispatcher, or sipalg_xdp itself;
//        it is the id `bpftool net show` reports)
//   tc:  {attached, prog_id, prog_name, hook ("egress"), handle, priority}
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
    w.field("attached", st.tc.attached);
    json_prog(w, "prog_id", "prog_name", st.tc.attached ? st.tc.prog : ProgRef{});
    w.field("hook", "egress").field("handle", kTcHandle).field("priority", kTcPriority);
    w.end_object();

    w.key("counters").begin_object();
    for (int i = 0; i < SIPALG_CTR_COUNT; ++i)
        w.field(kCounters[i].name, st.counters[static_cast<size_t>(i)]);
    w.end_object();

    w.key("problems").begin_array();
    for (const auto &p : st.problems)
        w.value(p);
    w.end_array();
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
