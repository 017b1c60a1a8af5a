// Test fixture for the datapath programs: the BPF object loaded fresh per test, configured like
// `sipalg load` would for the topology in tests/common/testnet.hpp, with helpers to run each
// program on a frame, to drive the admin program and to read counters and map entries.
#pragma once

#include "bpf_util.hpp"
#include "packet.hpp"
#include "sipalg.skel.h"
#include "sipalg_maps.h"
#include "testnet.hpp"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdio>
#include <optional>
#include <string>
#include <vector>

namespace sipalg::test {

struct RunResult {
    std::uint32_t ret = 0;
    std::vector<std::uint8_t> out;
    std::vector<std::uint8_t> meta; // XDP metadata in front of the frame (XDP only)
    std::uint32_t mark = 0;         // the skb's mark afterwards (tc only)
};

class Datapath : public testing::Test {
  protected:
    void SetUp() override {
        ASSERT_EQ(geteuid(), 0u) << "BPF_PROG_TEST_RUN tests load programs: run them as root";
        topo_ = net::enter();
        libbpf_set_print(quiet_libbpf);
        skel_ = sipalg_bpf__open_and_load();
        ASSERT_NE(skel_, nullptr) << "loading the BPF object failed (verifier?)";
        write_config(default_config(true));
        write_limits(default_limits());
    }
    void TearDown() override {
        if (skel_)
            sipalg_bpf__destroy(skel_);
    }

    sipalg_config default_config(bool enabled) const { return topology_config(topo_, enabled); }

    void write_config(const sipalg_config &c) {
        const __u32 key = SIPALG_CONFIG_KEY;
        ASSERT_EQ(bpf_map__update_elem(skel_->maps.sipalg_config, &key, sizeof(key), &c, sizeof(c),
                                       BPF_ANY),
                  0);
    }
    void write_limits(const sipalg_limits &l) {
        const __u32 key = SIPALG_LIMITS_KEY;
        ASSERT_EQ(bpf_map__update_elem(skel_->maps.sipalg_limits, &key, sizeof(key), &l, sizeof(l),
                                       BPF_ANY),
                  0);
    }
    void set_enabled(bool on) {
        sipalg_config c{};
        const __u32 key = SIPALG_CONFIG_KEY;
        ASSERT_EQ(bpf_map__lookup_elem(skel_->maps.sipalg_config, &key, sizeof(key), &c, sizeof(c),
                                       0),
                  0);
        c.enabled = on ? 1 : 0;
        write_config(c);
    }

    std::uint64_t counter(enum sipalg_counter idx) const {
        return percpu_sum(skel_->maps.sipalg_counters, idx);
    }

    // tc program on an skb that arrived on `ifindex`.
    RunResult run_tc(bpf_program *prog, const std::vector<std::uint8_t> &in, unsigned ifindex,
                     int repeat = 1) {
        RunResult r;
        std::vector<std::uint8_t> buf(in.size() + 4096, 0xa5);
        __sk_buff ctx{}, ctx_out{};
        ctx.ifindex = ifindex;
        ctx.ingress_ifindex = ifindex;
        LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = in.data(), .data_out = buf.data(),
                    .data_size_in = static_cast<__u32>(in.size()),
                    .data_size_out = static_cast<__u32>(buf.size()), .ctx_in = &ctx,
                    .ctx_out = &ctx_out, .ctx_size_in = sizeof(ctx),
                    .ctx_size_out = sizeof(ctx_out), .repeat = repeat);
        EXPECT_EQ(bpf_prog_test_run_opts(bpf_program__fd(prog), &opts), 0)
                << "BPF_PROG_TEST_RUN failed: " << errno;
        buf.resize(opts.data_size_out);
        r.ret = opts.retval;
        r.mark = ctx_out.mark;
        r.out = std::move(buf);
        return r;
    }
    RunResult run_lan(const std::vector<std::uint8_t> &in) {
        return run_tc(skel_->progs.sipalg_lan_ingress, in, topo_.lan_ifindex);
    }
    RunResult run_wan_in(const std::vector<std::uint8_t> &in) {
        return run_tc(skel_->progs.sipalg_wan_ingress, in, topo_.wan_ifindex);
    }
    RunResult run_wan_out(const std::vector<std::uint8_t> &in) {
        return run_tc(skel_->progs.sipalg_wan_egress, in, topo_.wan_ifindex);
    }

