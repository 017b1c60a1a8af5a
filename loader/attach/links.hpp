// The interfaces of this network namespace as netlink describes them: bridge membership, MAC
// addresses, and what a driver can do with XDP frames. Asked of the kernel every time (no
// /sys: `nsenter --net` keeps the caller's /sys, netlink follows the network namespace).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace sipalg {

using Mac = std::array<std::uint8_t, 6>;

struct Link {
    unsigned int ifindex = 0;
    std::string name;
    unsigned int master = 0; // ifindex of the bridge (or bond...) it is enslaved to, 0 if none
    std::string kind;        // "bridge", "veth", ...; empty for a plain device
    std::optional<Mac> mac;
};

// Every link (RTM_GETLINK dump). Throws UserError if netlink fails.
std::vector<Link> dump_links();

// NETDEV_XDP_ACT_* (the netdev generic netlink family, kernel >= 6.3); nullopt when the
// kernel cannot tell.
std::optional<std::uint64_t> xdp_features(unsigned int ifindex);

inline constexpr std::uint64_t kXdpActNdoXmit = 1u << 2; // NETDEV_XDP_ACT_NDO_XMIT

// The device accepts XDP frames (ndo_xdp_xmit): an XDP redirect to it is delivered, not
// dropped. False when the kernel cannot tell.
bool accepts_xdp_frames(unsigned int ifindex);

// A LAN port the LAN XDP program goes on: a member of a LAN bridge, or a LAN interface that
// is no bridge (then port and L3 interface are the same).
struct LanPort {
    std::string name;
    unsigned int ifindex = 0;
    unsigned int l3_ifindex = 0; // the LAN interface holding the router's address
    Mac router_mac{};            // the L3 interface's MAC: frames to the router carry it
    bool xdp_xmit = false;       // the port accepts XDP frames (ndo_xdp_xmit)
};

// Pure: the ports of `lan_ifindexes` among `links`; `xmit(ifindex)` says whether a device
// accepts XDP frames. Interfaces without a MAC (not Ethernet) have no ports.
template <class XmitFn>
std::vector<LanPort> lan_ports(const std::vector<std::uint32_t> &lan_ifindexes,
                               const std::vector<Link> &links, XmitFn xmit) {
    std::vector<LanPort> out;
    for (std::uint32_t l3 : lan_ifindexes) {
        const Link *lan = nullptr;
        for (const Link &l : links)
            if (l.ifindex == l3)
                lan = &l;
        if (!lan || !lan->mac)
            continue;
        const auto add = [&](const Link &port) {
            out.push_back({port.name, port.ifindex, l3, *lan->mac, xmit(port.ifindex)});
        };
        if (lan->kind != "bridge") {
            add(*lan);
            continue;
        }
        for (const Link &l : links)
            if (l.master == l3 && l.mac)
                add(l);
    }
    return out;
}

} // namespace sipalg
