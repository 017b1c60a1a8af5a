// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// SDP: o=, c= (session and media level), m= ports of every media line, a=rtcp, Content-Length.
#include <gtest/gtest.h>

#include "alg_harness.hpp"

using namespace sipalg_test;

namespace {

// An INVITE from the phone (host = its Via/Contact host:port) with this SDP; Content-Length is
// computed here, so an expected message built with it checks the ALG's Content-Length exactly.
std::string invite(const std::string &sdp_lf, const std::string &host = "192.168.10.11:5060") {
    std::string sdp = crlf(sdp_lf);
    return "INVITE sip:bob@198.51.100.7 SIP/2.0\r\n"
           "Via: SIP/2.0/UDP " +
           host + ";branch=z9hG4bK1\r\nContact: <sip:a@" + host +
           ">\r\nContent-Type: application/sdp\r\nContent-Length: " + std::to_string(sdp.size()) +
           "\r\n\r\n" + sdp;
}

const char *const kOut = "203.0.113.1:5062";

Policy media_nat() {
    Policy p;
    p.ports = {{5060, 5062}, {49170, 40000}, {49171, 40001}, {51372, 40002}, {51373, 40003}};
    return p;
}

const char *kTwoMedia = "v=0\n"
                        "o=alice 2890844526 2890844526 IN IP4 192.168.10.11\n"
                        "s=-\n"
                        "c=IN IP4 192.168.10.11\n"
                        "t=0 0\n"
                        "m=audio 49170 RTP/AVP 0 8 101\n"
                        "a=rtpmap:0 PCMU/8000\n"
                        "a=rtcp:49171 IN IP4 192.168.10.11\n"
                        "m=video 51372 RTP/AVP 31\n"
                        "a=rtcp:51373\n"
                        "a=rtcp-mux\n";

TEST(RewriteSdp, TwoMediaLinesWithRtcp) {
    Result r = outbound(invite(kTwoMedia), media_nat());
    ASSERT_EQ(r.scan, SIPALG_OK);
    ASSERT_EQ(r.apply, SIPALG_OK);
    EXPECT_EQ(r.out, invite("v=0\n"
                            "o=alice 2890844526 2890844526 IN IP4 203.0.113.1\n"
                            "s=-\n"
                            "c=IN IP4 203.0.113.1\n"
                            "t=0 0\n"
                            "m=audio 40000 RTP/AVP 0 8 101\n"
                            "a=rtpmap:0 PCMU/8000\n"
                            "a=rtcp:40001 IN IP4 203.0.113.1\n"
                            "m=video 40002 RTP/AVP 31\n"
                            "a=rtcp:40003\n"
                            "a=rtcp-mux\n",
                            kOut));
    // (invite() recomputes Content-Length for the expected body: the ALG must agree exactly.)
    const sipalg_sdp &s = r.sc->sdp;
    EXPECT_EQ(s.n_media, 2);
    EXPECT_TRUE(s.flags & SIPALG_SF_PRESENT);
    EXPECT_EQ(s.sess_ip, kPhone);
    EXPECT_EQ(s.origin_ip, kPhone);
    EXPECT_EQ(s.m[0].port, 49170);
    EXPECT_EQ(s.m[0].rtcp_port, 49171);
    EXPECT_EQ(s.m[0].rtcp_ip, kPhone);
    EXPECT_TRUE(s.m[0].flags & SIPALG_MF_RTP);
    EXPECT_EQ(s.m[1].port, 51372);
    EXPECT_EQ(s.m[1].rtcp_port, 51373);
}

TEST(RewriteSdp, MediaIndexAndKinds) {
    Result r = scan_only(invite(kTwoMedia), lan_match());
    ASSERT_EQ(r.scan, SIPALG_OK);
    std::vector<std::pair<int, int>> kinds;
    for (const sipalg_occ &o : r.occ())
        if (o.flags & SIPALG_OF_BODY)
            kinds.emplace_back(o.kind, o.media);
    std::vector<std::pair<int, int>> want = {{SIPALG_OCC_SDP_ORIGIN, SIPALG_SESSION},
                                             {SIPALG_OCC_SDP_CONN, SIPALG_SESSION},
                                             {SIPALG_OCC_SDP_MEDIA_PORT, 0},
                                             {SIPALG_OCC_SDP_RTCP_PORT, 0},
                                             {SIPALG_OCC_SDP_RTCP_ADDR, 0},
                                             {SIPALG_OCC_SDP_MEDIA_PORT, 1},
                                             {SIPALG_OCC_SDP_RTCP_PORT, 1}};
    EXPECT_EQ(kinds, want);
}

TEST(RewriteSdp, MediaLevelConnectionOnly) {
    Result r = outbound(invite("v=0\no=- 1 1 IN IP4 192.168.10.11\ns=-\nt=0 0\n"
                               "m=audio 49170 RTP/AVP 0\nc=IN IP4 192.168.10.11\n"
                               "m=video 51372 RTP/AVP 31\nc=IN IP4 198.51.100.99\n"),
                        media_nat());
    ASSERT_EQ(r.apply, SIPALG_OK);
    // video goes to a public address the phone chose itself: its port is not ours to map.
    EXPECT_EQ(r.out, invite("v=0\no=- 1 1 IN IP4 203.0.113.1\ns=-\nt=0 0\n"
                            "m=audio 40000 RTP/AVP 0\nc=IN IP4 203.0.113.1\n"
                            "m=video 51372 RTP/AVP 31\nc=IN IP4 198.51.100.99\n",
                            kOut));
    EXPECT_EQ(sipalg_sdp_media_ip(r.sc.get(), 0, 0), kPhone);
    EXPECT_EQ(sipalg_sdp_media_ip(r.sc.get(), 1, 0), ip4(198, 51, 100, 99));
}

TEST(RewriteSdp, BodyGrowsAndShrinks) {
    Policy grow;
    grow.public_ip = ip4(203, 100, 113, 201); // 15 chars vs 13
    grow.ports = {{9, 10000}};                // 5 digits vs 1
    Result r = outbound(invite("v=0\nc=IN IP4 192.168.10.11\nm=audio 9 RTP/AVP 0\n"), grow);
    ASSERT_EQ(r.apply, SIPALG_OK);
    EXPECT_EQ(r.out, invite("v=0\nc=IN IP4 203.100.113.201\nm=audio 10000 RTP/AVP 0\n",
                            "203.100.113.201:5060"));
    EXPECT_EQ(r.sc->content_length, 50);
    EXPECT_NE(r.out.find("Content-Length: 56\r\n"), std::string::npos);

    Policy shrink;
    shrink.public_ip = ip4(1, 2, 3, 4); // 7 chars vs 13
    shrink.ports = {{49170, 9}};
    r = outbound(invite("v=0\nc=IN IP4 192.168.10.11\nm=audio 49170 RTP/AVP 0\n"), shrink);
    ASSERT_EQ(r.apply, SIPALG_OK);
    EXPECT_EQ(r.out, invite("v=0\nc=IN IP4 1.2.3.4\nm=audio 9 RTP/AVP 0\n", "1.2.3.4:5060"));
    EXPECT_NE(r.out.find("Content-Length: 44\r\n"), std::string::npos);
}

TEST(RewriteSdp, ContentLengthDigitCountChanges) {
    // A two-digit Content-Length that needs three digits after the rewrite (+6 bytes).
    std::string sdp =
            "v=0\nc=IN IP4 192.168.10.11\nm=audio 9 RTP/AVP 0\na=x:" + std::string(41, 'y') + "\n";
    ASSERT_EQ(crlf(sdp).size(), 97u);
    Policy p;
    p.public_ip = ip4(203, 100, 113, 201);
    p.ports = {{9, 10000}};
    Result r = outbound(invite(sdp), p);
    ASSERT_EQ(r.scan, SIPALG_OK);
    EXPECT_EQ(r.sc->content_length, 97);
    ASSERT_EQ(r.apply, SIPALG_OK);
    EXPECT_NE(r.out.find("Content-Length: 103\r\n"), std::string::npos);
    EXPECT_EQ(r.out.size() - r.out.find("\r\n\r\n") - 4, 103u);
}

TEST(RewriteSdp, PortZeroAndPortCount) {
    Result r = outbound(invite("v=0\nc=IN IP4 192.168.10.11\nm=audio 0 RTP/AVP 0\n"
                               "m=video 49170/2 RTP/AVP 31\n"),
                        media_nat());
    ASSERT_EQ(r.apply, SIPALG_OK);
    EXPECT_EQ(r.out, invite("v=0\nc=IN IP4 203.0.113.1\nm=audio 0 RTP/AVP 0\n"
                            "m=video 40000/2 RTP/AVP 31\n",
                            kOut));
    EXPECT_EQ(r.sc->sdp.m[1].nports, 2);
}

TEST(RewriteSdp, HoldAndIpv6Untouched) {
    std::string body = "v=0\no=- 1 1 IN IP6 2001:db8::1\nc=IN IP6 2001:db8::1\n"
                       "m=audio 49170 RTP/AVP 0\nm=audio 49172 RTP/AVP 0\nc=IN IP4 0.0.0.0\n";
    Result r = outbound(invite(body), media_nat());
    ASSERT_EQ(r.apply, SIPALG_OK);
    EXPECT_EQ(r.out, invite(body, kOut));
    EXPECT_TRUE(r.sc->sdp.flags & SIPALG_SF_CONN_V6);
}

TEST(RewriteSdp, MulticastTtlSuffix) {
    Result r = scan_only(invite("v=0\nc=IN IP4 224.2.1.1/127/3\nm=audio 49170 RTP/AVP 0\n"),
                         lan_match());
    ASSERT_EQ(r.scan, SIPALG_OK);
    EXPECT_EQ(r.sc->sdp.sess_ip, ip4(224, 2, 1, 1));
}

TEST(RewriteSdp, InboundSdpIsReadNotRewritten) {
    std::string answer = crlf("SIP/2.0 200 OK\n"
                              "Via: SIP/2.0/UDP 203.0.113.1:5062;branch=z9hG4bK1\n"
                              "Contact: <sip:bob@198.51.100.7>\n"
                              "Content-Type: application/sdp\n"
                              "Content-Length: 0\n\n");
    std::string sdp = crlf("v=0\no=bob 1 1 IN IP4 198.51.100.7\nc=IN IP4 198.51.100.7\n"
                           "m=audio 30000 RTP/AVP 0\na=rtcp:30011\n"
                           "m=video 30002 RTP/AVP 31\nc=IN IP4 198.51.100.8\n");
    answer = fix_clen(answer + sdp);
    Result r = inbound(answer, media_nat());
    ASSERT_EQ(r.apply, SIPALG_OK);
    EXPECT_EQ(r.out.substr(r.out.find("v=0")), sdp);
    EXPECT_NE(r.out.find("Via: SIP/2.0/UDP 192.168.10.11:5060;"), std::string::npos);
    const sipalg_sdp &s = r.sc->sdp;
    ASSERT_EQ(s.n_media, 2);
    EXPECT_EQ(sipalg_sdp_media_ip(r.sc.get(), 0, 0), ip4(198, 51, 100, 7));
    EXPECT_EQ(s.m[0].port, 30000);
    EXPECT_EQ(s.m[0].rtcp_port, 30011);
    EXPECT_EQ(sipalg_sdp_media_ip(r.sc.get(), 1, 0), ip4(198, 51, 100, 8));
    EXPECT_EQ(s.m[1].port, 30002);
}

TEST(RewriteSdp, IceCandidatesOfLanSocketsAreRewritten) {
    // Host and server-reflexive candidates name the phone's LAN sockets: address and port (and
    // raddr/rport) are rewritten like c= and m=. Public, IPv6 and FQDN candidates are left, and
    // so is a LAN candidate's port that is not a number.
    Result r = outbound(invite("v=0\nc=IN IP4 192.168.10.11\nm=audio 49170 RTP/AVP 0\n"
                               "a=candidate:1 1 udp 2122260223 192.168.10.11 49170 typ host\n"
                               "a=candidate:1 2 UDP 2122260222 192.168.10.11 49171 typ host\n"
                               "a=candidate:2 1 udp 1686052607 198.51.100.9 7000 typ srflx "
                               "raddr 192.168.10.11 rport 49170 generation 0\n"
                               "a=candidate:3 1 TCP 1518280447 192.168.10.11 9 typ host tcptype "
                               "active\n"
                               "a=candidate:4 1 udp 2122262783 2001:db8::1 49170 typ host\n"
                               "a=candidate:5 1 udp 2122262783 phone.local 49170 typ host\n"
                               "a=candidate:6 1 udp 2122262783 192.168.10.11 x typ host\n"),
                        media_nat());
    ASSERT_EQ(r.scan, SIPALG_OK);
    ASSERT_EQ(r.apply, SIPALG_OK);
    EXPECT_TRUE(r.sc->sdp.flags & SIPALG_SF_ICE);
    EXPECT_EQ(r.out, invite("v=0\nc=IN IP4 203.0.113.1\nm=audio 40000 RTP/AVP 0\n"
                            "a=candidate:1 1 udp 2122260223 203.0.113.1 40000 typ host\n"
                            "a=candidate:1 2 UDP 2122260222 203.0.113.1 40001 typ host\n"
                            "a=candidate:2 1 udp 1686052607 198.51.100.9 7000 typ srflx "
                            "raddr 203.0.113.1 rport 40000 generation 0\n"
                            "a=candidate:3 1 TCP 1518280447 203.0.113.1 9 typ host tcptype "
                            "active\n"
                            "a=candidate:4 1 udp 2122262783 2001:db8::1 49170 typ host\n"
                            "a=candidate:5 1 udp 2122262783 phone.local 49170 typ host\n"
                            "a=candidate:6 1 udp 2122262783 203.0.113.1 x typ host\n",
                            kOut));
}

TEST(RewriteSdp, IceCandidatesAreLeftAloneInbound) {
    // Inbound, the peer's SDP is never edited (its candidates are its own business).
    const std::string m = invite("v=0\nc=IN IP4 203.0.113.1\nm=audio 40000 RTP/AVP 0\n"
                                 "a=candidate:1 1 udp 2122260223 203.0.113.1 40000 typ host\n");
    Result r = scan_only(m, public_match(), SIPALG_SCAN_NO_SDP_EDITS);
    ASSERT_EQ(r.scan, SIPALG_OK);
    for (uint32_t i = 0; i < r.sc->n_occ; i++)
        EXPECT_NE(r.sc->occ[i].flags & SIPALG_OF_BODY, SIPALG_OF_BODY) << "occurrence " << i;
}

TEST(RewriteSdp, NonSdpBodyIgnored) {
    std::string m = crlf("MESSAGE sip:b@example.com SIP/2.0\nContent-Type: text/plain\n"
                         "Content-Length: 22\n\nc=IN IP4 192.168.10.11");
    Result r = outbound(m, media_nat());
    ASSERT_EQ(r.apply, SIPALG_OK);
    EXPECT_EQ(r.out, m);
    EXPECT_FALSE(r.sc->sdp.flags & SIPALG_SF_PRESENT);
}

TEST(RewriteSdp, TooManyMediaLines) {
    std::string sdp = "v=0\nc=IN IP4 192.168.10.11\n";
    for (int i = 0; i <= int(SIPALG_MAX_MEDIA); i++)
        sdp += "m=audio " + std::to_string(40000 + 2 * i) + " RTP/AVP 0\n";
    Result r = scan_only(invite(sdp), lan_match());
    EXPECT_EQ(r.scan, SIPALG_TOO_COMPLEX);
    EXPECT_EQ(r.sc->reason, SIPALG_R_MEDIA);
}

} // namespace
