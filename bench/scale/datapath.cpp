#include "datapath.hpp"

#include "bpf_util.hpp"
#include "packet.hpp"
#include "text.hpp"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <stdexcept>
#include <string>

using namespace sipalg::test;
using bench::fmt;

namespace scale {

sipalg_endpoint scale_key(std::uint32_t i) {
    sipalg_endpoint ep{};
    ep.ip = htonl(0xc0a80000u | ((i >> 4) & 0xffffu));
    ep.port = htons(static_cast<std::uint16_t>(20000u + 2u * (i & 15u)));
    ep.pad = 0;
    return ep;
}

void populate(int fd, std::uint32_t n) {
    constexpr std::uint32_t kChunk = 8192;
    std::vector<sipalg_endpoint> keys(kChunk);
    std::vector<std::uint64_t> vals(kChunk);
    for (std::uint32_t base = 0; base < n; base += kChunk) {
        const std::uint32_t cnt = std::min(kChunk, n - base);
        for (std::uint32_t j = 0; j < cnt; ++j) {
            keys[j] = scale_key(base + j);
            // public_port (u16) first, then flags/lifetime or call: a plausible filler.
            vals[j] = static_cast<std::uint64_t>(1024u + (base + j) % 64000u) |
                      (static_cast<std::uint64_t>(300u) << 32);
        }
        __u32 count = cnt;
        LIBBPF_OPTS(bpf_map_batch_opts, o, .elem_flags = 0, .flags = 0);
        if (bpf_map_update_batch(fd, keys.data(), vals.data(), &count, &o) == 0 && count == cnt)
            continue;
        for (std::uint32_t j = 0; j < cnt; ++j)
            if (bpf_map_update_elem(fd, &keys[j], &vals[j], BPF_ANY) != 0)
                throw std::runtime_error(
                        fmt("cannot insert entry %u: %s", base + j, std::strerror(errno)));
    }
}

long long fdinfo_memlock(int fd) {
    std::istringstream in(bench::read_file("/proc/self/fdinfo/" + std::to_string(fd)));
    std::string line;
    while (std::getline(in, line))
        if (line.rfind("memlock:", 0) == 0)
            return std::atoll(line.c_str() + 8);
    return -1;
}

std::uint32_t test_run(const Runner &r, int repeat, std::uint32_t *ret) {
    std::vector<std::uint8_t> out(r.frame->size() + 256);
    xdp_md xctx{};
    xctx.data_end = static_cast<__u32>(r.frame->size());
    xctx.ingress_ifindex = r.ifindex;
    __sk_buff sctx{};
    sctx.ifindex = r.ifindex;
    sctx.ingress_ifindex = r.ifindex;
    LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = r.frame->data(), .data_out = out.data(),
                .data_size_in = static_cast<__u32>(r.frame->size()),
                .data_size_out = static_cast<__u32>(out.size()),
                .ctx_in = r.xdp ? static_cast<const void *>(&xctx) : &sctx,
                .ctx_size_in = static_cast<__u32>(r.xdp ? sizeof(xctx) : sizeof(sctx)),
                .repeat = repeat);
    if (bpf_prog_test_run_opts(r.fd, &o))
        throw std::runtime_error(fmt("BPF_PROG_TEST_RUN failed: %s", std::strerror(errno)));
    if (ret)
        *ret = o.retval;
    return o.duration;
}

namespace {

// An RTP-sized packet (12-byte RTP header + 160 bytes) from src to dst.
std::vector<std::uint8_t> rtp_frame(const char *src, const Mac &smac, const Mac &dmac,
                                    std::uint16_t sp, const char *dst, std::uint16_t dp) {
    return udp_frame(src, smac, dmac, sp, dst, dp,
                     std::string("\x80\x00\x00\x01\x00\x00\x00\xa0\xde\xad\xbe\xef", 12) +
                             std::string(160, '\x55'));
}

} // namespace

Frames make_frames() {
    Frames f;
    f.rtp_out = rtp_frame(net::kPhone1, net::kPhone1Mac, net::kLanMac, 40000, net::kRemote, 50000);
    f.rtp_in =
            rtp_frame(net::kRemote, net::kGatewayMac, net::kWanMac, 50000, net::kPublicIp, 40000);
    f.other_out = rtp_frame(net::kPhone1, net::kPhone1Mac, net::kLanMac, 33333, net::kRemote, 443);
    return f;
}

Datapath::Datapath(const net::Topology &topo, std::uint32_t n) {
    skel = scale_bpf__open();
    if (!skel)
        throw std::runtime_error("cannot open the benchmark BPF object");
    // Exactly n entries in each map (in sipalg_pins n - 1 fillers + the real pinhole), and
    // max_entries = n as in the real object at 65536: the same number of buckets.
    const std::uint32_t room = std::max<std::uint32_t>(n, 64);
    if (bpf_map__set_max_entries(skel->maps.sipalg_pins, room) ||
        bpf_map__set_max_entries(skel->maps.sipalg_binds, room))
        throw std::runtime_error("cannot set max_entries");
    if (scale_bpf__load(skel))
        throw std::runtime_error("cannot load the benchmark BPF object");
    cfg = topology_config(topo, true);
    cfg.pin_idle_s = 120;
    cfg.pin_max_phone = 64;
    cfg.pin_max_total = SIPALG_PINHOLES_ENTRIES;
    set_enabled(true);
    new_generation();
    const sipalg_admin a = admin(pinhole_open_request(net::kPhone1, 40000, net::kRemote, 50000));
    if (a.public_port != 40000)
        throw std::runtime_error("the real pinhole did not get public port 40000");
    populate(bpf_map__fd(skel->maps.sipalg_pins), n - 1);
    populate(bpf_map__fd(skel->maps.sipalg_binds), n);
    skel->data->scale_n = n - 1; // random lookups draw from the fillers
}

void Datapath::set_enabled(bool on) {
    cfg.enabled = on ? 1 : 0;
    const __u32 zero = 0;
    if (bpf_map__update_elem(skel->maps.sipalg_config, &zero, 4, &cfg, sizeof(cfg), BPF_ANY))
        throw std::runtime_error("cannot write the config map");
}

sipalg_admin Datapath::admin(sipalg_admin a) {
    // A syscall program's context is copied back to ctx_in: results come back in place.
    LIBBPF_OPTS(bpf_test_run_opts, o, .ctx_in = &a, .ctx_size_in = sizeof(a));
    if (bpf_prog_test_run_opts(bpf_program__fd(skel->progs.sipalg_admin), &o) || a.result)
        throw std::runtime_error("admin operation " + std::to_string(a.op) + " failed");
    return a;
}

void Datapath::new_generation() {
    sipalg_admin a{};
    a.op = SIPALG_OP_CLOCK_SET;
    a.arg = ++clock;
    admin(a);
}

} // namespace scale
