// Presentation of bindings and pinholes: an aligned table (human) and `-j` JSON.
#include "discover.hpp"
#include "entries.hpp"
#include "json.hpp"

#include <iomanip>
#include <sstream>

namespace sipalg {
namespace {

std::string ep(std::uint32_t ip, std::uint16_t port) {
    return format_ipv4(ip) + ":" + std::to_string(port);
}

std::string remote_text(const NatEntry &e) {
    if (!e.remote_ip)
        return "(not known yet)";
    return format_ipv4(e.remote_ip) + ":" + (e.remote_port ? std::to_string(e.remote_port) : "*");
}

// Signed seconds between two ALG clock values.
long long diff_s(std::uint32_t a, std::uint32_t b) {
    return static_cast<long long>(static_cast<std::int32_t>(a - b));
}

} // namespace

// Keys (stable contract): interface, public_ip, clock_s, bindings: [{private, public,
// registered, lifetime_s, expires_in_s, consistent}]
std::string render_bindings_json(const EntryList &l) {
    JsonWriter w;
    w.begin_object();
    w.field("interface", l.ifname).field("public_ip", format_ipv4(l.public_ip));
    w.field("clock_s", l.now_s);
    w.key("bindings").begin_array();
    for (const auto &e : l.entries) {
        w.begin_object();
        w.field("private", ep(e.priv_ip, e.priv_port));
        w.field("public", ep(l.public_ip, e.public_port));
        w.field("public_port", static_cast<std::uint32_t>(e.public_port));
        w.field("registered", e.registered).field("lifetime_s", e.lifetime_s);
        w.field("expires_in_s", static_cast<std::int64_t>(diff_s(e.stamp, l.now_s)));
        w.field("consistent", e.consistent);
        w.end_object();
    }
    w.end_array();
    w.end_object();
    return w.str();
}

// Keys (stable contract): interface, public_ip, clock_s, pinhole_idle_s, pinholes: [{private,
// public, public_port, remote (null: not known yet), idle_s, owner_port, call, consistent}]
std::string render_pinholes_json(const EntryList &l) {
    JsonWriter w;
    w.begin_object();
    w.field("interface", l.ifname).field("public_ip", format_ipv4(l.public_ip));
    w.field("clock_s", l.now_s).field("pinhole_idle_s", l.pin_idle_s);
    w.key("pinholes").begin_array();
    for (const auto &e : l.entries) {
        w.begin_object();
        w.field("private", ep(e.priv_ip, e.priv_port));
        w.field("public", ep(l.public_ip, e.public_port));
        w.field("public_port", static_cast<std::uint32_t>(e.public_port));
        if (e.remote_ip)
            w.field("remote", format_ipv4(e.remote_ip))
                    .field("remote_port", static_cast<std::uint32_t>(e.remote_port));
        else
            w.key("remote").null().key("remote_port").null();
        w.field("idle_s", static_cast<std::int64_t>(diff_s(l.now_s, e.stamp)));
        w.field("owner_port", static_cast<std::uint32_t>(e.owner));
        w.field("call", e.call).field("consistent", e.consistent);
        w.end_object();
    }
    w.end_array();
    w.end_object();
    return w.str();
}

std::string render_bindings_human(const EntryList &l) {
    std::ostringstream s;
    s << l.ifname << ": " << l.entries.size() << " binding" << (l.entries.size() == 1 ? "" : "s")
      << "\n";
    if (l.entries.empty())
        return s.str();
    s << std::left << std::setw(24) << "PRIVATE" << std::setw(24) << "PUBLIC" << std::setw(10)
      << "KIND" << std::setw(10) << "LIFETIME"
      << "EXPIRES IN\n";
    for (const auto &e : l.entries) {
        s << std::setw(24) << ep(e.priv_ip, e.priv_port) << std::setw(24)
          << ep(l.public_ip, e.public_port) << std::setw(10)
          << (e.registered ? "REGISTER" : "other") << std::setw(10)
          << (std::to_string(e.lifetime_s) + "s")
          << (std::to_string(diff_s(e.stamp, l.now_s)) + "s") << (e.consistent ? "" : "  (stale)")
          << "\n";
    }
    return s.str();
}

std::string render_pinholes_human(const EntryList &l) {
    std::ostringstream s;
    s << l.ifname << ": " << l.entries.size() << " pinhole" << (l.entries.size() == 1 ? "" : "s")
      << " (closed after " << l.pin_idle_s << " s without media)\n";
    if (l.entries.empty())
        return s.str();
    s << std::left << std::setw(24) << "PRIVATE" << std::setw(24) << "PUBLIC" << std::setw(26)
      << "REMOTE (only source in)"
      << "IDLE\n";
    for (const auto &e : l.entries) {
        s << std::setw(24) << ep(e.priv_ip, e.priv_port) << std::setw(24)
          << ep(l.public_ip, e.public_port) << std::setw(26) << remote_text(e)
          << (std::to_string(diff_s(l.now_s, e.stamp)) + "s") << (e.consistent ? "" : "  (stale)")
          << "\n";
    }
    return s.str();
}

} // namespace sipalg
