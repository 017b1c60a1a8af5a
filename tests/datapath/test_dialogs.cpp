// The dialog table through the real programs (BPF_PROG_TEST_RUN): many calls on one phone SIP
// socket, each with its own pinholes and scope; every offer/answer shape (phone or peer offers,
// delayed offer, re-INVITE moving or holding media, streams added and removed, forked early
// answers); and every way a call ends (BYE from either side and its answer, CANCEL, a failed
// INVITE, the dialog timeout) closing exactly that call's pinholes. Each message is checked
// byte for byte as the router sends it.
#include "datapath.hpp"

#include <map>
#include <string>
#include <vector>

using namespace sipalg::test;

namespace {

constexpr const char *kPub = "203.0.113.1";
constexpr const char *kRemote2 = "198.51.100.30";

// One side of the router: the phone's own view (private) or the Internet's (public).
struct Side {
    std::string ip;   // the phone's address as this side sees it
    std::string host; // its SIP host:port
};
const Side kPriv{net::kPhone1, "192.168.1.10:5060"};
const Side kPublic{kPub, "203.0.113.1:5060"};

// An SDP media line: its port (0: rejected / removed) and an optional direction attribute.
struct Line {
    std::uint16_t port;
    std::string attr;
};

// SDP with one m=audio line per entry; `conn` overrides the c= address (0.0.0.0 hold).
std::string sdp(const std::string &ip, const std::vector<Line> &lines,
                const std::string &conn = "") {
    std::string s = "v=0\r\no=- 7 7 IN IP4 " + ip + "\r\ns=-\r\nc=IN IP4 " +
                    (conn.empty() ? ip : conn) + "\r\nt=0 0\r\n";
    for (const Line &l : lines) {
        s += "m=audio " + std::to_string(l.port) + " RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n";
        if (!l.attr.empty())
            s += "a=" + l.attr + "\r\n";
    }
    return s;
}

std::string tail(const std::string &contact, const std::string &body) {
    return "Contact: <" + contact + ">\r\n" +
           (body.empty() ? std::string() : "Content-Type: application/sdp\r\n") +
           "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

// A request of a call the phone placed (Call-ID cid@<phone>), from the phone.
std::string phone_req(const Side &s, const std::string &method, const std::string &cid, int cseq,
                      const std::string &body = "") {
    return method + " sip:2001@198.51.100.20 SIP/2.0\r\nVia: SIP/2.0/UDP " + s.host +
           ";branch=z9hG4bK-" + cid + std::to_string(cseq) + ";rport\r\nFrom: <sip:1001@" + s.host +
           ">;tag=f-" + cid + "\r\nTo: <sip:2001@198.51.100.20>\r\nCall-ID: " + cid + "@" + s.ip +
           "\r\nCSeq: " + std::to_string(cseq) + " " + method + "\r\n" +
           tail("sip:1001@" + s.host, body);
}

// The peer's response to such a request; `tag` names the answering fork.
std::string peer_resp(const Side &s, const std::string &status, const std::string &method,
                      const std::string &cid, int cseq, const std::string &body = "",
                      const std::string &tag = "t") {
    return "SIP/2.0 " + status + "\r\nVia: SIP/2.0/UDP " + s.host + ";branch=z9hG4bK-" + cid +
           std::to_string(cseq) + ";rport=5060\r\nFrom: <sip:1001@" + s.host + ">;tag=f-" + cid +
           "\r\nTo: <sip:2001@198.51.100.20>;tag=" + tag + "\r\nCall-ID: " + cid + "@" + s.ip +
           "\r\nCSeq: " + std::to_string(cseq) + " " + method + "\r\n" +
           tail("sip:2001@198.51.100.20", body);
}

// The Call-ID of call `cid`: the phone's own form (cid@<phone>, which the router rewrites) for a
// call the phone placed, the peer's for one it received.
std::string call_id(const Side &s, const std::string &cid, bool phone_placed) {
    return cid + "@" + (phone_placed ? s.ip : std::string("198.51.100.20"));
}

// A request from the peer to the phone: of a call the peer placed, or (phone_placed) an
// in-dialog request of one the phone placed.
std::string peer_req(const Side &s, const std::string &method, const std::string &cid, int cseq,
                     const std::string &body = "", bool phone_placed = false) {
    return method + " sip:1001@" + s.host +
           " SIP/2.0\r\nVia: SIP/2.0/UDP 198.51.100.20:5060;branch=z9hG4bK-" + cid +
           std::to_string(cseq) + "\r\nFrom: <sip:2001@198.51.100.20>;tag=r-" + cid +
           "\r\nTo: <sip:1001@" + s.host + ">\r\nCall-ID: " + call_id(s, cid, phone_placed) +
           "\r\nCSeq: " + std::to_string(cseq) + " " + method + "\r\n" +
           tail("sip:2001@198.51.100.20", body);
}

// The phone's response to such a request.
std::string phone_resp(const Side &s, const std::string &status, const std::string &method,
                       const std::string &cid, int cseq, const std::string &body = "",
                       bool phone_placed = false) {
    return "SIP/2.0 " + status + "\r\nVia: SIP/2.0/UDP 198.51.100.20:5060;branch=z9hG4bK-" + cid +
           std::to_string(cseq) + "\r\nFrom: <sip:2001@198.51.100.20>;tag=r-" + cid +
           "\r\nTo: <sip:1001@" + s.host + ">;tag=p-" + cid +
           "\r\nCall-ID: " + call_id(s, cid, phone_placed) + "\r\nCSeq: " + std::to_string(cseq) +
           " " + method + "\r\n" + tail("sip:1001@" + s.host, body);
}

class Dialogs : public SharedDatapath {
  protected:
    void configure() override {
        set_clock(100);
        register_phone1();
    }

    // A message from the phone, built for each side by `build`: it must leave the WAN exactly as
    // build(kPublic), through the binding (public port 5060).
    template <class F>
    void out(F build) {
        const UdpFrameSpec in =
                from_phone(net::kPhone1, net::kPhone1Mac, 5060, net::kRemote, 5060, build(kPriv));
        const RunResult r = run_lan(build_udp_frame(in));
        ASSERT_EQ(r.ret, TC_ACT_REDIRECT);
        const auto expected =
                build_udp_frame(with_payload(snat_expected(in, 5060), build(kPublic)));
        EXPECT_EQ(r.out, expected) << first_diff(r.out, expected);
    }
    // A message from the Internet to the phone: it must reach the phone exactly as build(kPriv).
    template <class F>
    void in(F build) {
        const UdpFrameSpec frame = from_internet(net::kRemote, 5060, 5060, build(kPublic));
        const RunResult r = run_wan_in(build_udp_frame(frame));
        ASSERT_EQ(r.ret, TC_ACT_REDIRECT);
        const auto expected = build_udp_frame(with_payload(
                dnat_expected(frame, net::kPhone1, net::kPhone1Mac, 5060), build(kPriv)));
        EXPECT_EQ(r.out, expected) << first_diff(r.out, expected);
    }

    // Does RTP from `remote` to public port `port` get through the router?
    bool media_in(const char *remote, std::uint16_t port) {
        return run_wan_in(build_udp_frame(from_internet(remote, 50000, port, rtp_payload()))).ret ==
               TC_ACT_REDIRECT;
    }
    bool open(std::uint16_t port) { return slot(port).state == SIPALG_SLOT_PINHOLE; }

    std::vector<sipalg_dialog> dialogs() const {
        std::vector<sipalg_dialog> v;
        for_each_entry<sipalg_dialog_key, sipalg_dialog>(
                skel_->maps.sipalg_dialogs,
                [&](const sipalg_dialog_key &, const sipalg_dialog &d) { v.push_back(d); });
        return v;
    }

    // The phone places call `cid` with one audio line on `port`; the peer at 198.51.100.20
    // answers it from `peer_port`.
    void call_out(const std::string &cid, std::uint16_t port, std::uint16_t peer_port = 50000) {
        out([&](const Side &s) { return phone_req(s, "INVITE", cid, 1, sdp(s.ip, {{port, ""}})); });
        in([&](const Side &s) {
            return peer_resp(s, "200 OK", "INVITE", cid, 1, sdp(net::kRemote, {{peer_port, ""}}));
        });
        out([&](const Side &s) { return phone_req(s, "ACK", cid, 1); });
    }
};

TEST_F(Dialogs, TwoCallsOnOneSocketWithInterleavedAnswersEachGetTheirOwnScope) {
    out([](const Side &s) { return phone_req(s, "INVITE", "a", 1, sdp(s.ip, {{40000, ""}})); });
    out([](const Side &s) { return phone_req(s, "INVITE", "b", 1, sdp(s.ip, {{40010, ""}})); });
    EXPECT_EQ(state().dialogs, 2u);
    EXPECT_EQ(state().pinholes, 4u);
    EXPECT_EQ(slot(40000).remote_ip, 0u); // pending until each call's answer
    EXPECT_EQ(slot(40010).remote_ip, 0u);

    // b is answered first, from another peer; then a.
    in([](const Side &s) {
        return peer_resp(s, "200 OK", "INVITE", "b", 1, sdp(kRemote2, {{52000, ""}}));
    });
    in([](const Side &s) {
        return peer_resp(s, "200 OK", "INVITE", "a", 1, sdp(net::kRemote, {{50000, ""}}));
    });
    EXPECT_EQ(slot(40000).remote_ip, be32(net::kRemote));
    EXPECT_EQ(slot(40001).remote_ip, be32(net::kRemote));
    EXPECT_EQ(slot(40010).remote_ip, be32(kRemote2));
    EXPECT_EQ(slot(40011).remote_ip, be32(kRemote2));
    EXPECT_TRUE(media_in(net::kRemote, 40000));
    EXPECT_TRUE(media_in(kRemote2, 40010));
    EXPECT_FALSE(media_in(kRemote2, 40000)) << "b's peer must not reach a's media";
    for (const sipalg_dialog &d : dialogs())
        EXPECT_EQ(d.state, SIPALG_DLG_CONFIRMED);
    EXPECT_EQ(slot(40000).refs, 1);

    // A BYE naming another Call-ID (the host part differs: another call) ends nothing.
    in([](const Side &s) { return peer_req(s, "BYE", "a", 2); });
    for (const sipalg_dialog &d : dialogs())
        EXPECT_EQ(d.state, SIPALG_DLG_CONFIRMED);
}

// The phone ends one of two calls, the peer ends the other: each BYE and its answer close
// exactly that call's pinholes.
TEST_F(Dialogs, ByeFromEitherSideClosesOnlyThatCall) {
    call_out("a", 40000);
    call_out("b", 40010, 52000);
    ASSERT_EQ(state().pinholes, 4u);
    ASSERT_EQ(state().dialogs, 2u);

    out([](const Side &s) { return phone_req(s, "BYE", "a", 2); });
    EXPECT_EQ(state().pinholes, 4u);
    in([](const Side &s) { return peer_resp(s, "200 OK", "BYE", "a", 2); });
    EXPECT_FALSE(open(40000));
    EXPECT_FALSE(open(40001));
    EXPECT_TRUE(open(40010));
    EXPECT_TRUE(media_in(net::kRemote, 40010)) << "b's audio goes on";
    EXPECT_EQ(state().dialogs, 1u);

    // b: this time the peer hangs up. Its BYE names the phone's Call-ID as the peer sees it.
    const std::string bye = "BYE sip:1001@203.0.113.1:5060 SIP/2.0\r\n"
                            "Via: SIP/2.0/UDP 198.51.100.20:5060;branch=z9hG4bK-bye-b\r\n"
                            "From: <sip:2001@198.51.100.20>;tag=t\r\n"
                            "To: <sip:1001@203.0.113.1:5060>;tag=f-b\r\n"
                            "Call-ID: b@203.0.113.1\r\nCSeq: 7 BYE\r\nContent-Length: 0\r\n\r\n";
    const UdpFrameSpec f = from_internet(net::kRemote, 5060, 5060, bye);
    ASSERT_EQ(run_wan_in(build_udp_frame(f)).ret, TC_ACT_REDIRECT);
    ASSERT_EQ(dialogs().size(), 1u);
    EXPECT_EQ(dialogs()[0].state, SIPALG_DLG_ENDING);
    const std::string ok = "SIP/2.0 200 OK\r\n"
                           "Via: SIP/2.0/UDP 198.51.100.20:5060;branch=z9hG4bK-bye-b\r\n"
                           "From: <sip:2001@198.51.100.20>;tag=t\r\n"
                           "To: <sip:1001@192.168.1.10:5060>;tag=f-b\r\n"
                           "Call-ID: b@192.168.1.10\r\nCSeq: 7 BYE\r\nContent-Length: 0\r\n\r\n";
    const UdpFrameSpec o = from_phone(net::kPhone1, net::kPhone1Mac, 5060, net::kRemote, 5060, ok);
    const RunResult r = run_lan(build_udp_frame(o));
    ASSERT_EQ(r.ret, TC_ACT_REDIRECT);
    EXPECT_EQ(r.out, build_udp_frame(with_payload(snat_expected(o, 5060),
                                                  replace_all(ok, "192.168.1.10", kPub))));
    EXPECT_EQ(state().pinholes, 0u);
    EXPECT_EQ(state().dialogs, 0u);
    EXPECT_EQ(counter(SIPALG_CTR_DLG_ENDED), 2u);
    EXPECT_EQ(counter(SIPALG_CTR_DLG_CREATED), 2u);
}

// A call from the Internet (the phone answers), and a BYE nobody answers: it ends after
// SIPALG_DLG_ENDING_S.
TEST_F(Dialogs, IncomingCallAnswerIsScopedAndAnUnansweredByeEndsItLater) {
    in([](const Side &s) {
        return peer_req(s, "INVITE", "in", 1, sdp(net::kRemote, {{50000, ""}}));
    });
    ASSERT_EQ(state().dialogs, 1u);
    EXPECT_EQ(state().pinholes, 0u);
    EXPECT_EQ(dialogs()[0].flags & SIPALG_DLGF_INBOUND, SIPALG_DLGF_INBOUND);
    out([](const Side &s) {
        return phone_resp(s, "200 OK", "INVITE", "in", 1, sdp(s.ip, {{40000, ""}}));
    });
    EXPECT_EQ(slot(40000).remote_ip, be32(net::kRemote)) << "the answer opens them scoped";
    EXPECT_TRUE(media_in(net::kRemote, 40000));
    EXPECT_EQ(dialogs()[0].state, SIPALG_DLG_CONFIRMED);

    // in@192.168.1.10 is not the peer's in@198.51.100.20: another call, nothing changes.
    out([](const Side &s) { return phone_req(s, "BYE", "in", 2); });
    EXPECT_EQ(dialogs()[0].state, SIPALG_DLG_CONFIRMED);
    in([](const Side &s) { return peer_req(s, "BYE", "in", 2); });
    EXPECT_EQ(dialogs()[0].state, SIPALG_DLG_ENDING);
    set_clock(100 + SIPALG_DLG_ENDING_S - 1);
    sweep();
    EXPECT_EQ(state().dialogs, 1u);
    set_clock(100 + SIPALG_DLG_ENDING_S + 1);
    sweep();
    EXPECT_EQ(state().dialogs, 0u);
    EXPECT_EQ(state().pinholes, 0u);
    EXPECT_EQ(counter(SIPALG_CTR_DLG_TIMEOUT), 1u);
}

// The peer moves its media (re-INVITE with a new address), then the phone moves its own port:
// each time the new pinholes are scoped at once and the old ones close with the answer.
TEST_F(Dialogs, ReInvitesMoveTheAddressAndThePort) {
    call_out("a", 40000);
    ASSERT_TRUE(media_in(net::kRemote, 40000));

    in([](const Side &s) {
        return peer_req(s, "INVITE", "a", 5, sdp(kRemote2, {{52000, ""}}), true);
    });
    EXPECT_TRUE(media_in(net::kRemote, 40000)) << "the scope moves with the phone's answer";
    out([](const Side &s) {
        return phone_resp(s, "200 OK", "INVITE", "a", 5, sdp(s.ip, {{40000, ""}}), true);
    });
    EXPECT_EQ(slot(40000).remote_ip, be32(kRemote2));
    EXPECT_EQ(slot(40001).remote_ip, be32(kRemote2));
    EXPECT_EQ(state().dialogs, 1u) << "the re-INVITE belongs to the call";
    EXPECT_TRUE(media_in(kRemote2, 40000));
    EXPECT_FALSE(media_in(net::kRemote, 40000));

    // The phone moves its RTP port: its offer's pinholes are scoped to the peer at once, the
    // old ones close with the answer.
    out([](const Side &s) { return phone_req(s, "INVITE", "a", 2, sdp(s.ip, {{40020, ""}})); });
    EXPECT_EQ(slot(40020).remote_ip, be32(kRemote2));
    EXPECT_TRUE(media_in(kRemote2, 40020));
    EXPECT_TRUE(media_in(kRemote2, 40000)) << "until the answer, the old port still works";
    in([](const Side &s) {
        return peer_resp(s, "200 OK", "INVITE", "a", 2, sdp(kRemote2, {{52000, ""}}));
    });
    EXPECT_FALSE(open(40000));
    EXPECT_FALSE(open(40001));
    EXPECT_TRUE(open(40020));
    EXPECT_TRUE(open(40021));
    EXPECT_EQ(state().pinholes, 2u);
    EXPECT_EQ(state().dialogs, 1u);
}

// A re-INVITE the peer refuses (488) drops what its offer opened; the call goes on as it was.
TEST_F(Dialogs, AFailedReInviteKeepsTheCallAsItWas) {
    call_out("a", 40000);
    out([](const Side &s) { return phone_req(s, "INVITE", "a", 2, sdp(s.ip, {{40020, ""}})); });
    EXPECT_TRUE(open(40020));
    in([](const Side &s) { return peer_resp(s, "488 Not Acceptable Here", "INVITE", "a", 2); });
    EXPECT_FALSE(open(40020));
    EXPECT_TRUE(open(40000));
    EXPECT_TRUE(media_in(net::kRemote, 40000));
    ASSERT_EQ(state().dialogs, 1u);
    EXPECT_EQ(dialogs()[0].state, SIPALG_DLG_CONFIRMED);
    EXPECT_EQ(dialogs()[0].flags & SIPALG_DLGF_LOCAL_OFFER, 0);
}

// Hold and resume both ways (a=sendonly, an RFC 2543 c=0.0.0.0 hold, a=sendrecv): the pinholes
// and their scope stay, and a held call whose media stops outlives the pinhole idle time.
TEST_F(Dialogs, HoldAndResumeKeepThePinholes) {
    call_out("a", 40000);
    out([](const Side &s) {
        return phone_req(s, "INVITE", "a", 2, sdp(s.ip, {{40000, "sendonly"}}));
    });
    in([](const Side &s) {
        return peer_resp(s, "200 OK", "INVITE", "a", 2, sdp(net::kRemote, {{50000, "recvonly"}}));
    });
    EXPECT_EQ(slot(40000).remote_ip, be32(net::kRemote));
    in([](const Side &s) {
        return peer_req(s, "INVITE", "a", 3, sdp(net::kRemote, {{50000, ""}}, "0.0.0.0"), true);
    });
    out([](const Side &s) {
        return phone_resp(s, "200 OK", "INVITE", "a", 3, sdp(s.ip, {{40000, "recvonly"}}), true);
    });
    EXPECT_EQ(slot(40000).remote_ip, be32(net::kRemote)) << "0.0.0.0 names nobody: scope kept";
    EXPECT_EQ(state().pinholes, 2u);

    // On hold with no media for longer than the pinhole idle time (60 s here): still there.
    set_clock(100 + 90);
    sweep();
    EXPECT_TRUE(open(40000));
    EXPECT_TRUE(open(40001));

    in([](const Side &s) {
        return peer_req(s, "INVITE", "a", 4, sdp(net::kRemote, {{50000, "sendrecv"}}), true);
    });
    out([](const Side &s) {
        return phone_resp(s, "200 OK", "INVITE", "a", 4, sdp(s.ip, {{40000, "sendrecv"}}), true);
    });
    EXPECT_TRUE(media_in(net::kRemote, 40000));
    EXPECT_EQ(state().pinholes, 2u);
    EXPECT_EQ(state().dialogs, 1u);
}

// A video stream added by the phone's re-offer, then removed by the peer's (port 0): its
// pinholes come and go, the audio stays.
TEST_F(Dialogs, AStreamAddedThenRemovedOpensAndClosesItsPinholes) {
    call_out("a", 40000);
    out([](const Side &s) {
        return phone_req(s, "INVITE", "a", 2, sdp(s.ip, {{40000, ""}, {40030, ""}}));
    });
    in([](const Side &s) {
        return peer_resp(s, "200 OK", "INVITE", "a", 2,
                         sdp(net::kRemote, {{50000, ""}, {50030, ""}}));
    });
    EXPECT_EQ(state().pinholes, 4u);
    EXPECT_EQ(slot(40030).remote_ip, be32(net::kRemote));
    in([](const Side &s) {
        return peer_req(s, "INVITE", "a", 3, sdp(net::kRemote, {{50000, ""}, {0, ""}}), true);
    });
    EXPECT_EQ(state().pinholes, 4u) << "removed when the phone's answer agrees";
    out([](const Side &s) {
        return phone_resp(s, "200 OK", "INVITE", "a", 3, sdp(s.ip, {{40000, ""}, {0, ""}}), true);
    });
    EXPECT_FALSE(open(40030));
    EXPECT_FALSE(open(40031));
    EXPECT_TRUE(open(40000));
    EXPECT_EQ(state().pinholes, 2u);
}

// Delayed offer: the phone's INVITE has no SDP, the peer offers in its 200, the phone answers in
// the ACK: the pinholes open with the ACK, already scoped.
TEST_F(Dialogs, DelayedOfferIsAnsweredInTheAck) {
    out([](const Side &s) { return phone_req(s, "INVITE", "d", 1); });
    EXPECT_EQ(state().dialogs, 1u);
    EXPECT_EQ(state().pinholes, 0u);
    in([](const Side &s) {
        return peer_resp(s, "200 OK", "INVITE", "d", 1, sdp(net::kRemote, {{50000, ""}}));
    });
    out([](const Side &s) { return phone_req(s, "ACK", "d", 1, sdp(s.ip, {{40000, ""}})); });
    EXPECT_EQ(slot(40000).remote_ip, be32(net::kRemote));
    EXPECT_EQ(slot(40001).remote_ip, be32(net::kRemote));
    EXPECT_TRUE(media_in(net::kRemote, 40000));
    EXPECT_EQ(dialogs()[0].flags & (SIPALG_DLGF_LOCAL_OFFER | SIPALG_DLGF_REMOTE_OFFER), 0);
}

// Forking: two 183s with their own SDP; the latest early answer has the early media, the final
// answer decides, the other fork's address gets nothing.
TEST_F(Dialogs, ForkedEarlyAnswersAndTheFinalAnswerDecides) {
    out([](const Side &s) { return phone_req(s, "INVITE", "f", 1, sdp(s.ip, {{40000, ""}})); });
    in([](const Side &s) {
        return peer_resp(s, "183 Session Progress", "INVITE", "f", 1,
                         sdp(net::kRemote, {{50000, ""}}), "fork1");
    });
    EXPECT_TRUE(media_in(net::kRemote, 40000));
    in([](const Side &s) {
        return peer_resp(s, "183 Session Progress", "INVITE", "f", 1, sdp(kRemote2, {{52000, ""}}),
                         "fork2");
    });
    EXPECT_TRUE(media_in(kRemote2, 40000));
    in([](const Side &s) {
        return peer_resp(s, "200 OK", "INVITE", "f", 1, sdp(net::kRemote, {{50000, ""}}), "fork1");
    });
    EXPECT_TRUE(media_in(net::kRemote, 40000));
    EXPECT_FALSE(media_in(kRemote2, 40000));
    EXPECT_EQ(state().pinholes, 2u);
    EXPECT_EQ(dialogs()[0].state, SIPALG_DLG_CONFIRMED);
}

// CANCEL of a ringing call (from the phone, and from the peer), and a final failure of the
// initial INVITE: the call never was, its pinholes close at once.
TEST_F(Dialogs, CancelAndAFailedInviteEndTheCall) {
    out([](const Side &s) { return phone_req(s, "INVITE", "c", 1, sdp(s.ip, {{40000, ""}})); });
    in([](const Side &s) { return peer_resp(s, "180 Ringing", "INVITE", "c", 1); });
    out([](const Side &s) { return phone_req(s, "CANCEL", "c", 1); });
    EXPECT_EQ(state().dialogs, 0u);
    EXPECT_EQ(state().pinholes, 0u);

    out([](const Side &s) { return phone_req(s, "INVITE", "r", 1, sdp(s.ip, {{40010, ""}})); });
    in([](const Side &s) { return peer_resp(s, "486 Busy Here", "INVITE", "r", 1); });
    EXPECT_EQ(state().dialogs, 0u);
    EXPECT_EQ(state().pinholes, 0u);

    in([](const Side &s) {
        return peer_req(s, "INVITE", "i", 1, sdp(net::kRemote, {{50000, ""}}));
    });
    out([](const Side &s) {
        return phone_resp(s, "183 Session Progress", "INVITE", "i", 1, sdp(s.ip, {{40020, ""}}));
    });
    EXPECT_TRUE(open(40020));
    in([](const Side &s) { return peer_req(s, "CANCEL", "i", 1); });
    EXPECT_EQ(state().dialogs, 0u);
    EXPECT_EQ(state().pinholes, 0u);
    EXPECT_EQ(counter(SIPALG_CTR_DLG_ENDED), 3u);
}

// The dialog timeout: a call with neither SIP nor media for the idle time ends, one whose media
// flows does not.
TEST_F(Dialogs, DialogTimeoutEndsOnlySilentCalls) {
    sipalg_limits l = default_limits();
    l.dlg_idle_s = 120;
    write_limits(l);
    call_out("quiet", 40000);
    call_out("busy", 40010);
    set_clock(100 + 100);
    ASSERT_TRUE(media_in(net::kRemote, 40010));
    set_clock(100 + 125);
    sweep();
    EXPECT_FALSE(open(40000));
    EXPECT_FALSE(open(40001));
    EXPECT_TRUE(open(40010));
    EXPECT_EQ(state().dialogs, 1u);
    EXPECT_EQ(counter(SIPALG_CTR_DLG_TIMEOUT), 1u);
    set_clock(100 + 100 + 125);
    sweep();
    EXPECT_EQ(state().dialogs, 0u);
    EXPECT_EQ(state().pinholes, 0u);
}

// Limits: a phone over its dialog limit gets no state for the new call (counted), and the calls
// it has keep theirs.
TEST_F(Dialogs, TheDialogLimitRefusesNewCallsOnly) {
    sipalg_limits l = default_limits();
    l.dlg_max_phone = 1;
    write_limits(l);
    call_out("a", 40000);
    out([](const Side &s) { return phone_req(s, "INVITE", "b", 1, sdp(s.ip, {{40010, ""}})); });
    EXPECT_EQ(state().dialogs, 1u);
    EXPECT_FALSE(open(40010)) << "no dialog, no pinhole: nothing would ever close it";
    EXPECT_EQ(counter(SIPALG_CTR_DLG_LIMIT_PHONE), 1u);
    EXPECT_TRUE(media_in(net::kRemote, 40000));
    l.dlg_max_total = 1;
    l.dlg_max_phone = 64;
    write_limits(l);
    out([](const Side &s) { return phone_req(s, "INVITE", "b", 1, sdp(s.ip, {{40010, ""}})); });
    EXPECT_EQ(counter(SIPALG_CTR_DLG_LIMIT_TOTAL), 1u);
    EXPECT_EQ(state().dialogs, 1u);
}

// State only for the sender: an SDP naming another LAN host (here phone 2's address), or a
// privileged port of the phone itself, opens no pinhole; the address is still hidden.
TEST_F(Dialogs, MediaNamingAnotherHostOrAPrivilegedPortOpensNothing) {
    out([](const Side &s) {
        return phone_req(s, "INVITE", "x", 1,
                         sdp(s.ip == kPriv.ip ? std::string(net::kPhone2) : s.ip, {{40000, ""}}));
    });
    EXPECT_FALSE(open(40000));
    EXPECT_FALSE(pinhole(net::kPhone2, 40000));
    out([](const Side &s) { return phone_req(s, "INVITE", "y", 1, sdp(s.ip, {{80, ""}})); });
    EXPECT_FALSE(pinhole(net::kPhone1, 80));
    EXPECT_EQ(state().pinholes, 0u);
    EXPECT_EQ(counter(SIPALG_CTR_PIN_NOT_SENDER), 2u);
}

} // namespace
