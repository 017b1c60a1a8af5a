// What the fast path does not own or cannot finish passes untouched: everything while
// disabled, IP fragments, SIP over TCP, oversize SIP, malformed and truncated frames.
#include "datapath.hpp"
#include "frames.hpp"

#include <cstdlib>

using namespace sipalg::test;

namespace {

class SlowPath : public SharedDatapath {
  protected:
    std::vector<std::uint8_t> sip_out_frame() const {
        return build_udp_frame(phone_register(net::kPhone1, net::kPhone1Mac, 5060));
    }
    std::vector<std::uint8_t> rtp_in_frame() const {
        return build_udp_frame(from_internet(net::kRemote, 50000, 40000, rtp_payload()));
    }
    std::vector<std::uint8_t> sip_in_frame() const {
        return build_udp_frame(
                from_internet(net::kRegistrar, 5060, 5060, "OPTIONS sip:x SIP/2.0\r\n\r\n"));
    }
    std::vector<std::uint8_t> rtp_out_frame() const {
        return build_udp_frame(from_phone(net::kPhone1, net::kPhone1Mac, 40000, net::kRemote, 50000,
                                          rtp_payload()));
    }
    // Every program leaves `f` alone (LAN and WAN side).
    void expect_untouched_everywhere(const std::vector<std::uint8_t> &f, const std::string &what) {
        RunResult r = run_xdp(f);
        EXPECT_EQ(r.ret, XDP_PASS) << what << " (xdp)";
        EXPECT_EQ(r.out, f) << what << " (xdp)";
        EXPECT_TRUE(r.meta.empty()) << what << " (xdp)";
        // BPF_PROG_TEST_RUN refuses skbs whose IPv4 header is cut short (-EINVAL), so the
        // kernel never shows such frames to the tc programs; XDP above does see them.
        const bool ipv4 = f.size() >= kEthLen && f[12] == 0x08 && f[13] == 0x00;
        if (ipv4 && f.size() < kEthLen + kIpv4Len)
            return;
        r = run_lan(f);
        EXPECT_EQ(r.ret, TC_ACT_OK) << what << " (lan)";
        EXPECT_EQ(r.out, f) << what << " (lan)";
        r = run_wan_in(f);
        EXPECT_EQ(r.ret, TC_ACT_OK) << what << " (wan_in)";
        EXPECT_EQ(r.out, f) << what << " (wan_in)";
        r = run_wan_out(f);
        EXPECT_EQ(r.ret, TC_ACT_OK) << what << " (wan egress)";
        EXPECT_EQ(r.out, f) << what << " (wan egress)";
    }
    void make_state() {
        ASSERT_EQ(run_lan(sip_out_frame()).ret, TC_ACT_REDIRECT);
        ASSERT_EQ(open_pinhole(net::kPhone1, 40000, net::kRemote, 50000).result, 0);
    }
};

TEST_F(SlowPath, DisabledTouchesNothingAndKeepsState) {
    make_state();
    set_enabled(false);
    // Outbound, and inbound to ports the ALG does not own, pass untouched everywhere.
    const auto unowned_in =
            build_udp_frame(from_internet(net::kRemote, 50000, 40002, rtp_payload()));
    const auto out_of_scope =
            build_udp_frame(from_internet(net::kRegistrar, 50000, 40000, rtp_payload()));
    for (const auto &f : {sip_out_frame(), rtp_out_frame(), unowned_in, out_of_scope})
        expect_untouched_everywhere(f, "disabled");
    EXPECT_EQ(counter(SIPALG_CTR_LAN_ALG_OFF), 4u);
    EXPECT_EQ(counter(SIPALG_CTR_XDP_ALG_OFF), 4u);
    EXPECT_EQ(counter(SIPALG_CTR_HELD_OFF), 0u);
    // State survives; enabling again forwards at once.
    EXPECT_TRUE(binding(net::kPhone1, 5060));
    EXPECT_TRUE(pinhole(net::kPhone1, 40000));
    set_enabled(true);
    EXPECT_EQ(run_lan(rtp_out_frame()).ret, TC_ACT_REDIRECT);
    EXPECT_EQ(run_wan_in(rtp_in_frame()).ret, TC_ACT_REDIRECT);
    EXPECT_EQ(run_xdp(rtp_in_frame()).meta.size(), 16u);
}

// See bpf/handover.bpf.h: inbound packets of the ALG's flows wait for plain NAT's mapping
// while disabled, instead of making conntrack pin their public port to the router itself.
TEST_F(SlowPath, DisabledHoldsInboundOfOwnedFlowsUntilConntrackKnowsThem) {
    make_state();
    set_enabled(false);
    for (const auto &f : {rtp_in_frame(), sip_in_frame()}) {
        EXPECT_EQ(run_xdp(f).ret, XDP_PASS);
        RunResult r = run_wan_in(f);
        EXPECT_EQ(r.ret, TC_ACT_SHOT);
        EXPECT_EQ(r.out, f); // dropped, not modified
    }
    EXPECT_EQ(counter(SIPALG_CTR_HELD_OFF), 2u);

    // The phone's next packet through masquerade makes conntrack know the flow (inserted
    // here as masquerade would leave it): from then on the packets pass as plain NAT's.
    const std::string cmd = std::string("conntrack -I -p udp -s ") + net::kPhone1 + " -d " +
                            net::kRemote + " --sport 40000 --dport 50000 --reply-src " +
                            net::kRemote + " --reply-dst " + net::kPublicIp +
                            " --reply-port-src 50000 --reply-port-dst 40000 -t 30 >/dev/null 2>&1";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
    expect_untouched(run_wan_in(rtp_in_frame()), rtp_in_frame());
    EXPECT_EQ(counter(SIPALG_CTR_HELD_OFF), 2u);
}

TEST_F(SlowPath, FirstFragmentsOfSipAndPinholeTrafficAreCounted) {
    make_state();
    expect_untouched_everywhere(as_fragment(sip_out_frame(), true, 0), "sip out first fragment");
    expect_untouched_everywhere(as_fragment(rtp_in_frame(), true, 0), "rtp in first fragment");
    expect_untouched_everywhere(as_fragment(sip_in_frame(), true, 0), "sip in first fragment");
    EXPECT_EQ(counter(SIPALG_CTR_SLOW_FRAGMENT), 3u);
    // Later fragments carry no ports: nothing to tell, nothing touched.
    expect_untouched_everywhere(as_fragment(sip_out_frame(), false, 185), "last fragment");
    expect_untouched_everywhere(as_fragment(rtp_in_frame(), true, 3), "middle fragment");
    EXPECT_EQ(counter(SIPALG_CTR_SLOW_FRAGMENT), 3u);
}

TEST_F(SlowPath, SipOverTcpIsCounted) {
    make_state();
    expect_untouched_everywhere(with_protocol(sip_out_frame(), 6), "tcp out");
    expect_untouched_everywhere(with_protocol(sip_in_frame(), 6), "tcp in");
    EXPECT_EQ(counter(SIPALG_CTR_SLOW_TCP), 2u);
    // The WAN egress guard counts SIP leaving the WAN that the ALG did not NAT.
    EXPECT_EQ(counter(SIPALG_CTR_WAN_SIP_UNOWNED), 2u);
}

// With the daemon attached, a phone's TCP connection to a SIP server is marked for its
// transparent proxy; nothing else TCP is, and the proxy's own upstream connection (from the
// public address and the phone's binding port) counts as the ALG's SIP on the WAN.
TEST_F(SlowPath, SipOverTcpToAServerIsMarkedForTheAttachedDaemon) {
    make_state();
    sipalg_admin beat{};
    beat.op = SIPALG_OP_DAEMON_BEAT;
    beat.arg = 0x51a1;
    ASSERT_EQ(admin(beat).result, 0);

    const auto to_server = with_protocol(sip_out_frame(), 6);
    RunResult r = run_lan(to_server);
    EXPECT_EQ(r.ret, TC_ACT_OK);
    EXPECT_EQ(r.out, to_server);
    EXPECT_EQ(r.mark, 0x51a1u);
    const auto served = with_protocol(
            build_udp_frame(from_phone(net::kPhone1, net::kPhone1Mac, 5060, net::kRegistrar, 40000,
                                       "SIP/2.0 200 OK\r\n\r\n")),
            6);
    r = run_lan(served);
    EXPECT_EQ(r.out, served);
    EXPECT_EQ(r.mark, 0u);
    r = run_wan_in(with_protocol(sip_in_frame(), 6));
    EXPECT_EQ(r.ret, TC_ACT_OK);
    EXPECT_EQ(r.mark, 0u);
    EXPECT_EQ(counter(SIPALG_CTR_DAEMON_HANDED), 1u);
    EXPECT_EQ(counter(SIPALG_CTR_SLOW_TCP), 3u);

    const auto b = binding(net::kPhone1, 5060);
    ASSERT_TRUE(b);
    UdpFrameSpec up = from_phone(net::kPhone1, net::kPhone1Mac, 5060, net::kRegistrar, 5060,
                                 sip_register(net::kPublicIp, b->public_port, net::kRegistrar));
    up.src_ip = ipv4_addr(net::kPublicIp);
    up.src_port = b->public_port;
    EXPECT_EQ(run_wan_out(with_protocol(build_udp_frame(up), 6)).ret, TC_ACT_OK);
    EXPECT_EQ(counter(SIPALG_CTR_WAN_SIP_UNOWNED), 0u);

    // Once the heartbeat stops, nothing is marked: the connection is plain NAT's.
    beat.arg = 0;
    ASSERT_EQ(admin(beat).result, 0);
    EXPECT_EQ(run_lan(to_server).mark, 0u);
}

TEST_F(SlowPath, OversizeSipIsCountedAndNotBound) {
    const std::string big = oversize(sip_register(net::kPhone1, 5062, net::kRegistrar));
    const auto f = build_udp_frame(
            from_phone(net::kPhone1, net::kPhone1Mac, 5062, net::kRegistrar, 5060, big));
    expect_untouched(run_lan(f), f);
    EXPECT_EQ(counter(SIPALG_CTR_SLOW_TOO_LARGE), 1u);
    EXPECT_FALSE(binding(net::kPhone1, 5062));

    make_state();
    const auto in = build_udp_frame(from_internet(net::kRegistrar, 5060, 5060, big));
    expect_untouched(run_wan_in(in), in);
    EXPECT_EQ(counter(SIPALG_CTR_SLOW_TOO_LARGE), 2u);
}

TEST_F(SlowPath, InconsistentLengthsPassUntouched) {
    make_state();
    expect_untouched_everywhere(with_udp_len(sip_out_frame(), 20), "udp len short");
    expect_untouched_everywhere(with_udp_len(rtp_in_frame(), 4000), "udp len long");
    EXPECT_GE(counter(SIPALG_CTR_MALFORMED), 4u);
}

TEST_F(SlowPath, TruncatedFramesPassUntouched) {
    make_state();
    for (const auto &full : {sip_out_frame(), rtp_in_frame(), sip_in_frame(), rtp_out_frame()}) {
        // Every cut through Ethernet, IPv4 and UDP headers, and a few into the payload.
        for (size_t len = kEthLen; len < kEthLen + kIpv4Len + kUdpLen + 16; ++len) {
            const std::vector<std::uint8_t> f(full.begin(), full.begin() + static_cast<long>(len));
            expect_untouched_everywhere(f, "truncated to " + std::to_string(len));
        }
    }
    EXPECT_EQ(counter(SIPALG_CTR_SIP_OUT), 1u); // only make_state's REGISTER
    EXPECT_EQ(counter(SIPALG_CTR_MEDIA_IN), 0u);
}

TEST_F(SlowPath, NonIpv4FramesPassUntouched) {
    auto arp = rtp_in_frame();
    arp[12] = 0x08;
    arp[13] = 0x06;
    expect_untouched_everywhere(arp, "arp");
    auto v6 = rtp_in_frame();
    v6[12] = 0x86;
    v6[13] = 0xdd;
    expect_untouched_everywhere(v6, "ipv6 ethertype");
}

} // namespace
