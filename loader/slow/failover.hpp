// The WAN failover redirect: while the WAN is down (wan_health.hpp) and the policy is on, the
// phones' SIP to a SIP port outside the LAN goes to the internal SIP server instead. An
// nftables table the daemon installs (and removes when the WAN is back, or when it stops):
//   - prerouting (dstnat): UDP from a LAN address to a SIP port of a host outside the LAN is
//     DNATed to the server;
//   - postrouting (srcnat): those flows are masqueraded to the router's LAN address, so the
//     server answers the router, and conntrack gives the phone its answers back from the
//     address and port it sent to: the phone's transactions and its registrar's address match.
// NAT decisions are per conntrack flow, made on its first packet: installing the redirect
// deletes the phones' SIP flows still masqueraded to the WAN, removing it deletes the
// redirected ones, so the next request of each phone takes the new way.
//
// The router's forward firewall must accept the redirected flows (LAN to LAN through the
// router): `ct status dnat accept`, as OpenWrt's fw4 has for its port forwards.
#pragma once

#include "instance/discover.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace sipalg::slow {

struct RedirectPlan {
    std::uint32_t server_ip = 0; // host order
    std::uint16_t server_port = 0;
    std::vector<Prefix> lan;
    std::vector<std::uint16_t> sip_ports;
};

// The nftables table's name for this WAN ("sipalg_failover_<wan>", nft-safe).
std::string failover_table(const std::string &wan);
// Pure: the ruleset that installs the redirect (nft -f input).
std::string failover_ruleset(const std::string &table, const RedirectPlan &p);
// Pure: the packet count in `nft list counter` output ("packets N bytes M"), if there is one.
std::optional<std::uint64_t> parse_nft_packets(const std::string &listing);

class FailoverRedirect {
  public:
    explicit FailoverRedirect(std::string wan) : table_(failover_table(wan)) {}
    ~FailoverRedirect() { remove(); }
    FailoverRedirect(const FailoverRedirect &) = delete;
    FailoverRedirect &operator=(const FailoverRedirect &) = delete;

    // Installs the table and deletes the phones' SIP flows that go out of the WAN. false (and
    // `why`) if nft failed; nothing is left installed then.
    bool install(const RedirectPlan &p, std::string *why);
    // Removes the table (if any) and deletes the flows it redirected.
    void remove() noexcept;
    bool installed() const { return plan_.has_value(); }
    // Forgets the table without removing it (someone else already did).
    void abandon() noexcept { plan_.reset(); }
    // Packets the redirect took so far (its counter; kept across the last removal).
    std::uint64_t packets();

  private:
    std::string table_;
    std::optional<RedirectPlan> plan_;
    std::uint64_t before_ = 0; // packets of earlier installs
    std::uint64_t last_ = 0;
};

// The daemon's probe of a registrar while the WAN is down for want of its answer: a SIP
// OPTIONS from the public address; any SIP response means it answers again.
class RegistrarProbe {
  public:
    RegistrarProbe() = default;
    ~RegistrarProbe() { close(); }
    RegistrarProbe(const RegistrarProbe &) = delete;
    RegistrarProbe &operator=(const RegistrarProbe &) = delete;
    // Sends one probe to ip:port (host order) from `from` (host order); false if it could not.
    bool send(std::uint32_t from, std::uint32_t ip, std::uint16_t port);
    // Whether a SIP response to a probe arrived since the last send (non-blocking).
    bool answered();
    void close();

  private:
    int fd_ = -1;
    std::uint32_t seq_ = 0;
};

// Pure: the probe's request text.
std::string probe_request(std::uint32_t from, std::uint16_t from_port, std::uint32_t to,
                          std::uint16_t to_port, std::uint32_t seq);

} // namespace sipalg::slow
