// What `sipalg load` writes into the config and limits maps: settings from the command line (or
// their defaults) plus what was discovered, validated before anything is loaded.
#pragma once

#include "instance/discover.hpp"
#include "sipalg_maps.h"

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace sipalg {

struct AlgSettings {
    std::string public_ip;                 // --public-ip; empty: the WAN's address
    std::vector<std::string> lan_ifaces;   // --lan; empty: discovered
    std::vector<std::string> lan_prefixes; // --lan-prefix; empty: discovered
    std::vector<unsigned> sip_ports;       // --sip-port; empty: 5060
    std::string port_range = "1024-65535"; // --port-range: public ports the ALG may hand out
    unsigned binding_lifetime_s = 300;     // --binding-lifetime: SIP other than REGISTER
    unsigned register_lifetime_s = 3600;   // --register-lifetime: until the registrar says
    unsigned pinhole_idle_s = 120;         // --pinhole-idle: like conntrack's UDP stream timeout
    unsigned max_pinholes_per_phone = 64;  // --max-pinholes-per-phone
    unsigned max_pinholes = SIPALG_PINHOLES_ENTRIES; // --max-pinholes
    unsigned dialog_idle_s = 300;           // --dialog-idle: no SIP and no media for this long
    unsigned max_dialogs_per_phone = 64;    // --max-dialogs-per-phone
    unsigned max_dialogs = 16384;           // --max-dialogs (at most SIPALG_DIALOGS_ENTRIES)
    bool lan_xdp = true;                    // --no-lan-xdp: never attach the LAN port XDP program
    std::vector<std::string> trusted_peers; // --trusted-peer: requests to phones from anyone there
    bool any_peer = false;                  // --any-peer: no direct signalling rule
    unsigned register_rate = 20;            // --register-rate: per second per source (0: none)
    unsigned invite_rate = 20;              // --invite-rate: per second per source (0: none)
    unsigned max_bindings_per_phone = 16;   // --max-bindings-per-phone (0: no limit)
    std::vector<std::string> policies;      // --policy NAME=on|off, in order
    std::string failover_server;            // --failover-server IP[:PORT]; empty: none
    unsigned failover_after_s = 30;         // --failover-after: no answer this long = WAN down
};

// "LO-HI" -> {LO, HI}; throws UserError unless 1 <= LO <= HI <= 65535.
std::pair<std::uint16_t, std::uint16_t> parse_port_range(const std::string &s);

// The parsed --lan-prefix values (UserError on a malformed one).
std::vector<Prefix> parse_prefixes(const std::vector<std::string> &texts,
                                   const char *opt = "--lan-prefix",
                                   const char *example = "192.168.1.0/24");

// Pure: validates the settings and builds the config (enabled = 0). public_ip is host order.
sipalg_config make_config(const AlgSettings &s, std::uint32_t public_ip, std::uint32_t wan_ifindex,
                          const std::vector<Prefix> &lan_prefixes);

// Pure: validates the dialog, signalling and rate settings and builds the limits map's value.
sipalg_limits make_limits(const AlgSettings &s);

// The prefixes stored in a map value (n slots, plen 0: unused), for display.
std::vector<Prefix> stored_prefixes(const __be32 *net, const std::uint8_t *plen, int n);
// The LAN prefixes stored in a config, and the trusted peers in the limits.
std::vector<Prefix> config_prefixes(const sipalg_config &cfg);
std::vector<Prefix> trusted_prefixes(const sipalg_limits &l);

} // namespace sipalg
