// Test fixture for the datapath programs: the BPF object loaded fresh per test, configured like
// `sipalg load` would for the topology in tests/common/testnet.hpp, with helpers to run each
// program on a frame, to drive the admin program and to read counters and map entries.
#pragma once

#include "bpf_util.hpp"
#include "map_reset.hpp"
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
        if (shared_) {
            skel_ = shared_;
            ASSERT_EQ(reset_maps(skel_->obj), "");
        } else {
            skel_ = sipalg_bpf__open_and_load();
        }
        ASSERT_NE(skel_, nullptr) << "loading the BPF object failed (verifier?)";
        write_config(default_config(true));
        write_limits(default_limits());
        if (!HasFatalFailure())
            configure();
    }
    // What a suite sets up on top of the defaults, once they are in place.
    virtual void configure() {}
    void TearDown() override {
        if (skel_ && skel_ != shared_)
            sipalg_bpf__destroy(skel_);
    }

    sipalg_config default_config(bool enabled) const { return topology_config(topo_, enabled); }

    // The entry `key` of `map` set to `v`.
    template <class K, class V>
    void write_entry(bpf_map *map, const K &key, const V &v) {
        ASSERT_EQ(bpf_map__update_elem(map, &key, sizeof(key), &v, sizeof(v), BPF_ANY), 0);
    }
    // Element `key` of the array `map` set to `v`.
    template <class V>
    void write_element(bpf_map *map, __u32 key, const V &v) {
        write_entry(map, key, v);
    }
    void write_config(const sipalg_config &c) {
        write_element(skel_->maps.sipalg_config, SIPALG_CONFIG_KEY, c);
    }
    // The LAN port XDP program's setup: the WAN accepts XDP frames, lan0 is its own port.
    void use_lan_port_xdp(std::uint8_t port_flags) {
        sipalg_config c = default_config(true);
        c.xdp_flags = SIPALG_XDP_WAN_XMIT;
        write_config(c);
        write_element(skel_->maps.sipalg_brports, topo_.lan_ifindex,
                      topology_lan_port(topo_, port_flags));
    }
    void write_limits(const sipalg_limits &l) {
        write_element(skel_->maps.sipalg_limits, SIPALG_LIMITS_KEY, l);
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
        return admin(pinhole_open_request(priv_ip, priv_port, remote, remote_port, want));
    }

    // f(key, value) for every entry of the hash `map` (keys K, values V) that is there when
    // it is looked up.
    template <class K, class V, class F>
    static void for_each_entry(const bpf_map *map, F f) {
        K k{}, next{};
        const void *prev = nullptr;
        while (bpf_map__get_next_key(map, prev, &next, sizeof(next)) == 0) {
            V v{};
            if (bpf_map__lookup_elem(map, &next, sizeof(next), &v, sizeof(v), 0) == 0)
                f(next, v);
            k = next;
            prev = &k;
        }
    }
    // The entry of `map` (keyed by a LAN socket) for ip:port, if there is one.
    template <class V>
    static std::optional<V> socket_entry(const bpf_map *map, const char *ip, std::uint16_t port) {
        sipalg_endpoint ep{be32(ip), htons(port), 0};
        V v{};
        if (bpf_map__lookup_elem(map, &ep, sizeof(ep), &v, sizeof(v), 0))
            return std::nullopt;
        return v;
    }
    std::optional<sipalg_binding> binding(const char *ip, std::uint16_t port) const {
        return socket_entry<sipalg_binding>(skel_->maps.sipalg_binds, ip, port);
    }
    std::optional<sipalg_pinhole> pinhole(const char *ip, std::uint16_t port) const {
        return socket_entry<sipalg_pinhole>(skel_->maps.sipalg_pins, ip, port);
    }
    // Element `key` of the array `map` (which has it: a failed lookup fails the test).
    template <class V>
    static V element(const bpf_map *map, __u32 key) {
        V v{};
        EXPECT_EQ(bpf_map__lookup_elem(map, &key, sizeof(key), &v, sizeof(v), 0), 0);
        return v;
    }
    sipalg_slot slot(std::uint16_t public_port) const {
        return element<sipalg_slot>(skel_->maps.sipalg_slots, public_port);
    }
    sipalg_state state() const {
        return element<sipalg_state>(skel_->maps.sipalg_state, SIPALG_STATE_KEY);
    }

    // Phone 1's REGISTER from 5060 (sip_register), forwarded: binding 192.168.1.10:5060 <-> 5060.
    void register_phone1() {
        ASSERT_EQ(run_lan(build_udp_frame(phone_register(net::kPhone1, net::kPhone1Mac, 5060))).ret,
                  TC_ACT_REDIRECT);
    }

    // `r` is `f` handed on as it came: verdict `ret`, not a byte changed.
    static void expect_untouched(const RunResult &r, const std::vector<std::uint8_t> &f,
                                 std::uint32_t ret = TC_ACT_OK) {
        EXPECT_EQ(r.ret, ret);
        EXPECT_EQ(r.out, f);
    }

    // `out` is exactly the frame `want` and its UDP checksum verifies.
    static void expect_frame(const std::vector<std::uint8_t> &out, const UdpFrameSpec &want) {
        const auto expected = build_udp_frame(want);
        EXPECT_EQ(out, expected) << first_diff(out, expected);
        EXPECT_TRUE(udp_checksum_ok(out));
    }

  public:
    // Frames as they are on the wire in the test topology.
    static UdpFrameSpec from_phone(const char *phone, const Mac &mac, std::uint16_t sport,
                                   const char *dst, std::uint16_t dport, std::string payload) {
        UdpFrameSpec s = udp_spec(phone, sport, dst, dport, std::move(payload));
        s.src_mac = mac;
        s.dst_mac = net::kLanMac;
        return s;
    }
    // The phone's REGISTER (sip_register) from `port` to the registrar.
    static UdpFrameSpec phone_register(const char *phone, const Mac &mac, std::uint16_t port) {
        return from_phone(phone, mac, port, net::kRegistrar, 5060,
                          sip_register(phone, port, net::kRegistrar));
    }
    static UdpFrameSpec from_internet(const char *src, std::uint16_t sport, std::uint16_t dport,
                                      std::string payload) {
        UdpFrameSpec s = udp_spec(src, sport, net::kPublicIp, dport, std::move(payload));
        s.src_mac = net::kGatewayMac;
        s.dst_mac = net::kWanMac;
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

  protected:
    net::Topology topo_;
    sipalg_bpf *skel_ = nullptr;
    // The object a SharedDatapath suite loaded for all its tests (null: each test loads its own).
    static inline sipalg_bpf *shared_ = nullptr;
};

