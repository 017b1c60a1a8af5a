// Finding the router's sides: the public IPv4 address (on the WAN interface), the LAN
// interfaces and the LAN prefixes (from their addresses and the routes through them), unless
// the command line says. The pure parts take their inputs as arguments so tests can feed them.
#pragma once

#include <cstdint>
#include <istream>
#include <optional>
#include <string>
#include <vector>

namespace sipalg {

// An IPv4 prefix, host byte order, network address already masked.
struct Prefix {
    std::uint32_t net = 0;
    std::uint8_t len = 0;
    bool operator==(const Prefix &) const = default;
};

std::uint32_t prefix_mask(unsigned len);
bool prefix_contains(const Prefix &outer, const Prefix &inner);
std::string format_ipv4(std::uint32_t host_order);
std::string format_prefix(const Prefix &p);
// "a.b.c.d" -> host order; nullopt if not a dotted quad.
std::optional<std::uint32_t> parse_ipv4(const std::string &s);
// "a.b.c.d/len"; host bits are masked off. nullopt if malformed.
std::optional<Prefix> parse_prefix(const std::string &s);

// One line of /proc/net/route (main table, IPv4).
struct Route {
    std::string ifname;
    Prefix dst;
    std::uint32_t gateway = 0;
    bool up = false;
};
std::vector<Route> parse_proc_net_route(std::istream &in);

struct IfAddr {
    std::string ifname;
    std::uint32_t addr = 0; // host order
    std::uint8_t plen = 0;
    bool up = false;
    bool loopback = false;
};

// What the system has: addresses (getifaddrs) and routes (/proc/net/route of this netns).
struct NetView {
    std::vector<IfAddr> addrs;
    std::vector<Route> routes;
};
NetView read_net_view();

struct LanSide {
    std::vector<std::string> ifaces;
    std::vector<Prefix> prefixes;
};

// Pure: decides the LAN side. Given interfaces/prefixes win; otherwise:
//   interfaces: those the routes to the given prefixes use, or else every interface that is up
//     and holds a private (RFC 1918 / RFC 6598) IPv4 address;
//   prefixes: the networks of those interfaces' addresses and the routes through them.
// Throws UserError with what to pass instead when the result is empty or too large.
LanSide decide_lan(const std::string &wan, const std::vector<std::string> &given_ifaces,
                   const std::vector<Prefix> &given_prefixes, const NetView &view);

// Pure: the first IPv4 address of `wan`; throws UserError if it has none.
std::uint32_t decide_public_ip(const std::string &wan, const NetView &view);

} // namespace sipalg
