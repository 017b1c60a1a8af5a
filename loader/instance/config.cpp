#include "instance/config.hpp"

#include "cli/error.hpp"
#include "instance/failover_settings.hpp"
#include "instance/policy.hpp"

#include <arpa/inet.h>

#include <algorithm>

namespace sipalg {
namespace {

unsigned parse_port(const std::string &s, const std::string &what) {
    if (s.empty() || s.size() > 5 || !std::all_of(s.begin(), s.end(), ::isdigit))
        throw UserError(what + " '" + s + "' is not a port number; use 1-65535");
    const unsigned long v = std::stoul(s);
    if (v < 1 || v > 65535)
        throw UserError(what + " " + s + " is out of range; use 1-65535");
    return static_cast<unsigned>(v);
}

void require_range(unsigned v, unsigned lo, unsigned hi, const char *opt) {
    if (v < lo || v > hi)
        throw UserError(std::string(opt) + " " + std::to_string(v) + " is out of range; use " +
                        std::to_string(lo) + "-" + std::to_string(hi));
}

} // namespace

std::pair<std::uint16_t, std::uint16_t> parse_port_range(const std::string &s) {
    const auto dash = s.find('-');
    if (dash == std::string::npos)
        throw UserError("--port-range '" + s + "' is not LO-HI; e.g. --port-range 10000-60000");
    const unsigned lo = parse_port(s.substr(0, dash), "--port-range start");
    const unsigned hi = parse_port(s.substr(dash + 1), "--port-range end");
    if (lo > hi)
        throw UserError("--port-range " + s + " is empty; give LO-HI with LO <= HI");
    return {static_cast<std::uint16_t>(lo), static_cast<std::uint16_t>(hi)};
}

std::vector<Prefix> parse_prefixes(const std::vector<std::string> &texts, const char *opt,
                                   const char *example) {
    std::vector<Prefix> out;
    for (const auto &t : texts) {
        const auto p = parse_prefix(t);
        if (!p || p->len == 0)
            throw UserError(std::string(opt) + " '" + t + "' is not an IPv4 prefix; e.g. " +
                            example);
        out.push_back(*p);
    }
    return out;
}

sipalg_config make_config(const AlgSettings &s, std::uint32_t public_ip, std::uint32_t wan_ifindex,
                          const std::vector<Prefix> &lan_prefixes) {
    sipalg_config c{};
    c.enabled = 0;
    if (public_ip == 0)
        throw UserError("public address 0.0.0.0 is not usable; give --public-ip A.B.C.D");
    for (const auto &p : lan_prefixes) {
        if (prefix_contains(p, Prefix{public_ip, 32}))
            throw UserError("the public address " + format_ipv4(public_ip) +
                            " is inside LAN prefix " + format_prefix(p) +
                            "; check --public-ip and --lan-prefix");
    }
    c.public_ip = htonl(public_ip);
    c.wan_ifindex = wan_ifindex;

    std::vector<unsigned> ports = s.sip_ports.empty() ? std::vector<unsigned>{5060} : s.sip_ports;
    if (ports.size() > SIPALG_MAX_SIP_PORTS)
        throw UserError("at most " + std::to_string(SIPALG_MAX_SIP_PORTS) +
                        " --sip-port values are supported");
    for (size_t i = 0; i < ports.size(); ++i) {
        require_range(ports[i], 1, 65535, "--sip-port");
        c.sip_port[i] = static_cast<__u16>(ports[i]);
    }
    const auto [lo, hi] = parse_port_range(s.port_range);
    c.port_min = lo;
    c.port_max = hi;
    require_range(s.binding_lifetime_s, 10, 86400, "--binding-lifetime");
    require_range(s.register_lifetime_s, 10, 7 * 86400, "--register-lifetime");
    require_range(s.pinhole_idle_s, 5, 86400, "--pinhole-idle");
    require_range(s.max_pinholes_per_phone, 1, SIPALG_PINHOLES_ENTRIES, "--max-pinholes-per-phone");
    require_range(s.max_pinholes, 1, SIPALG_PINHOLES_ENTRIES, "--max-pinholes");
    c.bind_lifetime_s = s.binding_lifetime_s;
    c.reg_lifetime_s = s.register_lifetime_s;
    c.pin_idle_s = s.pinhole_idle_s;
    c.pin_max_phone = s.max_pinholes_per_phone;
    c.pin_max_total = s.max_pinholes;

    if (lan_prefixes.empty() || lan_prefixes.size() > SIPALG_MAX_LAN_PREFIXES)
        throw UserError("give 1 to " + std::to_string(SIPALG_MAX_LAN_PREFIXES) +
                        " LAN prefixes with --lan-prefix");
    for (size_t i = 0; i < lan_prefixes.size(); ++i) {
        c.lan_net[i] = htonl(lan_prefixes[i].net & prefix_mask(lan_prefixes[i].len));
        c.lan_plen[i] = lan_prefixes[i].len;
    }
    return c;
}

sipalg_limits make_limits(const AlgSettings &s) {
    // The floor is low so that tests can watch dialogs time out; --help says why a router
    // wants more than a minute (a ringing call may be silent that long).
    require_range(s.dialog_idle_s, 10, 86400, "--dialog-idle");
    require_range(s.max_dialogs_per_phone, 1, SIPALG_DIALOGS_ENTRIES, "--max-dialogs-per-phone");
    require_range(s.max_dialogs, 1, SIPALG_DIALOGS_ENTRIES, "--max-dialogs");
    require_range(s.register_rate, 0, 100000, "--register-rate");
    require_range(s.invite_rate, 0, 100000, "--invite-rate");
    require_range(s.max_bindings_per_phone, 0, SIPALG_BINDINGS_ENTRIES, "--max-bindings-per-phone");
    sipalg_limits l{};
    l.dlg_idle_s = s.dialog_idle_s;
    l.dlg_max_phone = s.max_dialogs_per_phone;
    l.dlg_max_total = s.max_dialogs;
    l.any_peer = s.any_peer ? 1 : 0;
    for (const auto &t : s.trusted_peers) {
        const auto p = parse_prefix(t);
        if (p && p->len == 0)
            throw UserError("--trusted-peer " + t +
                            " would trust every address; use --any-peer for that");
    }
    const std::vector<Prefix> trusted =
            parse_prefixes(s.trusted_peers, "--trusted-peer", "198.51.100.0/24");
    if (trusted.size() > SIPALG_MAX_TRUSTED)
        throw UserError("--trusted-peer given " + std::to_string(trusted.size()) +
                        " times; at most " + std::to_string(SIPALG_MAX_TRUSTED) +
                        " prefixes (use a shorter prefix that covers them)");
    for (size_t i = 0; i < trusted.size(); ++i) {
        l.trusted_net[i] = htonl(trusted[i].net & prefix_mask(trusted[i].len));
        l.trusted_plen[i] = trusted[i].len;
    }
    l.register_rate = s.register_rate;
    l.invite_rate = s.invite_rate;
    l.bind_max_phone = s.max_bindings_per_phone;
    apply_failover_settings(l, s.failover_server, s.failover_after_s);
    l.policy = apply_policy_assignments(default_policy_flags(), s.policies);
    check_policies(l);
    return l;
}

std::vector<Prefix> stored_prefixes(const __be32 *net, const std::uint8_t *plen, int n) {
    std::vector<Prefix> out;
    for (int i = 0; i < n; ++i) {
        if (plen[i])
            out.push_back(Prefix{ntohl(net[i]), plen[i]});
    }
    return out;
}

std::vector<Prefix> config_prefixes(const sipalg_config &cfg) {
    return stored_prefixes(cfg.lan_net, cfg.lan_plen, SIPALG_MAX_LAN_PREFIXES);
}

std::vector<Prefix> trusted_prefixes(const sipalg_limits &l) {
    return stored_prefixes(l.trusted_net, l.trusted_plen, SIPALG_MAX_TRUSTED);
}

} // namespace sipalg
