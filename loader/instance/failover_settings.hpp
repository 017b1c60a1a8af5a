// The WAN failover policy's settings: the internal SIP server the phones' requests go to while
// the WAN is down (--failover-server IP[:PORT]) and how long the registrar may leave REGISTERs
// unanswered before the WAN counts as down (--failover-after SECONDS). Stored in the limits
// map (failover_ip, failover_port, failover_after_s) next to the policy word. Pure.
#pragma once

#include "instance/discover.hpp"
#include "sipalg_maps.h"

#include <cstdint>
#include <string>
#include <vector>

namespace sipalg {

inline constexpr unsigned kFailoverAfterDefault = 30;
inline constexpr unsigned kFailoverAfterMin = 5;
inline constexpr unsigned kFailoverAfterMax = 3600;

struct FailoverServer {
    std::uint32_t ip = 0;      // host order
    std::uint16_t port = 5060; // SIP's default port
};

// "IP" or "IP:PORT" (port 1-65535, default 5060). Throws UserError naming --failover-server.
FailoverServer parse_failover_server(const std::string &text);

// Writes the settings into `l` (server empty: none; after_s 0: no no-answer check). Throws
// UserError naming the option.
void apply_failover_settings(sipalg_limits &l, const std::string &server, unsigned after_s);

// The server must be in one of the LAN prefixes: it is the internal server, reached while the
// WAN is down. Throws UserError naming --failover-server and the prefixes otherwise.
void require_failover_on_lan(const sipalg_limits &l, const std::vector<Prefix> &lan);

} // namespace sipalg
