#include "instance/failover_settings.hpp"

#include "cli/error.hpp"

#include <arpa/inet.h>

#include <algorithm>

namespace sipalg {

FailoverServer parse_failover_server(const std::string &text) {
    const std::string example = "; e.g. --failover-server 192.168.1.5 or 192.168.1.5:5060";
    FailoverServer s;
    const std::size_t colon = text.find(':');
    const auto ip = parse_ipv4(text.substr(0, colon));
    if (!ip)
        throw UserError("--failover-server '" + text + "' is not IPv4 address[:port]" + example);
    s.ip = *ip;
    if (colon != std::string::npos) {
        const std::string port = text.substr(colon + 1);
        unsigned long v = 0;
        if (port.empty() || port.size() > 5 ||
            port.find_first_not_of("0123456789") != std::string::npos ||
            (v = std::stoul(port)) == 0 || v > 65535)
            throw UserError("--failover-server '" + text + "': the port must be 1-65535" + example);
        s.port = static_cast<std::uint16_t>(v);
    }
    return s;
}

void apply_failover_settings(sipalg_limits &l, const std::string &server, unsigned after_s) {
    if (after_s != 0 && (after_s < kFailoverAfterMin || after_s > kFailoverAfterMax))
        throw UserError("--failover-after must be 0 (no answer never counts) or " +
                        std::to_string(kFailoverAfterMin) + "-" +
                        std::to_string(kFailoverAfterMax) + " seconds");
    l.failover_after_s = static_cast<std::uint16_t>(after_s);
    l.failover_ip = 0;
    l.failover_port = 0;
    if (server.empty())
        return;
    const FailoverServer s = parse_failover_server(server);
    l.failover_ip = htonl(s.ip);
    l.failover_port = s.port;
}

void require_failover_on_lan(const sipalg_limits &l, const std::vector<Prefix> &lan) {
    if (!l.failover_ip)
        return;
    const std::uint32_t ip = ntohl(l.failover_ip);
    if (std::any_of(lan.begin(), lan.end(), [&](const Prefix &p) {
            return prefix_contains(p, Prefix{ip, 32});
        }))
        return;
    std::string prefixes;
    for (const Prefix &p : lan)
        prefixes += (prefixes.empty() ? "" : ", ") + format_prefix(p);
    throw UserError("--failover-server " + format_ipv4(ip) + " is not in a LAN prefix (" +
                    prefixes +
                    "): the internal SIP server must be reachable while the WAN is down");
}

} // namespace sipalg
