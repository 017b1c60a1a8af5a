// Hairpinning (RFC 4787 REQ-9): two LAN phones in a call through an outside server send their
// media to the router's public address, each to the other's pinhole port. The LAN ingress
// program NATs such a packet back into the LAN when the destination pinhole admits it exactly as
// it would admit a packet from the Internet from the sender's public address; anything else
// passes to the stack untouched.
#include "datapath.hpp"

using namespace sipalg::test;

namespace {

// expect_passed: no reason counted, only lan_pass.
constexpr enum sipalg_counter kNoReason = SIPALG_CTR_COUNT;

class Hairpin : public SharedDatapath {
  protected:
    // Both phones' media sockets are 40000; each pinhole is scoped to the public address (where
    // the other's rewritten SDP says it receives), the port latched by the first packet.
    void configure() override {
        set_clock(100);
        port1_ = open_pinhole(net::kPhone1, 40000, net::kPublicIp, 0).public_port;
        port2_ = open_pinhole(net::kPhone2, 40000, net::kPublicIp, 0).public_port;
        ASSERT_EQ(port1_, 40000);
        ASSERT_NE(port2_, 0);
        ASSERT_NE(port2_, port1_);
    }

    // Phone `from` sends RTP from 40000 to the public address, port `dport`.
    static UdpFrameSpec rtp_to_public(const char *from, const Mac &mac, std::uint16_t dport,
                                      std::uint16_t seq = 1) {
        return from_phone(from, mac, 40000, net::kPublicIp, dport, rtp_payload(seq));
    }
    // What phone `to` receives: from the sender's public port, to its own socket, TTL - 1,
    // from the router's LAN MAC to the phone's.
    static UdpFrameSpec hairpinned(UdpFrameSpec s, std::uint16_t sender_public, const char *to,
                                   const Mac &to_mac) {
        s.src_ip = ipv4_addr(net::kPublicIp);
        s.src_port = sender_public;
        s = dnat_expected(s, to, to_mac, 40000);
        return s;
    }
    // `f` went to the stack as it came, counted as lan_pass (and `why`, unless kNoReason); nothing
    // hairpinned.
    void expect_passed(const std::vector<std::uint8_t> &f, enum sipalg_counter why) {
        expect_untouched(run_lan(f), f);
        EXPECT_EQ(counter(SIPALG_CTR_LAN_PASS), 1u);
        for (enum sipalg_counter c :
             {SIPALG_CTR_SCOPE_MISS, SIPALG_CTR_PIN_PENDING, SIPALG_CTR_NO_ROUTE,
              SIPALG_CTR_TTL_EXCEEDED, SIPALG_CTR_LAN_ALG_OFF})
            EXPECT_EQ(counter(c), c == why ? 1u : 0u) << "counter " << c;
        EXPECT_EQ(counter(SIPALG_CTR_MEDIA_HAIRPIN), 0u);
        EXPECT_EQ(counter(SIPALG_CTR_MEDIA_OUT), 0u);
    }

