#include "state/entries.hpp"

#include "instance/discover.hpp"
#include "cli/error.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cerrno>

namespace sipalg {
namespace {

EntryList gather(const Target &t, bool pinholes) {
    const std::string dir = loaded_instance_dir(t);
    const InstanceMaps m = InstanceMaps::open(dir, t.ifname, true);
    const sipalg_config cfg = m.read_config();
    EntryList l;
    l.ifname = t.ifname;
    l.public_ip = ntohl(cfg.public_ip);
    l.pin_idle_s = cfg.pin_idle_s;
    l.now_s = m.read_state().now_s;
    l.entries = pinholes ? m.pinholes() : m.bindings();
    std::sort(l.entries.begin(), l.entries.end(),
              [](const NatEntry &a, const NatEntry &b) { return a.public_port < b.public_port; });
    return l;
}

// The order of the listing: per phone binding, oldest call first.
bool dialog_before(const DialogEntry &a, const DialogEntry &b) {
    if (a.key.bind_port != b.key.bind_port)
        return a.key.bind_port < b.key.bind_port;
    if (a.d.created_s != b.d.created_s)
        return a.d.created_s < b.d.created_s;
    return a.key.call < b.key.call;
}

sipalg_admin admin_for(const Endpoint &priv, sipalg_admin_op op) {
    sipalg_admin a{};
    a.op = op;
    a.priv_ip = htonl(priv.ip);
    a.priv_port = htons(priv.port);
    return a;
}

} // namespace

Endpoint parse_endpoint(const std::string &s, const std::string &what, bool allow_no_port) {
    const auto colon = s.rfind(':');
    const std::string host = colon == std::string::npos ? s : s.substr(0, colon);
    const auto ip = parse_ipv4(host);
    Endpoint e;
    if (!ip || *ip == 0)
        throw UserError(what + " '" + s + "' is not A.B.C.D" +
                        (allow_no_port ? "[:PORT]" : ":PORT"));
    e.ip = *ip;
    if (colon == std::string::npos) {
        if (!allow_no_port)
            throw UserError(what + " '" + s + "' needs a port: A.B.C.D:PORT");
        return e;
    }
    const std::string port = s.substr(colon + 1);
    if (port.empty() || port.size() > 5 || !std::all_of(port.begin(), port.end(), ::isdigit) ||
        std::stoul(port) < 1 || std::stoul(port) > 65535)
        throw UserError(what + " '" + s + "' has no valid port (1-65535)");
    e.port = static_cast<std::uint16_t>(std::stoul(port));
    return e;
}

EntryList list_bindings(const Target &t) {
    return gather(t, false);
}

EntryList list_pinholes(const Target &t) {
    return gather(t, true);
}

DialogList list_dialogs(const Target &t) {
    const std::string dir = loaded_instance_dir(t);
    const InstanceMaps m = InstanceMaps::open(dir, t.ifname, true);
    DialogList l;
    l.ifname = t.ifname;
    l.public_ip = ntohl(m.read_config().public_ip);
    l.dlg_idle_s = m.read_limits().dlg_idle_s;
    l.now_s = m.read_state().now_s;
    for (const DialogRecord &r : m.dialogs()) {
        DialogEntry e;
        e.key = r.key;
        e.d = r.value;
        const sipalg_slot slot = m.read_slot(r.key.bind_port);
        if (slot.state == SIPALG_SLOT_BINDING && slot.priv_ip == r.value.priv_ip)
            e.phone_port = ntohs(slot.priv_port);
        l.entries.push_back(e);
    }
    std::sort(l.entries.begin(), l.entries.end(), dialog_before);
    return l;
}

std::uint16_t add_pinhole(const Target &t, const Endpoint &priv, const Endpoint &remote,
                          std::uint16_t public_port) {
    const std::string dir = loaded_instance_dir(t);
    sipalg_admin a = admin_for(priv, SIPALG_OP_PINHOLE_OPEN);
    a.remote_ip = htonl(remote.ip);
    a.remote_port = htons(remote.port);
    a.public_port = public_port;
    a = run_admin(dir, t.ifname, a);
    switch (-a.result) {
    case 0:
        return a.public_port;
    case EDQUOT:
        throw UserError("refused: the phone " + format_ipv4(priv.ip) +
                        " has reached --max-pinholes-per-phone");
    case ENOSPC:
        throw UserError("refused: the instance has reached --max-pinholes");
    case EADDRINUSE:
        throw UserError("refused: no free public port in the configured --port-range");
    default:
        throw UserError("cannot add the pinhole (" + errno_text(a.result) + ")");
    }
}

namespace {

// Closes the pinhole or binding of LAN socket priv; `what` names it, `list` is the verb listing
// them.
void delete_entry(const Target &t, const Endpoint &priv, sipalg_admin_op op, const char *what,
                  const char *list) {
    const std::string dir = loaded_instance_dir(t);
    const sipalg_admin a = run_admin(dir, t.ifname, admin_for(priv, op));
    if (a.result == -ENOENT)
        throw UserError(std::string("no ") + what + " for " + format_ipv4(priv.ip) + ":" +
                        std::to_string(priv.port) + "; see: sipalg " + list + " --wan " + t.ifname);
    if (a.result != 0)
        throw UserError(std::string("cannot delete the ") + what + " (" + errno_text(a.result) +
                        ")");
}

} // namespace

void delete_pinhole(const Target &t, const Endpoint &priv) {
    delete_entry(t, priv, SIPALG_OP_PINHOLE_CLOSE, "pinhole", "pinholes");
}

void delete_binding(const Target &t, const Endpoint &priv) {
    delete_entry(t, priv, SIPALG_OP_BINDING_CLOSE, "binding", "bindings");
}

} // namespace sipalg
