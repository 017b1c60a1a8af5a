// Presentation of bindings, pinholes and dialogs: an aligned table (human) and `-j` JSON.
#include "instance/discover.hpp"
#include "state/entries.hpp"
#include "cli/json.hpp"
#include "cli/list_text.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cstdio>
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

// TEXT left-aligned in WIDTH columns, and at least one space after it even when it is wider.
void cell(std::ostringstream &s, const std::string &text, std::size_t width) {
    s << text << std::string(text.size() < width ? width - text.size() : 1, ' ');
}

const char *dialog_state_name(std::uint8_t state) {
    switch (state) {
    case SIPALG_DLG_EARLY:
        return "early";
    case SIPALG_DLG_CONFIRMED:
        return "confirmed";
    case SIPALG_DLG_ENDING:
        return "ending";
    default:
        return nullptr;
    }
}

std::string dialog_state_text(const sipalg_dialog &d) {
    const char *name = dialog_state_name(d.state);
    return name ? name : "state " + std::to_string(d.state);
}

std::string offer_text(const sipalg_dialog &d) {
    const bool local = d.flags & SIPALG_DLGF_LOCAL_OFFER;
    const bool remote = d.flags & SIPALG_DLGF_REMOTE_OFFER;
    if (local && remote)
        return "local+remote";
    return local ? "local offer" : remote ? "remote offer" : "-";
}

std::string call_hex(std::uint64_t call) {
    char buf[17];
    std::snprintf(buf, sizeof(buf), "%016llx", static_cast<unsigned long long>(call));
    return buf;
}

// The lines' peer addresses (host order), each once, in line order.
std::vector<std::uint32_t> dialog_remotes(const sipalg_dialog &d) {
    std::vector<std::uint32_t> out;
    for (int i = 0; i < SIPALG_MAX_LINES_DLG; ++i) {
        const std::uint32_t ip = ntohl(d.peer_ip[i]);
        if (ip && std::find(out.begin(), out.end(), ip) == out.end())
            out.push_back(ip);
    }
    return out;
}

// The public ports of the agreed exchange (RTP, RTCP per line), and those only the phone's
// outstanding offer opened; each port once, an agreed one never also as pending.
struct DialogPorts {
    std::vector<std::uint16_t> active, pending;
};

DialogPorts dialog_ports(const sipalg_dialog &d) {
    DialogPorts p;
    const auto add = [](std::vector<std::uint16_t> &to, std::uint16_t port,
                        const std::vector<std::uint16_t> &also_not_in) {
        if (port && std::find(to.begin(), to.end(), port) == to.end() &&
            std::find(also_not_in.begin(), also_not_in.end(), port) == also_not_in.end())
            to.push_back(port);
    };
    for (int i = 0; i < SIPALG_MAX_LINES_DLG; ++i) {
        add(p.active, d.rtp[i], {});
        add(p.active, d.rtcp[i], {});
    }
    for (int i = 0; i < SIPALG_MAX_LINES_DLG; ++i) {
        add(p.pending, d.pend_rtp[i], p.active);
        add(p.pending, d.pend_rtcp[i], p.active);
    }
    return p;
}

void json_nonzero_or_null(JsonWriter &w, const char *key, std::uint16_t port) {
    if (port)
        w.field(key, static_cast<std::uint32_t>(port));
    else
        w.key(key).null();
}

} // namespace

std::string callid_text(const sipalg_dialog &d) {
    std::string out;
    for (std::size_t n = 0; n < SIPALG_CALLID_TEXT && d.callid[n]; ++n) {
        const unsigned char c = d.callid[n];
        out += c > 0x20 && c < 0x7f ? static_cast<char>(c) : '?';
    }
    return out;
}

// What every listing starts with: the interface, the public address and the ALG clock.
template <typename List>
void json_list_head(JsonWriter &w, const List &l) {
    w.field("interface", l.ifname).field("public_ip", format_ipv4(l.public_ip));
    w.field("clock_s", l.now_s);
}

// A binding's or pinhole's LAN socket and its public socket.
void json_sockets(JsonWriter &w, const NatEntry &e, std::uint32_t public_ip) {
    w.field("private", ep(e.priv_ip, e.priv_port));
    w.field("public", ep(public_ip, e.public_port));
    w.field("public_port", static_cast<std::uint32_t>(e.public_port));
}