    std::uint16_t port1_ = 0, port2_ = 0;
};

TEST_F(Hairpin, BothDirectionsOfACallAreNatedBackIntoTheLanExactly) {
    set_clock(130);
    const UdpFrameSpec a = rtp_to_public(net::kPhone1, net::kPhone1Mac, port2_, 7);
    RunResult r = run_lan(build_udp_frame(a));
    EXPECT_EQ(r.ret, TC_ACT_REDIRECT);
    expect_frame(r.out, hairpinned(a, port1_, net::kPhone2, net::kPhone2Mac));
    EXPECT_TRUE(ipv4_checksum_ok(r.out));
    // Phone 2's pinhole latched on to phone 1's public port, as on a packet from the Internet.
    EXPECT_EQ(slot(port2_).remote_port, htons(port1_));

    const UdpFrameSpec b = rtp_to_public(net::kPhone2, net::kPhone2Mac, port1_, 9);
    r = run_lan(build_udp_frame(b));
    EXPECT_EQ(r.ret, TC_ACT_REDIRECT);
    expect_frame(r.out, hairpinned(b, port2_, net::kPhone1, net::kPhone1Mac));
    EXPECT_TRUE(ipv4_checksum_ok(r.out));
    EXPECT_EQ(slot(port1_).remote_port, htons(port2_));

    EXPECT_EQ(counter(SIPALG_CTR_MEDIA_HAIRPIN), 2u);
    EXPECT_EQ(counter(SIPALG_CTR_MEDIA_OUT), 0u);
    EXPECT_EQ(counter(SIPALG_CTR_MEDIA_IN), 0u);
    EXPECT_EQ(counter(SIPALG_CTR_LAN_PASS), 0u);
    // Both pinholes were seen: neither ages out while the call's media hairpins.
    EXPECT_EQ(slot(port1_).stamp, 130u);
    EXPECT_EQ(slot(port2_).stamp, 130u);
}

TEST_F(Hairpin, TtlAndChecksumsFollowTheSendersFrame) {
    UdpFrameSpec a = rtp_to_public(net::kPhone1, net::kPhone1Mac, port2_, 0xbeef);
    a.ttl = 2;
    a.ip_id = 0xfedc;
    const RunResult r = run_lan(build_udp_frame(a));
    EXPECT_EQ(r.ret, TC_ACT_REDIRECT);
    expect_frame(r.out, hairpinned(a, port1_, net::kPhone2, net::kPhone2Mac));
    EXPECT_TRUE(ipv4_checksum_ok(r.out));
}

TEST_F(Hairpin, APinholeScopedToAnotherRemoteDoesNotAdmitIt) {
    ASSERT_EQ(open_pinhole(net::kPhone2, 40000, net::kRemote, 0).public_port, port2_);
    expect_passed(build_udp_frame(rtp_to_public(net::kPhone1, net::kPhone1Mac, port2_)),
                  SIPALG_CTR_SCOPE_MISS);
}

TEST_F(Hairpin, APinholeLatchedOnToOnePublicPortDoesNotAdmitAnother) {
    ASSERT_EQ(run_lan(build_udp_frame(rtp_to_public(net::kPhone1, net::kPhone1Mac, port2_))).ret,
              TC_ACT_REDIRECT);
    // Another pinholed socket of phone 1 comes second to phone 2's pinhole.
    const std::uint16_t other = open_pinhole(net::kPhone1, 40002, net::kPublicIp, 0).public_port;
    ASSERT_NE(other, 0);
    const auto f = build_udp_frame(
            from_phone(net::kPhone1, net::kPhone1Mac, 40002, net::kPublicIp, port2_, "rtp"));
    expect_untouched(run_lan(f), f);
    EXPECT_EQ(counter(SIPALG_CTR_SCOPE_MISS), 1u);
    EXPECT_EQ(counter(SIPALG_CTR_MEDIA_HAIRPIN), 1u);
}

TEST_F(Hairpin, APinholeWithoutARemoteAdmitsNothing) {
    const std::uint16_t pending = open_pinhole(net::kPhone2, 40004, nullptr, 0).public_port;
    ASSERT_NE(pending, 0);
    expect_passed(build_udp_frame(rtp_to_public(net::kPhone1, net::kPhone1Mac, pending)),
                  SIPALG_CTR_PIN_PENDING);
    EXPECT_EQ(slot(pending).remote_port, 0);
}

TEST_F(Hairpin, NoPinholeAtTheDestinationPortPassesUncounted) {
    expect_passed(build_udp_frame(rtp_to_public(net::kPhone1, net::kPhone1Mac, 33333)), kNoReason);
}

TEST_F(Hairpin, ABindingAtTheDestinationPortIsNotHairpinned) {
    ASSERT_NO_FATAL_FAILURE(register_phone1());
    const std::uint16_t bport = binding(net::kPhone1, 5060)->public_port;
    const UdpFrameSpec f = rtp_to_public(net::kPhone2, net::kPhone2Mac, bport);
    const auto before = counter(SIPALG_CTR_LAN_PASS);
    expect_untouched(run_lan(build_udp_frame(f)), build_udp_frame(f));
    EXPECT_EQ(counter(SIPALG_CTR_LAN_PASS), before + 1);
    EXPECT_EQ(counter(SIPALG_CTR_MEDIA_HAIRPIN), 0u);
    EXPECT_EQ(counter(SIPALG_CTR_SCOPE_MISS), 0u);
}

TEST_F(Hairpin, NothingIsHairpinnedWhileTheAlgIsDisabled) {
    set_enabled(false);
    expect_passed(build_udp_frame(rtp_to_public(net::kPhone1, net::kPhone1Mac, port2_)),
                  SIPALG_CTR_LAN_ALG_OFF);
    EXPECT_EQ(slot(port2_).remote_port, 0);
}

TEST_F(Hairpin, LastHopTtlGoesToTheStack) {
    UdpFrameSpec a = rtp_to_public(net::kPhone1, net::kPhone1Mac, port2_);
    a.ttl = 1;
    expect_passed(build_udp_frame(a), SIPALG_CTR_TTL_EXCEEDED);
}

// With the LAN port XDP program on lan0 (the WAN accepts XDP frames; lan0 is its own port).
class HairpinLanXdp : public Hairpin {
  protected:
    void configure() override {
        use_lan_port_xdp(SIPALG_IFACE_XDP_XMIT);
        Hairpin::configure();
    }
    RunResult run_lan_xdp(const std::vector<std::uint8_t> &in) {
        return run_xdp_on(skel_->progs.sipalg_lan_port_xdp, in, topo_.lan_ifindex);
    }
};

TEST_F(HairpinLanXdp, XdpLeavesItToTcThoughTheSocketsInternetRouteIsCached) {
    // Phone 1's media socket has sent to the Internet: its route to the WAN is cached.
    const auto out = build_udp_frame(
            from_phone(net::kPhone1, net::kPhone1Mac, 40000, net::kRemote, 50000, rtp_payload()));
    ASSERT_EQ(run_lan_xdp(out).ret, XDP_REDIRECT);

    const auto f = build_udp_frame(rtp_to_public(net::kPhone1, net::kPhone1Mac, port2_, 2));
    expect_untouched(run_lan_xdp(f), f, XDP_PASS);
    EXPECT_EQ(counter(SIPALG_CTR_XDP_OUT), 1u);
    EXPECT_EQ(counter(SIPALG_CTR_MEDIA_OUT), 1u);
}

TEST_F(HairpinLanXdp, TheHairpinGoesToThePortAndMacXdpLearned) {
    // Phone 2's media, from a MAC the neighbour table does not know, passes XDP, which learns
    // where phone 2 is; tc hairpins it to phone 1.
    const Mac learned{0x02, 0x00, 0x00, 0x00, 0x01, 0x98};
    const auto b = build_udp_frame(rtp_to_public(net::kPhone2, learned, port1_, 3));
    expect_untouched(run_lan_xdp(b), b, XDP_PASS);
    ASSERT_EQ(run_lan(b).ret, TC_ACT_REDIRECT);

    const UdpFrameSpec a = rtp_to_public(net::kPhone1, net::kPhone1Mac, port2_, 4);
    const RunResult r = run_lan(build_udp_frame(a));
    EXPECT_EQ(r.ret, TC_ACT_REDIRECT);
    expect_frame(r.out, hairpinned(a, port1_, net::kPhone2, learned));
    EXPECT_EQ(counter(SIPALG_CTR_MEDIA_HAIRPIN), 2u);
}

} // namespace
