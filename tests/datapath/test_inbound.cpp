// WAN -> LAN: SIP to a binding (WAN tc ingress), media through a pinhole (XDP with the
// metadata handoff, and the tc path that does the same without XDP), scoping to the remote,
// and packets the ALG does not own.
#include "datapath.hpp"
#include "xdp_meta.hpp"

using namespace sipalg::test;

namespace {

class Inbound : public SharedDatapath {
  protected:
    // Phone 1 registered (binding 5060) and in a call with media 40000 <-> remote:50000.
    void configure() override {
        set_clock(100);
        ASSERT_NO_FATAL_FAILURE(register_phone1());
        ASSERT_EQ(open_pinhole(net::kPhone1, 40000, net::kRemote, 50000).public_port, 40000);
    }
};

TEST_F(Inbound, SipToABindingIsDnatedToThePhoneExactly) {
    const UdpFrameSpec in = from_internet(net::kRegistrar, 5060, 5060,
                                          "INVITE sip:1001@203.0.113.1 SIP/2.0\r\n"
                                          "Content-Length: 0\r\n\r\n");
    const RunResult r = run_wan_in(build_udp_frame(in));
    EXPECT_EQ(r.ret, TC_ACT_REDIRECT);
    // The Request-URI names the binding (public address, no port = 5060): the phone again.
    const auto expected = build_udp_frame(
            with_payload(dnat_expected(in, net::kPhone1, net::kPhone1Mac, 5060),
                         replace_all(in.payload, "@203.0.113.1 ", "@192.168.1.10 ")));
    EXPECT_EQ(r.out, expected) << first_diff(r.out, expected);
    EXPECT_TRUE(ipv4_checksum_ok(r.out));
    EXPECT_TRUE(udp_checksum_ok(r.out));
    EXPECT_EQ(counter(SIPALG_CTR_SIP_IN), 1u);
}

TEST_F(Inbound, SipReachesTheRightPhoneWhenTwoShareAPrivatePort) {
    const auto reg2 =
            build_udp_frame(from_phone(net::kPhone2, net::kPhone2Mac, 5060, net::kRegistrar, 5060,
                                       sip_register(net::kPhone2, 5060, net::kRegistrar)));
    ASSERT_EQ(run_lan(reg2).ret, TC_ACT_REDIRECT);
    const std::uint16_t port2 = binding(net::kPhone2, 5060)->public_port;
    const UdpFrameSpec in = from_internet(net::kRegistrar, 5060, port2,
                                          "INVITE sip:1002@x SIP/2.0\r\nContent-Length: 0\r\n\r\n");
    const RunResult r = run_wan_in(build_udp_frame(in));
    EXPECT_EQ(r.ret, TC_ACT_REDIRECT);
    EXPECT_EQ(r.out, build_udp_frame(dnat_expected(in, net::kPhone2, net::kPhone2Mac, 5060)));
}

TEST_F(Inbound, XdpLeavesSipToTc) {
    const auto f = build_udp_frame(
            from_internet(net::kRegistrar, 5060, 5060, "OPTIONS sip:x SIP/2.0\r\n\r\n"));
    const RunResult r = run_xdp(f);
    EXPECT_EQ(r.ret, XDP_PASS);
    EXPECT_EQ(r.out, f);
    EXPECT_TRUE(r.meta.empty());
}

TEST_F(Inbound, XdpDnatsRtpFromTheScopedRemoteAndHandsItToTc) {
    set_clock(130);
    const UdpFrameSpec in = from_internet(net::kRemote, 50000, 40000, rtp_payload(9));
    const RunResult r = run_xdp(build_udp_frame(in));

    EXPECT_EQ(r.ret, XDP_PASS);
    expect_frame(r.out, dnat_expected(in, net::kPhone1, net::kPhone1Mac, 40000));
    ASSERT_EQ(r.meta.size(), sizeof(XdpMeta));
    const XdpMeta m = XdpMeta::from(r.meta);
    EXPECT_EQ(m.magic, kMetaMagic);
    EXPECT_EQ(m.ifindex, topo_.lan_ifindex);
    EXPECT_EQ(m.flags & kMetaMacs, kMetaMacs);
    EXPECT_EQ(counter(SIPALG_CTR_XDP_FWD), 1u);
    EXPECT_EQ(slot(40000).stamp, 130u);
}

TEST_F(Inbound, TcDnatsRtpWhenXdpDidNot) {
    const UdpFrameSpec in = from_internet(net::kRemote, 50000, 40000, rtp_payload(3));
    const RunResult r = run_wan_in(build_udp_frame(in));
    EXPECT_EQ(r.ret, TC_ACT_REDIRECT);
    const auto expected = build_udp_frame(dnat_expected(in, net::kPhone1, net::kPhone1Mac, 40000));
    EXPECT_EQ(r.out, expected) << first_diff(r.out, expected);
    EXPECT_EQ(counter(SIPALG_CTR_MEDIA_IN), 1u);
}

TEST_F(Inbound, RtpFromAnotherSourceIsNotForwarded) {
    for (const auto &[src, sport] : {std::pair{net::kStranger, 50000}, {net::kRemote, 50001}}) {
        const auto f = build_udp_frame(
                from_internet(src, static_cast<std::uint16_t>(sport), 40000, rtp_payload()));
        const RunResult x = run_xdp(f);
        EXPECT_EQ(x.ret, XDP_PASS);
        EXPECT_EQ(x.out, f);
        EXPECT_TRUE(x.meta.empty());
        expect_untouched(run_wan_in(f), f);
    }
    EXPECT_EQ(counter(SIPALG_CTR_SCOPE_MISS), 2u);
    EXPECT_EQ(counter(SIPALG_CTR_XDP_FWD), 0u);
    EXPECT_EQ(counter(SIPALG_CTR_MEDIA_IN), 0u);
}

TEST_F(Inbound, RemotePortZeroLatchesOnToTheFirstSourcePort) {
    ASSERT_EQ(open_pinhole(net::kPhone1, 40002, net::kRemote, 0).public_port, 40002);
    const UdpFrameSpec in = from_internet(net::kRemote, 61234, 40002, rtp_payload());
    RunResult r = run_wan_in(build_udp_frame(in));
    EXPECT_EQ(r.ret, TC_ACT_REDIRECT);
    EXPECT_EQ(r.out, build_udp_frame(dnat_expected(in, net::kPhone1, net::kPhone1Mac, 40002)));
    EXPECT_EQ(slot(40002).remote_port, htons(61234));

    // Another socket of the same host (or someone spoofing it) comes second: not let in, by
    // either hook.
    const auto other = build_udp_frame(from_internet(net::kRemote, 61236, 40002, rtp_payload()));
    EXPECT_EQ(run_wan_in(other).ret, TC_ACT_OK);
    EXPECT_EQ(run_xdp(other).ret, XDP_PASS);
    EXPECT_EQ(counter(SIPALG_CTR_SCOPE_MISS), 1u);
    r = run_wan_in(build_udp_frame(in));
    EXPECT_EQ(r.ret, TC_ACT_REDIRECT);

    // Scoping to the same address again keeps the latch; another address starts afresh.
    ASSERT_EQ(open_pinhole(net::kPhone1, 40002, net::kRemote, 0).public_port, 40002);
    EXPECT_EQ(slot(40002).remote_port, htons(61234));
    ASSERT_EQ(open_pinhole(net::kPhone1, 40002, net::kRegistrar, 0).public_port, 40002);
    EXPECT_EQ(slot(40002).remote_port, 0);
}

TEST_F(Inbound, PendingPinholeAdmitsNothingUntilScoped) {
    ASSERT_EQ(open_pinhole(net::kPhone1, 40004, nullptr, 0).public_port, 40004);
    const auto f = build_udp_frame(from_internet(net::kRemote, 50004, 40004, rtp_payload()));
    EXPECT_EQ(run_xdp(f).out, f);
    RunResult t = run_wan_in(f);
    EXPECT_EQ(t.ret, TC_ACT_OK);
    EXPECT_EQ(t.out, f);
    EXPECT_EQ(counter(SIPALG_CTR_PIN_PENDING), 1u);
    // The answer's SDP scopes it (the rewriter re-opens with the remote): now it gets in.
    ASSERT_EQ(open_pinhole(net::kPhone1, 40004, net::kRemote, 50004).public_port, 40004);
    EXPECT_EQ(run_wan_in(f).ret, TC_ACT_REDIRECT);
}

TEST_F(Inbound, TrafficToPortsTheAlgDoesNotOwnPassesUntouched) {
    const auto f = build_udp_frame(from_internet(net::kRemote, 443, 33333, "quic-ish"));
    expect_untouched(run_xdp(f), f, XDP_PASS);
    expect_untouched(run_wan_in(f), f);
    EXPECT_EQ(counter(SIPALG_CTR_WAN_IN_PASS), 1u);
}

TEST_F(Inbound, TrafficToAnotherAddressPassesUntouched) {
    UdpFrameSpec s = from_internet(net::kRemote, 50000, 40000, rtp_payload());
    s.dst_ip = ipv4_addr("203.0.113.99");
    const auto f = build_udp_frame(s);
    EXPECT_EQ(run_xdp(f).out, f);
    EXPECT_EQ(run_wan_in(f).out, f);
    EXPECT_EQ(counter(SIPALG_CTR_MEDIA_IN), 0u);
}

TEST_F(Inbound, PhoneWithoutNeighbourEntryIsHandedToRedirectNeigh) {
    ASSERT_EQ(open_pinhole(net::kPhoneNoNeigh, 40010, net::kRemote, 50010).public_port, 40010);
    const UdpFrameSpec in = from_internet(net::kRemote, 50010, 40010, rtp_payload());
    const RunResult x = run_xdp(build_udp_frame(in));
    EXPECT_EQ(x.ret, XDP_PASS);
    UdpFrameSpec want = dnat_expected(in, net::kPhoneNoNeigh, net::kPhone1Mac, 40010);
    want.src_mac = in.src_mac; // MACs left to bpf_redirect_neigh in tc
    want.dst_mac = in.dst_mac;
    EXPECT_EQ(x.out, build_udp_frame(want));
    ASSERT_EQ(x.meta.size(), sizeof(XdpMeta));
    const XdpMeta m = XdpMeta::from(x.meta);
    EXPECT_EQ(m.flags & kMetaMacs, 0u);
    EXPECT_EQ(m.nh, be32(net::kPhoneNoNeigh));
    const RunResult t = run_wan_in(build_udp_frame(in));
    EXPECT_EQ(t.ret, TC_ACT_REDIRECT);
    EXPECT_EQ(t.out, build_udp_frame(want));
}

// The router learns no neighbour entry from traffic the fast path carries, so a phone's may be
// missing: the FIB then reports NO_NEIGH without the MTU, and a rewrite that grows the message
// must still be forwarded (MTU from a second lookup), not handed up as over the MTU.
TEST_F(Inbound, SipGrowingToAPhoneWithoutNeighbourEntryIsForwarded) {
    const auto reg = build_udp_frame(
            from_phone(net::kPhoneNoNeigh, net::kPhone1Mac, 5070, net::kRegistrar, 5060,
                       sip_register(net::kPhoneNoNeigh, 5070, net::kRegistrar)));
    ASSERT_EQ(run_lan(reg).ret, TC_ACT_REDIRECT);
    const auto b = binding(net::kPhoneNoNeigh, 5070);
    ASSERT_TRUE(b);
    const std::string pub = std::string(net::kPublicIp) + ":" + std::to_string(b->public_port);
    const UdpFrameSpec in =
            from_internet(net::kRegistrar, 5060, b->public_port,
                          "INVITE sip:1001@" + pub + " SIP/2.0\r\nContent-Length: 0\r\n\r\n");
    const RunResult r = run_wan_in(build_udp_frame(in));
    EXPECT_EQ(r.ret, TC_ACT_REDIRECT);
    EXPECT_EQ(counter(SIPALG_CTR_SLOW_MTU), 0u);
    UdpFrameSpec want = with_payload(dnat_expected(in, net::kPhoneNoNeigh, net::kPhone1Mac, 5070),
                                     replace_all(in.payload, "@" + pub + " ",
                                                 std::string("@") + net::kPhoneNoNeigh + ":5070 "));
    want.src_mac = in.src_mac; // MACs left to bpf_redirect_neigh
    want.dst_mac = in.dst_mac;
    ASSERT_GT(want.payload.size(), in.payload.size());
    EXPECT_EQ(r.out, build_udp_frame(want)) << first_diff(r.out, build_udp_frame(want));
}

} // namespace
