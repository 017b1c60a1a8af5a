// SIP/SDP payload rewriting through both tc programs (bpf/sip_rewrite.bpf.h): the exact frame
// that leaves the router (payload, lengths, checksums: build_udp_frame computes them on its
// own, and the checksums are verified independently), and the state a message leaves behind
// (pinholes opened and scoped, binding lifetimes).
#include "datapath.hpp"

using namespace sipalg::test;

namespace {

constexpr const char *kPub = "203.0.113.1";

std::string sdp(const std::string &ip, std::uint16_t port, const std::string &extra = "") {
    return "v=0\r\n"
           "o=- 42 1 IN IP4 " +
           ip +
           "\r\n"
           "s=-\r\n"
           "c=IN IP4 " +
           ip +
           "\r\n"
           "t=0 0\r\n"
           "m=audio " +
           std::to_string(port) +
           " RTP/AVP 0\r\n"
           "a=rtpmap:0 PCMU/8000\r\n" +
           extra;
}

// An INVITE from phone `host` (ip:port as written), with SDP media at media_ip:media_port.
std::string invite(const std::string &host, const std::string &media_ip, std::uint16_t media_port,
                   const std::string &extra_sdp = "") {
    const std::string body = sdp(media_ip, media_port, extra_sdp);
    return "INVITE sip:2001@198.51.100.20 SIP/2.0\r\n"
           "Via: SIP/2.0/UDP " +
           host +
           ";branch=z9hG4bK-inv-1;rport\r\n"
           "From: <sip:1001@" +
           host +
           ">;tag=f1\r\n"
           "To: <sip:2001@198.51.100.20>\r\n"
           "Call-ID: c1@" +
           media_ip +
           "\r\n" // SIPp-style: the sender's own address
           "CSeq: 1 INVITE\r\n"
           "Contact: <sip:1001@" +
           host +
           ">\r\n"
           "Content-Type: application/sdp\r\n"
           "Content-Length: " +
           std::to_string(body.size()) + "\r\n\r\n" + body;
}

// A response from the far end; `via` is the top Via's sent-by, `body` its SDP (or none).
std::string response(const std::string &status, const std::string &via, const std::string &cseq,
                     const std::string &extra, const std::string &body) {
    return "SIP/2.0 " + status +
           "\r\n"
           "Via: SIP/2.0/UDP " +
           via +
           ";branch=z9hG4bK-inv-1;rport=5060\r\n"
           "From: <sip:1001@" +
           via +
           ">;tag=f1\r\n"
           "To: <sip:2001@198.51.100.20>;tag=t2\r\n"
           "Call-ID: c1@" +
           via.substr(0, via.find(':')) + // the INVITE's Call-ID, as on this side of the router
           "\r\n"
           "CSeq: " +
           cseq + "\r\n" + extra + (body.empty() ? "" : "Content-Type: application/sdp\r\n") +
           "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

class SipRewrite : public SharedDatapath {
  protected:
    RunResult invite_out() {
        return run_lan(
                build_udp_frame(from_phone(net::kPhone1, net::kPhone1Mac, 5060, net::kRemote, 5060,
                                           invite("192.168.1.10:5060", net::kPhone1, 40000))));
    }
};

TEST_F(SipRewrite, OutboundInviteWithSdpGetsPublicAddressesAndPinholePorts) {
    register_phone1();
    const UdpFrameSpec in = from_phone(net::kPhone1, net::kPhone1Mac, 5060, net::kRemote, 5060,
                                       invite("192.168.1.10:5060", net::kPhone1, 40000));
    const RunResult r = run_lan(build_udp_frame(in));
    ASSERT_EQ(r.ret, TC_ACT_REDIRECT);
    // Via/From/Contact -> public:binding port; Call-ID host, o=, c= -> public; m= -> the RTP
    // pinhole's port;
    // Content-Length follows the body (two addresses one byte shorter each).
    expect_frame(r.out,
                 with_payload(snat_expected(in, 5060), invite("203.0.113.1:5060", kPub, 40000)));
    EXPECT_EQ(counter(SIPALG_CTR_SIP_REWRITTEN), 2u);

    const auto rtp = pinhole(net::kPhone1, 40000), rtcp = pinhole(net::kPhone1, 40001);
    ASSERT_TRUE(rtp && rtcp);
    EXPECT_EQ(rtp->public_port, 40000);
    EXPECT_EQ(rtcp->public_port, 40001); // RTCP on RTP + 1, as the peer will assume
    EXPECT_EQ(slot(40000).owner, 5060);
    EXPECT_EQ(slot(40000).remote_ip, 0u); // pending until the answer says who sends
    EXPECT_EQ(state().pinholes, 2u);
}

TEST_F(SipRewrite, OutboundMediaPortTakenGetsAnotherPublicPort) {
    register_phone1();
    ASSERT_EQ(open_pinhole(net::kPhone2, 40000, net::kRemote, 0).public_port, 40000);
    const UdpFrameSpec in = from_phone(net::kPhone1, net::kPhone1Mac, 5060, net::kRemote, 5060,
                                       invite("192.168.1.10:5060", net::kPhone1, 40000));
    const RunResult r = run_lan(build_udp_frame(in));
    ASSERT_EQ(r.ret, TC_ACT_REDIRECT);
    const auto rtp = pinhole(net::kPhone1, 40000);
    ASSERT_TRUE(rtp);
    EXPECT_NE(rtp->public_port, 40000);
    const auto expected = build_udp_frame(with_payload(
            snat_expected(in, 5060), invite("203.0.113.1:5060", kPub, rtp->public_port)));
    EXPECT_EQ(r.out, expected) << first_diff(r.out, expected);
}

// ICE candidates naming the phone's sockets get the public address and the pinholes' ports
// (here not the private ones: phone 2 holds public 40000), so nothing of the LAN leaks.
TEST_F(SipRewrite, OutboundIceCandidatesNameThePinholes) {
    register_phone1();
    ASSERT_EQ(open_pinhole(net::kPhone2, 40000, net::kRemote, 0).public_port, 40000);
    auto cands = [](const std::string &ip, std::uint16_t rtp, std::uint16_t rtcp) {
        return "a=candidate:1 1 UDP 2130706431 " + ip + " " + std::to_string(rtp) +
               " typ host\r\n"
               "a=candidate:1 2 UDP 2130706430 " +
               ip + " " + std::to_string(rtcp) +
               " typ host\r\n"
               "a=candidate:2 1 UDP 1694498815 198.51.100.99 7000 typ srflx raddr " +
               ip + " rport " + std::to_string(rtp) + "\r\n";
    };
    const UdpFrameSpec in = from_phone(
            net::kPhone1, net::kPhone1Mac, 5060, net::kRemote, 5060,
            invite("192.168.1.10:5060", net::kPhone1, 40000, cands(net::kPhone1, 40000, 40001)));
    const RunResult r = run_lan(build_udp_frame(in));
    ASSERT_EQ(r.ret, TC_ACT_REDIRECT);
    const auto rtp = pinhole(net::kPhone1, 40000), rtcp = pinhole(net::kPhone1, 40001);
    ASSERT_TRUE(rtp && rtcp);
    ASSERT_NE(rtp->public_port, 40000);
    expect_frame(r.out, with_payload(snat_expected(in, 5060),
                                     invite("203.0.113.1:5060", kPub, rtp->public_port,
                                            cands(kPub, rtp->public_port, rtcp->public_port))));
}

TEST_F(SipRewrite, InboundAnswerRestoresTopViaAndScopesThePinholes) {
    register_phone1();
    ASSERT_EQ(invite_out().ret, TC_ACT_REDIRECT);
    const UdpFrameSpec in = from_internet(net::kRemote, 5060, 5060,
                                          response("200 OK", "203.0.113.1:5060", "1 INVITE",
                                                   "Contact: <sip:2001@198.51.100.20>\r\n",
                                                   sdp(net::kRemote, 50000)));
    const RunResult r = run_wan_in(build_udp_frame(in));
    ASSERT_EQ(r.ret, TC_ACT_REDIRECT);
    // The top Via, From and the Call-ID come back exactly as the phone sent them; the peer's SDP
    // is not touched.
    expect_frame(r.out, with_payload(dnat_expected(in, net::kPhone1, net::kPhone1Mac, 5060),
                                     response("200 OK", "192.168.1.10:5060", "1 INVITE",
                                              "Contact: <sip:2001@198.51.100.20>\r\n",
                                              sdp(net::kRemote, 50000))));
    EXPECT_EQ(slot(40000).remote_ip, be32(net::kRemote));
    EXPECT_EQ(slot(40001).remote_ip, be32(net::kRemote));

    // RTP from the answer's address now gets in.
    const RunResult m =
            run_wan_in(build_udp_frame(from_internet(net::kRemote, 50000, 40000, rtp_payload())));
    EXPECT_EQ(m.ret, TC_ACT_REDIRECT);
}

// BYE from the far end, then the phone's 200: the call's pinholes close with the answer (media
// may still flow while the BYE is in flight), and nothing of the call is left.
TEST_F(SipRewrite, ByeAndItsAnswerCloseTheCallsPinholes) {
    register_phone1();
    ASSERT_EQ(invite_out().ret, TC_ACT_REDIRECT);
    ASSERT_EQ(state().pinholes, 2u);
    ASSERT_EQ(state().dialogs, 1u);
    // What the BYE and its answer share, as seen on the side where the phone is `phone`.
    auto bye_headers = [](const std::string &phone) {
        return "Via: SIP/2.0/UDP 198.51.100.20:5060;branch=z9hG4bK-bye\r\n"
               "From: <sip:2001@198.51.100.20>;tag=t2\r\n"
               "To: <sip:1001@" +
               phone +
               ":5060>;tag=f1\r\n"
               "Call-ID: c1@" +
               phone + "\r\nCSeq: 2 BYE\r\nContent-Length: 0\r\n\r\n";
    };
    auto bye = [&](const std::string &phone) {
        return "BYE sip:1001@" + phone + ":5060 SIP/2.0\r\n" + bye_headers(phone);
    };
    const UdpFrameSpec in = from_internet(net::kRemote, 5060, 5060, bye("203.0.113.1"));
    const RunResult r = run_wan_in(build_udp_frame(in));
    ASSERT_EQ(r.ret, TC_ACT_REDIRECT);
    const auto expected = build_udp_frame(with_payload(
            dnat_expected(in, net::kPhone1, net::kPhone1Mac, 5060), bye(net::kPhone1)));
    EXPECT_EQ(r.out, expected) << first_diff(r.out, expected);
    EXPECT_EQ(state().pinholes, 2u) << "closed by the BYE's answer, not by the BYE";

    auto ok = [&](const std::string &phone) { return "SIP/2.0 200 OK\r\n" + bye_headers(phone); };
    const UdpFrameSpec out =
            from_phone(net::kPhone1, net::kPhone1Mac, 5060, net::kRemote, 5060, ok(net::kPhone1));
    const RunResult o = run_lan(build_udp_frame(out));
    ASSERT_EQ(o.ret, TC_ACT_REDIRECT);
    EXPECT_EQ(o.out, build_udp_frame(with_payload(snat_expected(out, 5060), ok("203.0.113.1"))));
    EXPECT_EQ(state().pinholes, 0u);
    EXPECT_EQ(state().dialogs, 0u);
    EXPECT_FALSE(pinhole(net::kPhone1, 40000));
    EXPECT_EQ(counter(SIPALG_CTR_DLG_ENDED), 1u);
}

TEST_F(SipRewrite, InboundInviteRequestUriRestoredAndAnswerOpensScopedPinholes) {
    register_phone1();
    const std::string inv = "INVITE sip:1001@203.0.113.1:5060 SIP/2.0\r\n"
                            "Via: SIP/2.0/UDP 198.51.100.20:5060;branch=z9hG4bK-in-1\r\n"
                            "From: <sip:2001@198.51.100.20>;tag=t9\r\n"
                            "To: <sip:1001@203.0.113.1>\r\n"
                            "Call-ID: in-1\r\nCSeq: 1 INVITE\r\n"
                            "Content-Type: application/sdp\r\n";
    const std::string body = sdp(net::kRemote, 50000);
    const std::string msg =
            inv + "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
    const UdpFrameSpec in = from_internet(net::kRemote, 5060, 5060, msg);
    const RunResult r = run_wan_in(build_udp_frame(in));
    ASSERT_EQ(r.ret, TC_ACT_REDIRECT);
    // Request-URI (with port) and To (no port: 5060 = the binding) -> the phone.
    std::string want = replace_all(msg, "203.0.113.1:5060", "192.168.1.10:5060");
    want = replace_all(want, "<sip:1001@203.0.113.1>", "<sip:1001@192.168.1.10>");
    expect_frame(r.out, with_payload(dnat_expected(in, net::kPhone1, net::kPhone1Mac, 5060), want));

    // The phone answers with its SDP: pinholes open already scoped to the offer's address.
    const std::string ans_body = sdp(net::kPhone1, 41000);
    const std::string ans = "SIP/2.0 200 OK\r\n"
                            "Via: SIP/2.0/UDP 198.51.100.20:5060;branch=z9hG4bK-in-1\r\n"
                            "Call-ID: in-1\r\nCSeq: 1 INVITE\r\n"
                            "Contact: <sip:1001@192.168.1.10:5060>\r\n"
                            "Content-Type: application/sdp\r\nContent-Length: " +
                            std::to_string(ans_body.size()) + "\r\n\r\n" + ans_body;
    const RunResult a = run_lan(build_udp_frame(
            from_phone(net::kPhone1, net::kPhone1Mac, 5060, net::kRemote, 5060, ans)));
    ASSERT_EQ(a.ret, TC_ACT_REDIRECT);
    const auto rtp = pinhole(net::kPhone1, 41000);
    ASSERT_TRUE(rtp);
    EXPECT_EQ(slot(rtp->public_port).remote_ip, be32(net::kRemote));
}

TEST_F(SipRewrite, RegistrarAnswerSetsTheBindingLifetime) {
    set_clock(100);
    register_phone1();
    // The answer to that REGISTER: its Call-ID and CSeq (only a matching answer counts).
    const auto answer = [](const std::string &cseq, const std::string &contact) {
        return replace_all(response("200 OK", "203.0.113.1:5060", cseq, contact, ""),
                           "c1@203.0.113.1", "1j9FpLxk3uxtm8tn@203.0.113.1");
    };
    const std::string ok =
            answer("1 REGISTER", "Contact: <sip:1001@203.0.113.1:5060>;expires=120\r\n");
    const RunResult r = run_wan_in(build_udp_frame(from_internet(net::kRegistrar, 5060, 5060, ok)));
    ASSERT_EQ(r.ret, TC_ACT_REDIRECT);
    const auto b = binding(net::kPhone1, 5060);
    ASSERT_TRUE(b);
    EXPECT_EQ(b->lifetime_s, 120u);
    EXPECT_EQ(slot(5060).stamp, 100u + 120u);

    // Un-REGISTER: expires=0 ends the binding at the next sweep.
    const std::string unreg = replace_all(
            replace_all(sip_register(net::kPhone1, 5060, net::kRegistrar), "CSeq: 1", "CSeq: 2"),
            "Expires: 3600", "Expires: 0");
    ASSERT_EQ(run_lan(build_udp_frame(from_phone(net::kPhone1, net::kPhone1Mac, 5060,
                                                 net::kRegistrar, 5060, unreg)))
                      .ret,
              TC_ACT_REDIRECT);
    const std::string gone =
            answer("2 REGISTER", "Contact: <sip:1001@203.0.113.1:5060>;expires=0\r\n");
    ASSERT_EQ(run_wan_in(build_udp_frame(from_internet(net::kRegistrar, 5060, 5060, gone))).ret,
              TC_ACT_REDIRECT);
    EXPECT_EQ(slot(5060).stamp, 100u);
    sweep();
    EXPECT_FALSE(binding(net::kPhone1, 5060));
}

TEST_F(SipRewrite, MalformedSipPassesUntouchedAndIsCounted) {
    // Content-Length larger than the body: truncated. Nothing may be half rewritten.
    const std::string bad = "REGISTER sip:198.51.100.7 SIP/2.0\r\n"
                            "Via: SIP/2.0/UDP 192.168.1.10:5060;branch=z9hG4bK-x\r\n"
                            "Content-Length: 500\r\n\r\nabc";
    const auto f = build_udp_frame(
            from_phone(net::kPhone1, net::kPhone1Mac, 5060, net::kRegistrar, 5060, bad));
    expect_untouched(run_lan(f), f);
    EXPECT_EQ(counter(SIPALG_CTR_SIP_MALFORMED), 1u);
    EXPECT_EQ(counter(SIPALG_CTR_SIP_OUT), 0u);
}

TEST_F(SipRewrite, OversizeSipPassesUntouchedAndIsCounted) {
    const UdpFrameSpec reg = phone_register(net::kPhone1, net::kPhone1Mac, 5060);
    const auto f = build_udp_frame(with_payload(reg, oversize(reg.payload)));
    expect_untouched(run_lan(f), f);
    EXPECT_EQ(counter(SIPALG_CTR_SLOW_TOO_LARGE), 1u);
}

TEST_F(SipRewrite, KeepaliveIsForwardedThroughTheBindingUnchanged) {
    register_phone1();
    const UdpFrameSpec in =
            from_phone(net::kPhone1, net::kPhone1Mac, 5060, net::kRegistrar, 5060, "\r\n\r\n");
    const RunResult r = run_lan(build_udp_frame(in));
    EXPECT_EQ(r.ret, TC_ACT_REDIRECT);
    EXPECT_EQ(r.out, build_udp_frame(snat_expected(in, 5060)));
    EXPECT_EQ(counter(SIPALG_CTR_SIP_UNCHANGED), 1u);
}

} // namespace

namespace {

// 183 with SDP (early media) scopes the pinholes exactly like the 200 does.
TEST_F(SipRewrite, InboundSessionProgressWithSdpScopesThePinholes) {
    register_phone1();
    ASSERT_EQ(invite_out().ret, TC_ACT_REDIRECT);
    const UdpFrameSpec in = from_internet(net::kRemote, 5060, 5060,
                                          response("183 Session Progress", "203.0.113.1:5060",
                                                   "1 INVITE", "", sdp("198.51.100.21", 50000)));
    const RunResult r = run_wan_in(build_udp_frame(in));
    ASSERT_EQ(r.ret, TC_ACT_REDIRECT);
    expect_frame(r.out, with_payload(dnat_expected(in, net::kPhone1, net::kPhone1Mac, 5060),
                                     response("183 Session Progress", "192.168.1.10:5060",
                                              "1 INVITE", "", sdp("198.51.100.21", 50000))));
    EXPECT_EQ(slot(40000).remote_ip, be32("198.51.100.21"));
}

// The phone's ACK: Via/From/Contact and the Call-ID host go public, nothing else changes.
TEST_F(SipRewrite, OutboundAckIsRewrittenExactly) {
    register_phone1();
    auto ack = [](const std::string &host) {
        return "ACK sip:2001@198.51.100.20:5060 SIP/2.0\r\n"
               "Via: SIP/2.0/UDP " +
               host +
               ";branch=z9hG4bK-ack;rport\r\n"
               "From: <sip:1001@" +
               host +
               ">;tag=f1\r\n"
               "To: <sip:2001@198.51.100.20>;tag=t2\r\n"
               "Call-ID: c1@" +
               host.substr(0, host.find(':')) + "\r\nCSeq: 1 ACK\r\nContact: <sip:1001@" + host +
               ">\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n";
    };
    const UdpFrameSpec in = from_phone(net::kPhone1, net::kPhone1Mac, 5060, net::kRemote, 5060,
                                       ack("192.168.1.10:5060"));
    const RunResult r = run_lan(build_udp_frame(in));
    ASSERT_EQ(r.ret, TC_ACT_REDIRECT);
    expect_frame(r.out, with_payload(snat_expected(in, 5060), ack("203.0.113.1:5060")));
}

// NOTIFY (message waiting) from the registrar reaches the phone its binding names.
TEST_F(SipRewrite, InboundNotifyReachesThePhoneExactly) {
    register_phone1();
    const std::string body = "Messages-Waiting: yes\r\nVoice-Message: 2/0\r\n";
    const std::string notify = "NOTIFY sip:1001@203.0.113.1:5060 SIP/2.0\r\n"
                               "Via: SIP/2.0/UDP 198.51.100.7:5060;branch=z9hG4bK-mwi\r\n"
                               "From: <sip:voicemail@198.51.100.7>;tag=v1\r\n"
                               "To: <sip:1001@203.0.113.1:5060>\r\n"
                               "Call-ID: mwi-1\r\nCSeq: 1 NOTIFY\r\n"
                               "Event: message-summary\r\nSubscription-State: active\r\n"
                               "Content-Type: application/simple-message-summary\r\n"
                               "Content-Length: " +
                               std::to_string(body.size()) + "\r\n\r\n" + body;
    const UdpFrameSpec in = from_internet(net::kRegistrar, 5060, 5060, notify);
    const RunResult r = run_wan_in(build_udp_frame(in));
    ASSERT_EQ(r.ret, TC_ACT_REDIRECT);
    expect_frame(r.out, with_payload(dnat_expected(in, net::kPhone1, net::kPhone1Mac, 5060),
                                     replace_all(notify, "203.0.113.1:5060", "192.168.1.10:5060")));
}

// REFER both ways: inbound, the phone's binding in the Request-URI is restored; outbound, a
// Refer-To naming another LAN phone's socket gets that phone's public binding.
TEST_F(SipRewrite, ReferIsRewrittenBothWays) {
    register_phone1();
    ASSERT_EQ(run_lan(build_udp_frame(phone_register(net::kPhone2, net::kPhone2Mac, 5062))).ret,
              TC_ACT_REDIRECT);
    const auto b2 = binding(net::kPhone2, 5062);
    ASSERT_TRUE(b2);
    const std::string refer_in = "REFER sip:1001@203.0.113.1:5060 SIP/2.0\r\n"
                                 "Via: SIP/2.0/UDP 198.51.100.20:5060;branch=z9hG4bK-ref\r\n"
                                 "From: <sip:2001@198.51.100.20>;tag=t2\r\n"
                                 "To: <sip:1001@203.0.113.1:5060>;tag=f1\r\n"
                                 "Call-ID: call-1\r\nCSeq: 3 REFER\r\n"
                                 "Refer-To: <sip:3000@198.51.100.20>\r\n"
                                 "Content-Length: 0\r\n\r\n";
    const UdpFrameSpec in = from_internet(net::kRemote, 5060, 5060, refer_in);
    const RunResult r = run_wan_in(build_udp_frame(in));
    ASSERT_EQ(r.ret, TC_ACT_REDIRECT);
    const auto expected = build_udp_frame(
            with_payload(dnat_expected(in, net::kPhone1, net::kPhone1Mac, 5060),
                         replace_all(refer_in, "203.0.113.1:5060", "192.168.1.10:5060")));
    EXPECT_EQ(r.out, expected) << first_diff(r.out, expected);

    auto refer_out = [](const std::string &me, const std::string &target) {
        return "REFER sip:2001@198.51.100.20 SIP/2.0\r\n"
               "Via: SIP/2.0/UDP " +
               me +
               ";branch=z9hG4bK-ref2\r\n"
               "From: <sip:1001@" +
               me +
               ">;tag=f1\r\n"
               "To: <sip:2001@198.51.100.20>;tag=t2\r\n"
               "Call-ID: call-1\r\nCSeq: 4 REFER\r\n"
               "Refer-To: <sip:1002@" +
               target + ">\r\nContent-Length: 0\r\n\r\n";
    };
    const UdpFrameSpec out =
            from_phone(net::kPhone1, net::kPhone1Mac, 5060, net::kRemote, 5060,
                       refer_out("192.168.1.10:5060", std::string(net::kPhone2) + ":5062"));
    const RunResult o = run_lan(build_udp_frame(out));
    ASSERT_EQ(o.ret, TC_ACT_REDIRECT);
    expect_frame(o.out, with_payload(snat_expected(out, 5060),
                                     refer_out("203.0.113.1:5060",
                                               "203.0.113.1:" + std::to_string(b2->public_port))));
}

} // namespace
