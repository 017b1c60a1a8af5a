#include "instance/discover.hpp"

#include "cli/error.hpp"
#include "sipalg_maps.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>

#include <algorithm>
#include <fstream>
#include <sstream>

namespace sipalg {

std::uint32_t prefix_mask(unsigned len) {
    return len == 0 ? 0 : len >= 32 ? 0xffffffffu : ~(0xffffffffu >> len);
}

bool prefix_contains(const Prefix &outer, const Prefix &inner) {
    return outer.len <= inner.len && (inner.net & prefix_mask(outer.len)) == outer.net;
}

std::string format_ipv4(std::uint32_t host_order) {
    char buf[INET_ADDRSTRLEN] = {};
    in_addr a{htonl(host_order)};
    inet_ntop(AF_INET, &a, buf, sizeof(buf));
    return buf;
}

std::string format_prefix(const Prefix &p) {
    return format_ipv4(p.net) + "/" + std::to_string(p.len);
}

std::optional<std::uint32_t> parse_ipv4(const std::string &s) {
    in_addr a{};
    if (inet_pton(AF_INET, s.c_str(), &a) != 1)
        return std::nullopt;
    return ntohl(a.s_addr);
}

std::optional<Prefix> parse_prefix(const std::string &s) {
    const auto slash = s.find('/');
    if (slash == std::string::npos || slash + 1 >= s.size() || s.size() - slash > 3)
        return std::nullopt;
    const auto addr = parse_ipv4(s.substr(0, slash));
    const std::string len_text = s.substr(slash + 1);
    if (!addr || !std::all_of(len_text.begin(), len_text.end(), ::isdigit))
        return std::nullopt;
    const unsigned len = static_cast<unsigned>(std::stoul(len_text));
    if (len > 32)
        return std::nullopt;
    return Prefix{*addr & prefix_mask(len), static_cast<std::uint8_t>(len)};
}

std::vector<Route> parse_proc_net_route(std::istream &in) {
    // Iface Destination Gateway Flags RefCnt Use Metric Mask MTU Window IRTT, addresses as
    // the kernel's in-memory (network order) u32 printed in hex.
    std::vector<Route> out;
    std::string line;
    std::getline(in, line); // header
    while (std::getline(in, line)) {
        std::istringstream f(line);
        std::string ifname, dst, gw, flags, refcnt, use, metric, mask;
        if (!(f >> ifname >> dst >> gw >> flags >> refcnt >> use >> metric >> mask))
            continue;
        const auto hex = [](const std::string &h) {
            return ntohl(static_cast<std::uint32_t>(std::stoul(h, nullptr, 16)));
        };
        try {
            Route r;
            r.ifname = ifname;
            const std::uint32_t m = hex(mask);
            unsigned len = 0;
            while (len < 32 && (m & (0x80000000u >> len)))
                ++len;
            r.dst = Prefix{hex(dst) & prefix_mask(len), static_cast<std::uint8_t>(len)};
            r.gateway = hex(gw);
            r.up = (std::stoul(flags, nullptr, 16) & 0x1) != 0; // RTF_UP
            out.push_back(r);
        } catch (const std::exception &) {
            continue;
        }
    }
    return out;
}

NetView read_net_view() {
    NetView v;
    ifaddrs *list = nullptr;
    if (getifaddrs(&list) == 0) {
        for (ifaddrs *i = list; i; i = i->ifa_next) {
            if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET || !i->ifa_netmask)
                continue;
            IfAddr a;
            a.ifname = i->ifa_name;
            a.addr = ntohl(reinterpret_cast<sockaddr_in *>(i->ifa_addr)->sin_addr.s_addr);
            const std::uint32_t m =
                    ntohl(reinterpret_cast<sockaddr_in *>(i->ifa_netmask)->sin_addr.s_addr);
            while (a.plen < 32 && (m & (0x80000000u >> a.plen)))
                ++a.plen;
            a.up = (i->ifa_flags & IFF_UP) != 0;
            a.loopback = (i->ifa_flags & IFF_LOOPBACK) != 0;
            v.addrs.push_back(a);
        }
        freeifaddrs(list);
    }
    // /proc/self/net follows this thread's network namespace (nsenter --net= works).
    std::ifstream routes("/proc/self/net/route");
    if (routes)
        v.routes = parse_proc_net_route(routes);
    return v;
}

