// Local media (policy local-media): a call between two phones of this LAN through an outside
// server. Phone 2's INVITE leaves with its SDP rewritten to the public address and a pinhole
// port; when the server hands that offer to phone 1 (inbound, to phone 1's binding), the policy
// gives phone 1 phone 2's own address and port instead, so the two phones send media to each
// other on the LAN. Off (the default), the inbound SDP is read, never rewritten, and the media
// hairpins through the public address (test_hairpin.cpp).
#include "datapath.hpp"

using namespace sipalg::test;

namespace {

// SDP of `ip` with one m=audio line per port.
std::string sdp_of(const std::string &ip, const std::vector<std::uint16_t> &ports) {
    std::string s = "v=0\r\no=- 7 7 IN IP4 " + ip + "\r\ns=-\r\nc=IN IP4 " + ip + "\r\nt=0 0\r\n";
    for (std::uint16_t p : ports)
        s += "m=audio " + std::to_string(p) + " RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n";
    return s;
}

// An INVITE from `via` (host:port) to 1001 with `body`.
std::string invite(const std::string &via, const std::string &body) {
    return "INVITE sip:1001@example.net SIP/2.0\r\n"
           "Via: SIP/2.0/UDP " +
           via +
           ";branch=z9hG4bK-local-1\r\n"
           "From: <sip:1002@example.net>;tag=ft1\r\n"
           "To: <sip:1001@example.net>\r\n"
           "Call-ID: local-media-1@example.net\r\n"
           "CSeq: 1 INVITE\r\n"
           "Content-Type: application/sdp\r\n"
           "Content-Length: " +
           std::to_string(body.size()) + "\r\n\r\n" + body;
}

class LocalMedia : public SharedDatapath {
  protected:
    // Both phones registered; phone 2 has offered media 40000 in an INVITE through the WAN, so
    // its pinhole (owned by its binding) is public port pub2_.
    void configure() override {
        set_clock(100);
        ASSERT_NO_FATAL_FAILURE(register_phone1());
        const auto reg2 = build_udp_frame(
                from_phone(net::kPhone2, net::kPhone2Mac, 5060, net::kRegistrar, 5060,
                           sip_register(net::kPhone2, 5060, net::kRegistrar)));
        ASSERT_EQ(run_lan(reg2).ret, TC_ACT_REDIRECT);
        const auto offer = build_udp_frame(
                from_phone(net::kPhone2, net::kPhone2Mac, 5060, net::kRegistrar, 5060,
                           invite("192.168.1.11:5060", sdp_of(net::kPhone2, {40000}))));
        ASSERT_EQ(run_lan(offer).ret, TC_ACT_REDIRECT);
        const auto pin = pinhole(net::kPhone2, 40000);
        ASSERT_TRUE(pin.has_value());
        pub2_ = pin->public_port;
        ASSERT_NE(pub2_, 0);
    }

    void set_local_media(bool on) {
        sipalg_limits l = default_limits();
        l.policy = on ? SIPALG_POLICY_LOCAL_MEDIA : 0;
        write_limits(l);
    }

    // The server's INVITE to phone 1's binding (5060) carrying `body`.
    static UdpFrameSpec offer_to_phone1(const std::string &body) {
        return from_internet(net::kRegistrar, 5060, 5060, invite("198.51.100.7:5060", body));
    }

    std::uint16_t pub2_ = 0;
};

TEST_F(LocalMedia, OnTheOfferToPhone1NamesPhone2sOwnSocketExactly) {
    set_local_media(true);
    const UdpFrameSpec in = offer_to_phone1(sdp_of(net::kPublicIp, {pub2_}));
    const RunResult r = run_wan_in(build_udp_frame(in));
    EXPECT_EQ(r.ret, TC_ACT_REDIRECT);
    // c= (not o=, which only names the session's creator) becomes phone 2's address, the port
    // its socket's; Content-Length follows the longer address.
    std::string body = sdp_of(net::kPublicIp, {pub2_});
    body = replace_all(body, "c=IN IP4 203.0.113.1", "c=IN IP4 192.168.1.11");
    body = replace_all(body, "m=audio " + std::to_string(pub2_), "m=audio 40000");
    const auto expected =
            build_udp_frame(with_payload(dnat_expected(in, net::kPhone1, net::kPhone1Mac, 5060),
                                         invite("198.51.100.7:5060", body)));
    EXPECT_EQ(r.out, expected) << first_diff(r.out, expected);
    EXPECT_TRUE(ipv4_checksum_ok(r.out));
    EXPECT_TRUE(udp_checksum_ok(r.out));
    EXPECT_EQ(counter(SIPALG_CTR_MEDIA_LOCAL), 1u);
}

TEST_F(LocalMedia, OffTheInboundSdpIsNotRewritten) {
    set_local_media(false);
    const UdpFrameSpec in = offer_to_phone1(sdp_of(net::kPublicIp, {pub2_}));
    const RunResult r = run_wan_in(build_udp_frame(in));
    EXPECT_EQ(r.ret, TC_ACT_REDIRECT);
    EXPECT_EQ(r.out, build_udp_frame(dnat_expected(in, net::kPhone1, net::kPhone1Mac, 5060)));
    EXPECT_EQ(counter(SIPALG_CTR_MEDIA_LOCAL), 0u);
}

// Only an SDP all of whose media the router's own LAN phone receives is rewritten: a port that
// is no pinhole (or a pinhole opened by hand, owned by no phone) leaves the whole SDP alone,
// and so does an SDP sent to another address.
TEST_F(LocalMedia, AnythingButOnePhonesPinholesIsLeftAlone) {
    set_local_media(true);
    const std::uint16_t by_hand =
            open_pinhole(net::kPhone1, 41000, net::kRemote, 50000).public_port;
    ASSERT_NE(by_hand, 0);
    for (const std::string &body :
         {sdp_of(net::kPublicIp, {pub2_, 33333}), sdp_of(net::kPublicIp, {33333}),
          sdp_of(net::kPublicIp, {by_hand}), sdp_of(net::kRemote, {pub2_})}) {
        const UdpFrameSpec in = offer_to_phone1(body);
        const RunResult r = run_wan_in(build_udp_frame(in));
        EXPECT_EQ(r.ret, TC_ACT_REDIRECT);
        EXPECT_EQ(r.out, build_udp_frame(dnat_expected(in, net::kPhone1, net::kPhone1Mac, 5060)))
                << body;
    }
    EXPECT_EQ(counter(SIPALG_CTR_MEDIA_LOCAL), 0u);
}

} // namespace
