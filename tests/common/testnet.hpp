// A private network namespace with a small router topology, for tests and benchmarks that run
// BPF programs through BPF_PROG_TEST_RUN: bpf_fib_lookup then routes in a table the test
// controls, never in the host's.
//
//   inet0 (peer)  --veth--  wan0 203.0.113.1/24    default via 203.0.113.2 (static neighbour)
//   lanpeer       --veth--  lan0 192.168.1.1/24    phones .10 and .11 (static neighbours);
//                                                  .12 has no neighbour entry (NO_NEIGH path)
//
// enter() moves the calling thread (the whole single-threaded test process) into a fresh
// namespace once; children started with system() inherit it.
#pragma once

#include "packet.hpp"

#include <net/if.h>
#include <sched.h>

#include <cstdlib>
#include <stdexcept>
#include <string>

namespace sipalg::test::net {

inline const Mac kWanMac{0x02, 0x00, 0x00, 0x00, 0x0a, 0x01};
inline const Mac kGatewayMac{0x02, 0x00, 0x00, 0x00, 0x0a, 0x02};
inline const Mac kLanMac{0x02, 0x00, 0x00, 0x00, 0x0b, 0x01};
inline const Mac kPhone1Mac{0x02, 0x00, 0x00, 0x00, 0x01, 0x10};
inline const Mac kPhone2Mac{0x02, 0x00, 0x00, 0x00, 0x01, 0x11};

inline constexpr const char *kPublicIp = "203.0.113.1";
inline constexpr const char *kGatewayIp = "203.0.113.2";
inline constexpr const char *kLanIp = "192.168.1.1";
inline constexpr const char *kPhone1 = "192.168.1.10";
inline constexpr const char *kPhone2 = "192.168.1.11";
inline constexpr const char *kPhoneNoNeigh = "192.168.1.12";
inline constexpr const char *kRegistrar = "198.51.100.7";
inline constexpr const char *kRemote = "198.51.100.20";
inline constexpr const char *kStranger = "198.51.100.66";

struct Topology {
    unsigned int wan_ifindex = 0;
    unsigned int lan_ifindex = 0;
};

namespace detail {
inline void sh(const std::string &cmd) {
    const std::string full = "PATH=$PATH:/usr/sbin:/sbin " + cmd + " >/dev/null 2>&1";
    if (std::system(full.c_str()) != 0)
        throw std::runtime_error("test topology setup failed: " + cmd);
}
} // namespace detail

inline const Topology &enter() {
    static const Topology topo = [] {
        if (::unshare(CLONE_NEWNET) != 0)
            throw std::runtime_error("unshare(CLONE_NEWNET) failed: run the tests as root");
        using detail::sh;
        sh("ip link set lo up");
        sh("ip link add wan0 address 02:00:00:00:0a:01 type veth peer name inet0");
        sh("ip link add lan0 address 02:00:00:00:0b:01 type veth peer name lanpeer");
        for (const char *dev : {"wan0", "inet0", "lan0", "lanpeer"})
            sh(std::string("ip link set ") + dev + " up");
        sh("ip addr add 203.0.113.1/24 dev wan0");
        sh("ip addr add 192.168.1.1/24 dev lan0");
        sh("ip route add default via 203.0.113.2 dev wan0");
        sh("ip neigh replace 203.0.113.2 lladdr 02:00:00:00:0a:02 dev wan0 nud permanent");
        sh("ip neigh replace 192.168.1.10 lladdr 02:00:00:00:01:10 dev lan0 nud permanent");
        sh("ip neigh replace 192.168.1.11 lladdr 02:00:00:00:01:11 dev lan0 nud permanent");
        sh("sysctl -qw net.ipv4.ip_forward=1");
        Topology t;
        t.wan_ifindex = ::if_nametoindex("wan0");
        t.lan_ifindex = ::if_nametoindex("lan0");
        if (!t.wan_ifindex || !t.lan_ifindex)
            throw std::runtime_error("test topology: interfaces missing");
        return t;
    }();
    return topo;
}

} // namespace sipalg::test::net
