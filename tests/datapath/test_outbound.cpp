// LAN -> WAN through the LAN ingress tc program: bindings created by outbound SIP (port
// preserving, distinct ports for phones sharing a private port), SNAT of SIP and of media
// through a pinhole, and the exact frame that leaves by the WAN.
#include "datapath.hpp"

using namespace sipalg::test;
using sipalg::test::net::kGatewayMac;

namespace {

class Outbound : public SharedDatapath {};

std::vector<std::uint8_t> sip_from(const char *phone, const Mac &mac, std::uint16_t port) {
    return build_udp_frame(Datapath::phone_register(phone, mac, port));
}

TEST_F(Outbound, RegisterCreatesPortPreservingBindingAndIsSnatedExactly) {
    set_clock(100);
    const UdpFrameSpec in = phone_register(net::kPhone1, net::kPhone1Mac, 5060);
    const RunResult r = run_lan(build_udp_frame(in));

    EXPECT_EQ(r.ret, TC_ACT_REDIRECT);
    // Via and Contact name the phone's socket: now the public address and the binding's port;
    // the Call-ID's host (the phone's address) the public address.
    const auto expected = build_udp_frame(with_payload(
            snat_expected(in, 5060),
            replace_all(replace_all(in.payload, "192.168.1.10:5060", "203.0.113.1:5060"),
                        "tn@192.168.1.10", "tn@203.0.113.1")));
    EXPECT_EQ(r.out, expected) << first_diff(r.out, expected);
    EXPECT_TRUE(ipv4_checksum_ok(r.out));
    EXPECT_TRUE(udp_checksum_ok(r.out));

    const auto b = binding(net::kPhone1, 5060);
    ASSERT_TRUE(b);
    EXPECT_EQ(b->public_port, 5060);
    EXPECT_EQ(b->lifetime_s, 3600u); // REGISTER: the registration default
    EXPECT_EQ(b->flags & SIPALG_BIND_REGISTER, SIPALG_BIND_REGISTER);
    const sipalg_slot s = slot(5060);
    EXPECT_EQ(s.state, unsigned(SIPALG_SLOT_BINDING));
    EXPECT_EQ(s.priv_ip, be32(net::kPhone1));
    EXPECT_EQ(s.priv_port, htons(5060));
    EXPECT_EQ(s.stamp, 100u + 3600u);
    EXPECT_EQ(counter(SIPALG_CTR_BIND_CREATED), 1u);
    EXPECT_EQ(counter(SIPALG_CTR_SIP_OUT), 1u);
    EXPECT_EQ(counter(SIPALG_CTR_SIP_REWRITTEN), 1u);
    EXPECT_EQ(state().bindings, 1u);
}

TEST_F(Outbound, SecondPhoneWithTheSamePortGetsAnotherPublicPort) {
    run_lan(sip_from(net::kPhone1, net::kPhone1Mac, 5060));
    const UdpFrameSpec in2 = from_phone(net::kPhone2, net::kPhone2Mac, 5060, net::kRegistrar, 5060,
                                        sip_register(net::kPhone2, 5060, net::kRegistrar));
    const RunResult r = run_lan(build_udp_frame(in2));
    ASSERT_EQ(r.ret, TC_ACT_REDIRECT);

    const auto b1 = binding(net::kPhone1, 5060);
    const auto b2 = binding(net::kPhone2, 5060);
    ASSERT_TRUE(b1 && b2);
    EXPECT_EQ(b1->public_port, 5060);
    EXPECT_NE(b2->public_port, 5060);
    EXPECT_GE(b2->public_port, 1024);
    expect_frame(
            r.out,
            with_payload(snat_expected(in2, b2->public_port),
                         replace_all(replace_all(in2.payload, "192.168.1.11:5060",
                                                 "203.0.113.1:" + std::to_string(b2->public_port)),
                                     "tn@192.168.1.11", "tn@203.0.113.1")));
    EXPECT_EQ(slot(b2->public_port).priv_ip, be32(net::kPhone2));
    EXPECT_EQ(state().bindings, 2u);
}

TEST_F(Outbound, RepeatedSipRefreshesTheSameBinding) {
    set_clock(10);
    run_lan(sip_from(net::kPhone1, net::kPhone1Mac, 5060));
    set_clock(50);
    // An INVITE-like message (not REGISTER) extends, never shortens, the registration.
    const auto f =
            build_udp_frame(from_phone(net::kPhone1, net::kPhone1Mac, 5060, net::kRegistrar, 5060,
                                       "OPTIONS sip:x SIP/2.0\r\nContent-Length: 0\r\n\r\n"));
    EXPECT_EQ(run_lan(f).ret, TC_ACT_REDIRECT);
    EXPECT_EQ(counter(SIPALG_CTR_BIND_CREATED), 1u);
    EXPECT_EQ(counter(SIPALG_CTR_BIND_REFRESHED), 1u);
    EXPECT_EQ(slot(5060).stamp, 10u + 3600u);
    run_lan(sip_from(net::kPhone1, net::kPhone1Mac, 5060)); // re-REGISTER: new expiry
    EXPECT_EQ(slot(5060).stamp, 50u + 3600u);
}

TEST_F(Outbound, NonRegisterSipGetsTheShortDefaultLifetime) {
    set_clock(7);
    const auto f =
            build_udp_frame(from_phone(net::kPhone1, net::kPhone1Mac, 5062, net::kRegistrar, 5060,
                                       "INVITE sip:2001@x SIP/2.0\r\nContent-Length: 0\r\n\r\n"));
    EXPECT_EQ(run_lan(f).ret, TC_ACT_REDIRECT);
    const auto b = binding(net::kPhone1, 5062);
    ASSERT_TRUE(b);
    EXPECT_EQ(b->lifetime_s, 300u);
    EXPECT_EQ(b->flags & SIPALG_BIND_REGISTER, 0);
    EXPECT_EQ(slot(b->public_port).stamp, 7u + 300u);
}

TEST_F(Outbound, SipFromABoundSocketToAnotherPortUsesTheBinding) {
    run_lan(sip_from(net::kPhone1, net::kPhone1Mac, 5060));
    // A response to a proxy that sent from port 5080: not to a SIP port, but from the binding.
    const UdpFrameSpec in = from_phone(net::kPhone1, net::kPhone1Mac, 5060, net::kRegistrar, 5080,
                                       "SIP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n");
    const RunResult r = run_lan(build_udp_frame(in));
    EXPECT_EQ(r.ret, TC_ACT_REDIRECT);
    EXPECT_EQ(r.out, build_udp_frame(snat_expected(in, 5060)));
    EXPECT_EQ(counter(SIPALG_CTR_SIP_OUT), 2u);
}

TEST_F(Outbound, RtpThroughPinholeIsSnatedExactly) {
    set_clock(20);
    const sipalg_admin a = open_pinhole(net::kPhone1, 40000, net::kRemote, 50000);
    ASSERT_EQ(a.result, 0);
    ASSERT_EQ(a.public_port, 40000); // port preserving
    set_clock(25);
    const UdpFrameSpec in =
            from_phone(net::kPhone1, net::kPhone1Mac, 40000, net::kRemote, 50000, rtp_payload());
    const RunResult r = run_lan(build_udp_frame(in));

    EXPECT_EQ(r.ret, TC_ACT_REDIRECT);
    expect_frame(r.out, snat_expected(in, 40000));
    EXPECT_EQ(counter(SIPALG_CTR_MEDIA_OUT), 1u);
    EXPECT_EQ(slot(40000).stamp, 25u); // last seen
}

TEST_F(Outbound, RtpFromAPinholeWhosePortWasTakenUsesItsOwnPublicPort) {
    ASSERT_EQ(open_pinhole(net::kPhone1, 40000, net::kRemote, 50000).result, 0);
    const sipalg_admin a = open_pinhole(net::kPhone2, 40000, net::kRemote, 50002);
    ASSERT_EQ(a.result, 0);
    ASSERT_NE(a.public_port, 40000);
    const UdpFrameSpec in =
            from_phone(net::kPhone2, net::kPhone2Mac, 40000, net::kRemote, 50002, rtp_payload(7));
    const RunResult r = run_lan(build_udp_frame(in));
    EXPECT_EQ(r.ret, TC_ACT_REDIRECT);
    EXPECT_EQ(r.out, build_udp_frame(snat_expected(in, a.public_port)));
}

TEST_F(Outbound, UnresolvedNextHopGoesThroughRedirectNeigh) {
    // The gateway's neighbour entry is what gives the MACs; without it bpf_redirect_neigh
    // resolves the next hop, so the MACs are left for the kernel to fill in.
    ASSERT_EQ(std::system("PATH=$PATH:/usr/sbin ip neigh del 203.0.113.2 dev wan0"), 0);
    const UdpFrameSpec in =
            from_phone(net::kPhone1, net::kPhone1Mac, 40000, net::kRemote, 50000, rtp_payload());
    ASSERT_EQ(open_pinhole(net::kPhone1, 40000, net::kRemote, 50000).result, 0);
    const RunResult r = run_lan(build_udp_frame(in));
    ASSERT_EQ(std::system("PATH=$PATH:/usr/sbin ip neigh replace 203.0.113.2 lladdr "
                          "02:00:00:00:0a:02 dev wan0 nud permanent"),
              0);
    EXPECT_EQ(r.ret, TC_ACT_REDIRECT);
    UdpFrameSpec want = snat_expected(in, 40000);
    want.src_mac = in.src_mac;
    want.dst_mac = in.dst_mac;
    EXPECT_EQ(r.out, build_udp_frame(want));
}

TEST_F(Outbound, NonSipUdpPassesUntouched) {
    const auto f = build_udp_frame(
            from_phone(net::kPhone1, net::kPhone1Mac, 33333, net::kRemote, 53, "dns-ish"));
    expect_untouched(run_lan(f), f);
    EXPECT_EQ(counter(SIPALG_CTR_LAN_PASS), 1u);
    EXPECT_FALSE(binding(net::kPhone1, 33333));
}

TEST_F(Outbound, SipThatIsNotRoutedOutOfTheWanPassesUntouched) {
    // To the router itself, and to another LAN host: neither crosses to the WAN.
    for (const char *dst : {net::kLanIp, net::kPhone2, net::kPublicIp}) {
        const auto f = build_udp_frame(from_phone(net::kPhone1, net::kPhone1Mac, 5060, dst, 5060,
                                                  sip_register(net::kPhone1, 5060, dst)));
        const RunResult r = run_lan(f);
        EXPECT_EQ(r.ret, TC_ACT_OK) << dst;
        EXPECT_EQ(r.out, f) << dst;
    }
    EXPECT_FALSE(binding(net::kPhone1, 5060));
    EXPECT_EQ(state().bindings, 0u);
}

TEST_F(Outbound, SipFromOutsideTheLanPrefixesPassesUntouched) {
    UdpFrameSpec s = from_phone("10.9.9.9", net::kPhone1Mac, 5060, net::kRegistrar, 5060,
                                sip_register("10.9.9.9", 5060, net::kRegistrar));
    const auto f = build_udp_frame(s);
    expect_untouched(run_lan(f), f);
    EXPECT_EQ(state().bindings, 0u);
}

TEST_F(Outbound, TtlOneIsLeftToTheStack) {
    UdpFrameSpec s = phone_register(net::kPhone1, net::kPhone1Mac, 5060);
    s.ttl = 1;
    const auto f = build_udp_frame(s);
    expect_untouched(run_lan(f), f);
    EXPECT_EQ(counter(SIPALG_CTR_TTL_EXCEEDED), 1u);
}

TEST_F(Outbound, NoFreePortMeansNoBindingAndAnUntouchedPacket) {
    sipalg_config c = default_config(true);
    c.port_min = 6000; // 5060 is outside the range and the range holds one port
    c.port_max = 6000;
    write_config(c);
    const UdpFrameSpec in = phone_register(net::kPhone1, net::kPhone1Mac, 5060);
    RunResult r = run_lan(build_udp_frame(in));
    ASSERT_EQ(r.ret, TC_ACT_REDIRECT);
    EXPECT_EQ(r.out,
              build_udp_frame(with_payload(
                      snat_expected(in, 6000),
                      replace_all(replace_all(in.payload, "192.168.1.10:5060", "203.0.113.1:6000"),
                                  "tn@192.168.1.10", "tn@203.0.113.1"))));
    const auto f2 = sip_from(net::kPhone2, net::kPhone2Mac, 5060);
    r = run_lan(f2);
    EXPECT_EQ(r.ret, TC_ACT_OK);
    EXPECT_EQ(r.out, f2);
    EXPECT_EQ(counter(SIPALG_CTR_BIND_NO_PORT), 1u);
}

} // namespace