    // XDP program `prog` on a frame received by `ifindex`; splits off the metadata.
    RunResult run_xdp_on(bpf_program *prog, const std::vector<std::uint8_t> &in, unsigned ifindex) {
        RunResult r;
        std::vector<std::uint8_t> buf(in.size() + 4096, 0xa5);
        xdp_md ctx_in{}, ctx_out{};
        ctx_in.data_end = static_cast<__u32>(in.size());
        ctx_in.ingress_ifindex = ifindex;
        LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = in.data(), .data_out = buf.data(),
                    .data_size_in = static_cast<__u32>(in.size()),
                    .data_size_out = static_cast<__u32>(buf.size()), .ctx_in = &ctx_in,
                    .ctx_out = &ctx_out, .ctx_size_in = sizeof(ctx_in),
                    .ctx_size_out = sizeof(ctx_out), .repeat = 1);
        EXPECT_EQ(bpf_prog_test_run_opts(bpf_program__fd(prog), &opts), 0)
                << "BPF_PROG_TEST_RUN (xdp) failed: " << errno;
        buf.resize(opts.data_size_out);
        // The output starts at data_meta; ctx_out.data is the metadata length.
        const size_t meta_len = std::min<size_t>(ctx_out.data, buf.size());
        r.meta.assign(buf.begin(), buf.begin() + static_cast<long>(meta_len));
        r.out.assign(buf.begin() + static_cast<long>(meta_len), buf.end());
        r.ret = opts.retval;
        return r;
    }
    // The WAN XDP program (sipalg_wan_xdp) on a frame from the Internet.
    RunResult run_xdp(const std::vector<std::uint8_t> &in) {
        return run_xdp_on(skel_->progs.sipalg_wan_xdp, in, topo_.wan_ifindex);
    }

    sipalg_admin admin(sipalg_admin a) {
        LIBBPF_OPTS(bpf_test_run_opts, opts, .ctx_in = &a, .ctx_size_in = sizeof(a));
        EXPECT_EQ(bpf_prog_test_run_opts(bpf_program__fd(skel_->progs.sipalg_admin), &opts), 0)
                << "admin program failed: " << errno;
        return a;
    }
    void set_clock(std::uint32_t now) {
        sipalg_admin a{};
        a.op = SIPALG_OP_CLOCK_SET;
        a.arg = now;
        EXPECT_EQ(admin(a).result, 0);
    }
    void sweep() {
        sipalg_admin a{};
        a.op = SIPALG_OP_SWEEP;
        EXPECT_EQ(admin(a).result, 0);
    }
    // Opens a pinhole for priv_ip:priv_port scoped to remote (nullptr: not known yet);
    // returns the admin result (public port in .public_port).
    sipalg_admin open_pinhole(const char *priv_ip, std::uint16_t priv_port, const char *remote,
                              std::uint16_t remote_port, std::uint16_t want = 0) {
        sipalg_admin a{};
        a.op = SIPALG_OP_PINHOLE_OPEN;
        a.priv_ip = be32(priv_ip);
        a.priv_port = htons(priv_port);
        a.remote_ip = remote ? be32(remote) : 0;
        a.remote_port = htons(remote_port);
        a.public_port = want;
        return admin(a);
    }

    std::optional<sipalg_binding> binding(const char *ip, std::uint16_t port) const {
        sipalg_endpoint ep{be32(ip), htons(port), 0};
        sipalg_binding b{};
        if (bpf_map__lookup_elem(skel_->maps.sipalg_binds, &ep, sizeof(ep), &b, sizeof(b), 0))
            return std::nullopt;
        return b;
    }
    std::optional<sipalg_pinhole> pinhole(const char *ip, std::uint16_t port) const {
        sipalg_endpoint ep{be32(ip), htons(port), 0};
        sipalg_pinhole p{};
        if (bpf_map__lookup_elem(skel_->maps.sipalg_pins, &ep, sizeof(ep), &p, sizeof(p), 0))
            return std::nullopt;
        return p;
    }
    sipalg_slot slot(std::uint16_t public_port) const {
        const __u32 key = public_port;
        sipalg_slot s{};
        EXPECT_EQ(
                bpf_map__lookup_elem(skel_->maps.sipalg_slots, &key, sizeof(key), &s, sizeof(s), 0),
                0);
        return s;
    }
    sipalg_state state() const {
        const __u32 key = SIPALG_STATE_KEY;
        sipalg_state s{};
        EXPECT_EQ(
                bpf_map__lookup_elem(skel_->maps.sipalg_state, &key, sizeof(key), &s, sizeof(s), 0),
                0);
        return s;
    }

  public:
    // Frames as they are on the wire in the test topology.
    static UdpFrameSpec from_phone(const char *phone, const Mac &mac, std::uint16_t sport,
                                   const char *dst, std::uint16_t dport, std::string payload) {
        UdpFrameSpec s;
        s.src_mac = mac;
        s.dst_mac = net::kLanMac;
        s.src_ip = ipv4_addr(phone);
        s.dst_ip = ipv4_addr(dst);
        s.src_port = sport;
        s.dst_port = dport;
        s.payload = std::move(payload);
        return s;
    }
    static UdpFrameSpec from_internet(const char *src, std::uint16_t sport, std::uint16_t dport,
                                      std::string payload) {
        UdpFrameSpec s;
        s.src_mac = net::kGatewayMac;
        s.dst_mac = net::kWanMac;
        s.src_ip = ipv4_addr(src);
        s.dst_ip = ipv4_addr(net::kPublicIp);
        s.src_port = sport;
        s.dst_port = dport;
        s.payload = std::move(payload);
        return s;
    }
    // What the router sends out of the WAN for a frame from a phone: SNATed to
    // public_ip:public_port, TTL - 1, MACs of the WAN and the gateway.
    static UdpFrameSpec snat_expected(UdpFrameSpec s, std::uint16_t public_port) {
        s.src_ip = ipv4_addr(net::kPublicIp);
        s.src_port = public_port;
        s.ttl = static_cast<std::uint8_t>(s.ttl - 1);
        s.src_mac = net::kWanMac;
        s.dst_mac = net::kGatewayMac;
        return s;
    }
    // What the router sends into the LAN for a frame from the Internet.
    static UdpFrameSpec dnat_expected(UdpFrameSpec s, const char *phone, const Mac &phone_mac,
                                      std::uint16_t phone_port) {
        s.dst_ip = ipv4_addr(phone);
        s.dst_port = phone_port;
        s.ttl = static_cast<std::uint8_t>(s.ttl - 1);
        s.src_mac = net::kLanMac;
        s.dst_mac = phone_mac;
        return s;
    }

    static std::string rtp_payload(std::uint16_t seq = 1) {
        std::string p("\x80\x00", 2);
        p += static_cast<char>(seq >> 8);
        p += static_cast<char>(seq & 0xff);
        p += std::string("\x00\x00\x00\xa0\xde\xad\xbe\xef", 8);
        p += std::string(160, '\x55');
        return p;
    }

  protected:
    net::Topology topo_;
    sipalg_bpf *skel_ = nullptr;
};

// Every `from` in s replaced by `to`: expected payloads after the ALG's rewrite.
inline std::string replace_all(std::string s, const std::string &from, const std::string &to) {
    for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size()))
        s.replace(at, from.size(), to);
    return s;
}

// The frame as the router sends it, with the payload rewritten too.
inline UdpFrameSpec with_payload(UdpFrameSpec s, std::string payload) {
    s.payload = std::move(payload);
    return s;
}

// Human-readable first difference, for EXPECT messages on frames.
inline std::string first_diff(const std::vector<std::uint8_t> &a,
                              const std::vector<std::uint8_t> &b) {
    if (a.size() != b.size())
        return "sizes differ: " + std::to_string(a.size()) + " vs " + std::to_string(b.size());
    for (size_t i = 0; i < a.size(); ++i) {
        if (a[i] != b[i]) {
            char buf[96];
            std::snprintf(buf, sizeof(buf), "byte %zu: 0x%02x vs expected 0x%02x", i, a[i], b[i]);
            return buf;
        }
    }
    return "identical";
}

} // namespace sipalg::test
