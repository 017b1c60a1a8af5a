// Small helpers for the programs that load the BPF object next to the test topology: the BPF
// tests and the benchmarks.
#pragma once

#include "packet.hpp"
#include "sipalg_maps.h"
#include "testnet.hpp"

#include <arpa/inet.h>
#include <bpf/libbpf.h>

#include <algorithm>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <vector>

namespace sipalg::test {

// Keep libbpf's warnings (e.g. the verifier log on a load failure); drop its debug chatter.
inline int quiet_libbpf(enum libbpf_print_level level, const char *fmt, va_list args) {
    return level == LIBBPF_WARN ? std::vfprintf(stderr, fmt, args) : 0;
}

inline __be32 be32(const char *dotted) {
    return htonl(ipv4_addr(dotted));
}

// A per-CPU array counter summed over all possible CPUs. Throws if it cannot be read.
inline std::uint64_t percpu_sum(const bpf_map *map, __u32 key) {
    const int ncpus = libbpf_num_possible_cpus();
    if (ncpus <= 0)
        throw std::runtime_error("libbpf_num_possible_cpus failed");
    std::vector<__u64> vals(static_cast<size_t>(ncpus));
    if (bpf_map__lookup_elem(map, &key, sizeof(key), vals.data(), vals.size() * sizeof(__u64), 0) !=
        0)
        throw std::runtime_error("cannot read per-CPU entry " + std::to_string(key));
    std::uint64_t sum = 0;
    for (auto v : vals)
        sum += v;
    return sum;
}

// The ALG configured for the test topology (testnet.hpp), as `sipalg load` would configure it
// there; callers adjust the limits they exercise.
inline sipalg_config topology_config(const net::Topology &topo, bool enabled) {
    sipalg_config c{};
    c.enabled = enabled ? 1 : 0;
    c.public_ip = be32(net::kPublicIp);
    c.wan_ifindex = topo.wan_ifindex;
    c.sip_port[0] = 5060;
    c.port_min = 1024;
    c.port_max = 65535;
    c.bind_lifetime_s = 300;
    c.reg_lifetime_s = 3600;
    c.pin_idle_s = 60;
    c.pin_max_phone = 16;
    c.pin_max_total = 1024;
    c.lan_net[0] = be32("192.168.0.0");
    c.lan_plen[0] = 16;
    return c;
}

// The limits `sipalg load` writes by default, except that requests reach phones from anyone
// and no request rate applies: the tests using this are about rewriting, bindings and dialogs,
// and send requests from wherever suits them, quickly. The signalling rules and the rates
// have their own tests (test_signalling.cpp), starting from load_limits().
inline sipalg_limits default_limits() {
    sipalg_limits l{};
    l.dlg_idle_s = 300;
    l.dlg_max_phone = 64;
    l.dlg_max_total = 16384;
    l.any_peer = 1;
    l.bind_max_phone = 16;
    return l;
}

// Exactly what `sipalg load` writes with no options (loader/instance/config.hpp's defaults).
inline sipalg_limits load_limits() {
    sipalg_limits l = default_limits();
    l.any_peer = 0;
    l.register_rate = 20;
    l.invite_rate = 20;
    return l;
}

// The admin request that opens a pinhole for priv_ip:priv_port scoped to remote:remote_port
// (remote nullptr: not known yet); `want` is the public port asked for (0: none).
inline sipalg_admin pinhole_open_request(const char *priv_ip, std::uint16_t priv_port,
                                         const char *remote, std::uint16_t remote_port,
                                         std::uint16_t want = 0) {
    sipalg_admin a{};
    a.op = SIPALG_OP_PINHOLE_OPEN;
    a.priv_ip = be32(priv_ip);
    a.priv_port = htons(priv_port);
    a.remote_ip = remote ? be32(remote) : 0;
    a.remote_port = htons(remote_port);
    a.public_port = want;
    return a;
}

// The LAN port entry `sipalg load` writes for the test topology's lan0 when the LAN port XDP
// program goes on it (a plain LAN interface: its own port; keyed by its ifindex).
inline sipalg_bridge_port topology_lan_port(const net::Topology &topo, std::uint8_t flags) {
    sipalg_bridge_port p{};
    p.l3_ifindex = topo.lan_ifindex;
    std::copy(net::kLanMac.begin(), net::kLanMac.end(), p.router_mac);
    p.flags = flags;
    return p;
}

} // namespace sipalg::test