namespace {

// Route cache: media reuses the pinhole's cached route within a generation, a new generation
// (the timer makes one every second; here CLOCK_SET does) looks the route up again, and packets
// larger than the cache's size limit always ask the FIB.
class RouteCache : public SharedDatapath {
  protected:
    void TearDown() override {
        set_gateway_mac("02:00:00:00:0a:02");
        SharedDatapath::TearDown();
    }
    static void set_gateway_mac(const char *mac) {
        const std::string cmd = std::string("PATH=$PATH:/usr/sbin ip neigh replace 203.0.113.2 "
                                            "lladdr ") +
                                mac + " dev wan0 nud permanent";
        ASSERT_EQ(std::system(cmd.c_str()), 0);
    }
};

TEST_F(RouteCache, MediaUsesTheCachedRouteUntilTheNextGeneration) {
    set_clock(10);
    ASSERT_EQ(open_pinhole(net::kPhone1, 40000, net::kRemote, 50000).result, 0);
    const UdpFrameSpec in =
            from_phone(net::kPhone1, net::kPhone1Mac, 40000, net::kRemote, 50000, rtp_payload());
    const auto expected_old = build_udp_frame(snat_expected(in, 40000));
    EXPECT_EQ(run_lan(build_udp_frame(in)).out, expected_old);
    EXPECT_NE(slot(40000).route[SIPALG_TO_WAN], 0u) << "route not cached";

    set_gateway_mac("02:00:00:00:0a:03"); // the next hop moves
    EXPECT_EQ(run_lan(build_udp_frame(in)).out, expected_old) << "cache not used";
    set_clock(11); // next generation
    UdpFrameSpec want = snat_expected(in, 40000);
    want.dst_mac = {0x02, 0x00, 0x00, 0x00, 0x0a, 0x03};
    EXPECT_EQ(run_lan(build_udp_frame(in)).out, build_udp_frame(want));
}

TEST_F(RouteCache, LargePacketsAlwaysAskTheFib) {
    set_clock(10);
    ASSERT_EQ(open_pinhole(net::kPhone1, 40000, net::kRemote, 50000).result, 0);
    const UdpFrameSpec small =
            from_phone(net::kPhone1, net::kPhone1Mac, 40000, net::kRemote, 50000, rtp_payload());
    run_lan(build_udp_frame(small)); // fills the cache
    set_gateway_mac("02:00:00:00:0a:03");
    UdpFrameSpec big = small;
    big.payload = std::string(1300, 'v');
    UdpFrameSpec want = snat_expected(big, 40000);
    want.dst_mac = {0x02, 0x00, 0x00, 0x00, 0x0a, 0x03};
    const RunResult r = run_lan(build_udp_frame(big));
    EXPECT_EQ(r.ret, TC_ACT_REDIRECT);
    EXPECT_EQ(r.out, build_udp_frame(want));
}

TEST_F(RouteCache, InboundXdpAndTcShareTheCacheTowardThePhone) {
    set_clock(10);
    ASSERT_EQ(open_pinhole(net::kPhone1, 40000, net::kRemote, 50000).result, 0);
    const UdpFrameSpec in = from_internet(net::kRemote, 50000, 40000, rtp_payload());
    const auto expected = build_udp_frame(dnat_expected(in, net::kPhone1, net::kPhone1Mac, 40000));
    EXPECT_EQ(run_xdp(build_udp_frame(in)).out, expected);
    EXPECT_NE(slot(40000).route[SIPALG_TO_LAN], 0u);
    EXPECT_EQ(run_xdp(build_udp_frame(in)).out, expected);
    EXPECT_EQ(run_wan_in(build_udp_frame(in)).out, expected);
}

TEST_F(RouteCache, SweepDropsRoutesOlderThanThePreviousGeneration) {
    set_clock(10);
    ASSERT_EQ(open_pinhole(net::kPhone1, 40000, net::kRemote, 50000).result, 0);
    run_lan(build_udp_frame(
            from_phone(net::kPhone1, net::kPhone1Mac, 40000, net::kRemote, 50000, rtp_payload())));
    ASSERT_NE(slot(40000).route[SIPALG_TO_WAN], 0u);
    set_clock(11);
    sweep();
    EXPECT_NE(slot(40000).route[SIPALG_TO_WAN], 0u) << "the previous generation is kept";
    set_clock(12);
    sweep();
    EXPECT_EQ(slot(40000).route[SIPALG_TO_WAN], 0u);
}

} // namespace