bool callid_may_be_cut(const sipalg_dialog &d) {
    return d.callid[SIPALG_CALLID_TEXT - 1] != 0;
}

// Keys (stable contract): interface, public_ip, clock_s, bindings: [{private, public,
// registered, lifetime_s, expires_in_s, consistent}]
std::string render_bindings_json(const EntryList &l) {
    JsonWriter w;
    w.begin_object();
    json_list_head(w, l);
    w.key("bindings").begin_array();
    for (const auto &e : l.entries) {
        w.begin_object();
        json_sockets(w, e, l.public_ip);
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
// public, public_port, remote (null: not known yet), idle_s, owner_port, refs (dialog media
// lines using it; 0: it closes after pinhole_idle_s without media), call, consistent}]
std::string render_pinholes_json(const EntryList &l) {
    JsonWriter w;
    w.begin_object();
    json_list_head(w, l);
    w.field("pinhole_idle_s", l.pin_idle_s);
    w.key("pinholes").begin_array();
    for (const auto &e : l.entries) {
        w.begin_object();
        json_sockets(w, e, l.public_ip);
        if (e.remote_ip)
            w.field("remote", format_ipv4(e.remote_ip))
                    .field("remote_port", static_cast<std::uint32_t>(e.remote_port));
        else
            w.key("remote").null().key("remote_port").null();
        w.field("idle_s", static_cast<std::int64_t>(diff_s(l.now_s, e.stamp)));
        w.field("owner_port", static_cast<std::uint32_t>(e.owner));
        w.field("refs", static_cast<std::uint32_t>(e.refs));
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
      << " (those no dialog uses close after " << l.pin_idle_s << " s without media)\n";
    if (l.entries.empty())
        return s.str();
    s << std::left << std::setw(24) << "PRIVATE" << std::setw(24) << "PUBLIC" << std::setw(26)
      << "REMOTE (only source in)" << std::setw(6) << "REFS"
      << "IDLE\n";
    for (const auto &e : l.entries) {
        s << std::setw(24) << ep(e.priv_ip, e.priv_port) << std::setw(24)
          << ep(l.public_ip, e.public_port) << std::setw(26) << remote_text(e) << std::setw(6)
          << e.refs << (std::to_string(diff_s(l.now_s, e.stamp)) + "s")
          << (e.consistent ? "" : "  (stale)") << "\n";
    }
    return s.str();
}

// Keys (stable contract): interface, public_ip, clock_s, dialog_idle_s, dialogs: [{call (the
// Call-ID hash, 16 hex digits), call_id (its stored first bytes, printable), call_id_cut (the
// Call-ID may be longer),
// phone, phone_port (null: the binding is gone), bind_port, binding, inbound, state ("early" |
// "confirmed" | "ending" | a number), local_offer, remote_offer, age_s, idle_s (since the last
// SIP message), session_expires_s (null: none), remotes: [ip...], pinholes: [port...],
// pending_pinholes: [port...] (opened by the phone's offer, not answered yet), lines: [{line,
// rtp, rtcp, pending_rtp, pending_rtcp, remote} for each line in use; absent values null]}]
std::string render_dialogs_json(const DialogList &l) {
    JsonWriter w;
    w.begin_object();
    json_list_head(w, l);
    w.field("dialog_idle_s", l.dlg_idle_s);
    w.key("dialogs").begin_array();
    for (const auto &e : l.entries) {
        const sipalg_dialog &d = e.d;
        w.begin_object();
        w.field("call", call_hex(e.key.call));
        w.field("call_id", callid_text(d));
        w.field("call_id_cut", callid_may_be_cut(d));
        w.field("phone", format_ipv4(ntohl(d.priv_ip)));
        json_nonzero_or_null(w, "phone_port", e.phone_port);
        w.field("bind_port", static_cast<std::uint32_t>(e.key.bind_port));
        w.field("binding", ep(l.public_ip, e.key.bind_port));
        w.field("inbound", (d.flags & SIPALG_DLGF_INBOUND) != 0);
        if (const char *name = dialog_state_name(d.state))
            w.field("state", name);
        else
            w.field("state", static_cast<std::uint32_t>(d.state));
        w.field("local_offer", (d.flags & SIPALG_DLGF_LOCAL_OFFER) != 0);
        w.field("remote_offer", (d.flags & SIPALG_DLGF_REMOTE_OFFER) != 0);
        w.field("age_s", static_cast<std::int64_t>(diff_s(l.now_s, d.created_s)));
        w.field("idle_s", static_cast<std::int64_t>(diff_s(l.now_s, d.seen_s)));
        json_nonzero_or_null(w, "session_expires_s", d.session_s);
        w.key("remotes").begin_array();
        for (std::uint32_t ip : dialog_remotes(d))
            w.value(format_ipv4(ip));
        w.end_array();
        const DialogPorts ports = dialog_ports(d);
        w.key("pinholes").begin_array();
        for (std::uint16_t p : ports.active)
            w.value(static_cast<std::uint32_t>(p));
        w.end_array();
        w.key("pending_pinholes").begin_array();
        for (std::uint16_t p : ports.pending)
            w.value(static_cast<std::uint32_t>(p));
        w.end_array();
        w.key("lines").begin_array();
        for (int i = 0; i < SIPALG_MAX_LINES_DLG; ++i) {
            if (!d.rtp[i] && !d.rtcp[i] && !d.pend_rtp[i] && !d.pend_rtcp[i] && !d.peer_ip[i])
                continue;
            w.begin_object().field("line", i);
            json_nonzero_or_null(w, "rtp", d.rtp[i]);
            json_nonzero_or_null(w, "rtcp", d.rtcp[i]);
            json_nonzero_or_null(w, "pending_rtp", d.pend_rtp[i]);
            json_nonzero_or_null(w, "pending_rtcp", d.pend_rtcp[i]);
            if (d.peer_ip[i])
                w.field("remote", format_ipv4(ntohl(d.peer_ip[i])));
            else
                w.key("remote").null();
            w.end_object();
        }
        w.end_array();
        w.end_object();
    }
    w.end_array();
    w.end_object();
    return w.str();
}

std::string render_dialogs_human(const DialogList &l) {
    std::ostringstream s;
    s << l.ifname << ": " << l.entries.size() << " dialog" << (l.entries.size() == 1 ? "" : "s")
      << " (ended after " << l.dlg_idle_s << " s without SIP or media)\n";
    if (l.entries.empty())
        return s.str();
    cell(s, "CALL-ID", 21);
    cell(s, "PHONE", 23);
    cell(s, "BINDING", 9);
    cell(s, "DIR", 5);
    cell(s, "REMOTE", 17);
    cell(s, "AGE", 8);
    cell(s, "SIP IDLE", 10);
    cell(s, "STATE", 11);
    cell(s, "OFFER", 14);
    s << "PINHOLES\n";
    bool any_pending = false;
    for (const auto &e : l.entries) {
        const sipalg_dialog &d = e.d;
        const std::string call = callid_text(d) + (callid_may_be_cut(d) ? "..." : "");
        cell(s, call.empty() ? "-" : call, 21);
        cell(s,
             format_ipv4(ntohl(d.priv_ip)) + ":" +
                     (e.phone_port ? std::to_string(e.phone_port) : "?"),
             23);
        cell(s, std::to_string(e.key.bind_port), 9);
        cell(s, d.flags & SIPALG_DLGF_INBOUND ? "in" : "out", 5);
        std::string remotes;
        for (std::uint32_t ip : dialog_remotes(d))
            append_listed(remotes, format_ipv4(ip));
        cell(s, remotes.empty() ? "-" : remotes, 17);
        cell(s, std::to_string(diff_s(l.now_s, d.created_s)) + "s", 8);
        cell(s, std::to_string(diff_s(l.now_s, d.seen_s)) + "s", 10);
        cell(s, dialog_state_text(d), 11);
        cell(s, offer_text(d), 14);
        const DialogPorts ports = dialog_ports(d);
        std::string pins;
        for (std::uint16_t p : ports.active)
            append_listed(pins, std::to_string(p));
        for (std::uint16_t p : ports.pending) {
            append_listed(pins, std::to_string(p));
            pins += '*';
        }
        any_pending = any_pending || !ports.pending.empty();
        s << (pins.empty() ? "-" : pins) << "\n";
    }
    if (any_pending)
        s << "* opened by the phone's offer, not answered yet\n";
    return s.str();
}

} // namespace sipalg