namespace {

bool is_private(std::uint32_t a) {
    static const Prefix kPrivate[] = {{0x0a000000u, 8},   // 10/8
                                      {0xac100000u, 12},  // 172.16/12
                                      {0xc0a80000u, 16},  // 192.168/16
                                      {0x64400000u, 10}}; // 100.64/10 (CGNAT-side LANs)
    for (const auto &p : kPrivate)
        if (prefix_contains(p, Prefix{a, 32}))
            return true;
    return false;
}

void add_unique(std::vector<std::string> &v, const std::string &s) {
    if (std::find(v.begin(), v.end(), s) == v.end())
        v.push_back(s);
}

// Drops prefixes covered by another one in the list.
std::vector<Prefix> minimal(std::vector<Prefix> in) {
    std::sort(in.begin(), in.end(), [](const Prefix &a, const Prefix &b) {
        return a.len != b.len ? a.len < b.len : a.net < b.net;
    });
    std::vector<Prefix> out;
    for (const auto &p : in) {
        if (std::none_of(out.begin(), out.end(),
                         [&](const Prefix &o) { return prefix_contains(o, p); }))
            out.push_back(p);
    }
    return out;
}

// The interface the most specific route to `a` uses (empty if none).
std::string route_iface(const NetView &view, std::uint32_t a) {
    const Route *best = nullptr;
    for (const auto &r : view.routes) {
        if (r.up && prefix_contains(r.dst, Prefix{a, 32}) && (!best || r.dst.len > best->dst.len))
            best = &r;
    }
    return best ? best->ifname : std::string();
}

} // namespace

LanSide decide_lan(const std::string &wan, const std::vector<std::string> &given_ifaces,
                   const std::vector<Prefix> &given_prefixes, const NetView &view) {
    LanSide lan;
    if (!given_ifaces.empty()) {
        for (const auto &i : given_ifaces)
            add_unique(lan.ifaces, i);
    } else if (!given_prefixes.empty()) {
        for (const auto &p : given_prefixes) {
            const std::string i = route_iface(view, p.net);
            if (i.empty() || i == wan)
                throw UserError("no route sends LAN prefix " + format_prefix(p) +
                                " to a LAN interface; give the interface with --lan IF");
            add_unique(lan.ifaces, i);
        }
    } else {
        for (const auto &a : view.addrs) {
            if (a.up && !a.loopback && a.ifname != wan && is_private(a.addr))
                add_unique(lan.ifaces, a.ifname);
        }
        std::sort(lan.ifaces.begin(), lan.ifaces.end());
    }
    for (const auto &i : lan.ifaces) {
        if (i == wan)
            throw UserError("--lan " + i +
                            " is the WAN interface; give the interface(s) facing "
                            "the phones");
    }
    if (lan.ifaces.empty())
        throw UserError("no LAN interface found (no interface other than " + wan +
                        " holds a private IPv4 address); give it with --lan IF");

    if (!given_prefixes.empty()) {
        lan.prefixes = minimal(given_prefixes);
    } else {
        std::vector<Prefix> found;
        for (const auto &a : view.addrs) {
            if (std::find(lan.ifaces.begin(), lan.ifaces.end(), a.ifname) != lan.ifaces.end() &&
                a.plen > 0)
                found.push_back(Prefix{a.addr & prefix_mask(a.plen), a.plen});
        }
        for (const auto &r : view.routes) {
            if (r.dst.len > 0 &&
                std::find(lan.ifaces.begin(), lan.ifaces.end(), r.ifname) != lan.ifaces.end())
                found.push_back(r.dst);
        }
        lan.prefixes = minimal(found);
    }
    if (lan.prefixes.empty())
        throw UserError("no LAN prefix found on " + lan.ifaces.front() +
                        "; give it with --lan-prefix A.B.C.D/LEN");
    if (lan.prefixes.size() > SIPALG_MAX_LAN_PREFIXES)
        throw UserError(
                "too many LAN prefixes (" + std::to_string(lan.prefixes.size()) +
                "); give at most " + std::to_string(SIPALG_MAX_LAN_PREFIXES) +
                " with --lan-prefix (a covering prefix such as 192.168.0.0/16 counts once)");
    if (lan.ifaces.size() > SIPALG_MAX_LAN_IFS)
        throw UserError("too many LAN interfaces (" + std::to_string(lan.ifaces.size()) +
                        "); give at most " + std::to_string(SIPALG_MAX_LAN_IFS) + " with --lan");
    return lan;
}

std::uint32_t decide_public_ip(const std::string &wan, const NetView &view) {
    for (const auto &a : view.addrs) {
        if (a.ifname == wan)
            return a.addr;
    }
    throw UserError("no IPv4 address on " + wan +
                    "; give the public address with --public-ip A.B.C.D");
}

} // namespace sipalg