// A suite whose tests share one loaded object, its maps reset before each test to the state a
// fresh load leaves (reset_maps): the verifier's seconds are paid once a suite, not once a test.
// If the load fails here, each test loads on its own and reports why.
class SharedDatapath : public Datapath {
  public:
    static void SetUpTestSuite() {
        libbpf_set_print(quiet_libbpf);
        if (geteuid() == 0)
            shared_ = sipalg_bpf__open_and_load();
    }
    static void TearDownTestSuite() {
        if (shared_)
            sipalg_bpf__destroy(shared_);
        shared_ = nullptr;
    }
};

// Every `from` in s replaced by `to`: expected payloads after the ALG's rewrite.
inline std::string replace_all(std::string s, const std::string &from, const std::string &to) {
    for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size()))
        s.replace(at, from.size(), to);
    return s;
}

// `sip` with a header that takes it past the in-kernel limit (2048 bytes).
inline std::string oversize(std::string sip) {
    sip.insert(sip.size() - 2, "X-Pad: " + std::string(2100, 'p') + "\r\n");
    return sip;
}

// The frame as the router sends it, with the payload rewritten too.
inline UdpFrameSpec with_payload(UdpFrameSpec s, std::string payload) {
    s.payload = std::move(payload);
    return s;
}

} // namespace sipalg::test
