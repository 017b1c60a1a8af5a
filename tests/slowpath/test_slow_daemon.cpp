// The slow-path daemon's processing function (loader/slow/rewrite.cpp) on whole messages,
// against a freshly loaded BPF object whose maps are pinned the way `sipalg load` pins them, so
// bindings and pinholes go through the real admin program: exact output bytes, the addresses
// the result is sent with, and the state it leaves behind.
#include "pinned_daemon.hpp"
#include "slow/rewrite.hpp"
#include "slow/tcp_bindings.hpp"
#include "slow/tcp_relay.hpp"

#include <memory>

using namespace sipalg::test;
using namespace sipalg::slow;

namespace {

// An SDP well over the kernel's 2048 bytes: audio + video, a=rtcp, ICE candidates, padding.
std::string big_sdp(const std::string &ip, std::uint16_t a, std::uint16_t a_rtcp, std::uint16_t v,
                    std::uint16_t v_rtcp) {
    auto cand = [&](std::uint16_t rtp, std::uint16_t rtcp) {
        return "a=candidate:1 1 UDP 2130706431 " + ip + " " + std::to_string(rtp) +
               " typ host\r\na=candidate:1 2 UDP 2130706430 " + ip + " " + std::to_string(rtcp) +
               " typ host\r\n";
    };
    std::string s = "v=0\r\no=- 1 1 IN IP4 " + ip + "\r\ns=-\r\nc=IN IP4 " + ip + "\r\nt=0 0\r\n";
    s += "m=audio " + std::to_string(a) + " RTP/AVP 0\r\na=rtcp:" + std::to_string(a_rtcp) +
         " IN IP4 " + ip + "\r\n" + cand(a, a_rtcp);
    s += "m=video " + std::to_string(v) + " RTP/AVP 96\r\na=rtcp:" + std::to_string(v_rtcp) +
         "\r\n" + cand(v, v_rtcp);
    for (int i = 0; i < 40; i++)
        s += "a=fmtp:96 profile-level-id=42e01f;packetization-mode=1;x-pad=" + std::to_string(i) +
             "\r\n";
    return s;
}

// The same with audio, its RTCP, video and its RTCP on four consecutive ports from `first`.
std::string big_sdp(const std::string &ip, std::uint16_t first) {
    return big_sdp(ip, first, static_cast<std::uint16_t>(first + 1),
                   static_cast<std::uint16_t>(first + 2), static_cast<std::uint16_t>(first + 3));
}

std::string invite(const std::string &host, const std::string &body,
                   const std::string &call = "big-1") {
    return "INVITE sip:2001@198.51.100.20 SIP/2.0\r\nVia: SIP/2.0/UDP " + host +
           ";branch=z9hG4bK-big;rport\r\nFrom: <sip:1001@" + host +
           ">;tag=f1\r\nTo: <sip:2001@198.51.100.20>\r\nCall-ID: " + call +
           "\r\nCSeq: 1 INVITE\r\n"
           "Contact: <sip:1001@" +
           host +
           ">\r\nContent-Type: application/sdp\r\nContent-Length: " + std::to_string(body.size()) +
           "\r\n\r\n" + body;
}

std::string ok200(const std::string &via, const std::string &body,
                  const std::string &call = "big-1", const std::string &cseq = "1 INVITE") {
    return "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP " + via +
           ";branch=z9hG4bK-big;rport=5060\r\nFrom: <sip:1001@" + via +
           ">;tag=f1\r\nTo: <sip:2001@198.51.100.20>;tag=t2\r\nCall-ID: " + call +
           "\r\nCSeq: " + cseq + "\r\n" +
           (body.empty() ? "" : "Content-Type: application/sdp\r\n") +
           "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

std::vector<std::uint8_t> bytes(const std::string &s) {
    return {s.begin(), s.end()};
}

std::string text(const std::vector<std::uint8_t> &b) {
    return {b.begin(), b.end()};
}

// The daemon rewrote the message into exactly `want`.
testing::AssertionResult rewritten_to(const Outcome &r, const std::string &want) {
    if (r.verdict != Verdict::Rewritten)
        return testing::AssertionFailure() << "not rewritten: " << r.why;
    if (text(r.payload) != want)
        return testing::AssertionFailure() << "rewritten into\n"
                                           << text(r.payload) << "\ninstead of\n"
                                           << want;
    return testing::AssertionSuccess();
}

class SlowDaemon : public PinnedDaemon {
  protected:
    SlowDaemon() : PinnedDaemon("slow") {}
    Outcome out(const std::string &msg) {
        Datagram d;
        d.dir = Dir::Out;
        d.src = {h(net::kPhone1), 5060};
        d.dst = {h(net::kRemote), 5060};
        d.payload = bytes(msg);
        return process(d, net_, pinned_.state());
    }
    // Phone 1's INVITE for `call`, its media on four consecutive ports from `first`.
    Outcome phone_invites(std::uint16_t first, const std::string &call = "big-1") {
        return out(invite("192.168.1.10:5060", big_sdp(net::kPhone1, first), call));
    }
    Outcome in(const std::string &msg, std::uint16_t public_port = 5060) {
        Datagram d;
        d.dir = Dir::In;
        d.src = {h(net::kRemote), 5060};
        d.dst = {h(kPub), public_port};
        d.payload = bytes(msg);
        return process(d, net_, pinned_.state());
    }
};

TEST_F(SlowDaemon, LargeInviteIsRewrittenExactlyAndOpensEveryPinhole) {
    // Phone 2 holds public 40000, so phone 1's audio cannot keep its port: the rewrite must
    // use the pinhole's port everywhere (m=, candidates), not the private one.
    ASSERT_EQ(open_pinhole(net::kPhone2, 40000, net::kRemote, 0).public_port, 40000);
    const std::string msg = invite("192.168.1.10:5060", big_sdp(net::kPhone1, 40000));
    ASSERT_GT(msg.size(), 2048u);
    const Outcome r = out(msg);
    ASSERT_EQ(r.verdict, Verdict::Rewritten) << r.why;
    EXPECT_EQ(r.from, (Addr{h(kPub), 5060})); // the binding it created, port-preserving
    EXPECT_EQ(r.to, (Addr{h(net::kRemote), 5060}));
    const auto a = pinhole(net::kPhone1, 40000), ac = pinhole(net::kPhone1, 40001),
               v = pinhole(net::kPhone1, 40002), vc = pinhole(net::kPhone1, 40003);
    ASSERT_TRUE(a && ac && v && vc);
    EXPECT_NE(a->public_port, 40000);
    const std::string want =
            invite("203.0.113.1:5060",
                   big_sdp(kPub, a->public_port, ac->public_port, v->public_port, vc->public_port));
    EXPECT_EQ(text(r.payload), want);
    EXPECT_EQ(slot(a->public_port).owner, 5060); // remembered for the answer and the BYE
    EXPECT_EQ(slot(a->public_port).remote_ip, 0u);
}

TEST_F(SlowDaemon, LargeAnswerRestoresTheViaAndScopesThePinholes) {
    ASSERT_EQ(phone_invites(40000).verdict, Verdict::Rewritten);
    const std::string answer = big_sdp("198.51.100.30", 30000);
    const Outcome r = in(ok200("203.0.113.1:5060", answer));
    ASSERT_EQ(r.verdict, Verdict::Rewritten) << r.why;
    EXPECT_EQ(r.from, (Addr{h(net::kRemote), 5060}));
    EXPECT_EQ(r.to, (Addr{h(net::kPhone1), 5060}));
    // The phone gets its own Via back; the peer's SDP is not touched.
    EXPECT_EQ(text(r.payload), ok200("192.168.1.10:5060", answer));
    const auto a = pinhole(net::kPhone1, 40000), vc = pinhole(net::kPhone1, 40003);
    ASSERT_TRUE(a && vc);
    EXPECT_EQ(slot(a->public_port).remote_ip, be32("198.51.100.30"));
    EXPECT_EQ(slot(vc->public_port).remote_ip, be32("198.51.100.30"));
}

// Two large calls on one phone socket through the daemon: each answer scopes only its own
// call's pinholes, and ending one (the peer's BYE, the phone's 200) closes only its own, by the
// same dialog rules as the fast path.
TEST_F(SlowDaemon, TwoCallsOnOneSocketKeepTheirOwnPinholes) {
    ASSERT_EQ(phone_invites(40000, "big-1").verdict, Verdict::Rewritten);
    ASSERT_EQ(phone_invites(40010, "big-2").verdict, Verdict::Rewritten);
    EXPECT_EQ(state().dialogs, 2u);
    EXPECT_EQ(state().pinholes, 8u);
    const std::string b2 = big_sdp("198.51.100.32", 32000);
    const std::string b1 = big_sdp("198.51.100.31", 31000);
    ASSERT_EQ(in(ok200("203.0.113.1:5060", b2, "big-2")).verdict, Verdict::Rewritten);
    ASSERT_EQ(in(ok200("203.0.113.1:5060", b1, "big-1")).verdict, Verdict::Rewritten);
    EXPECT_EQ(slot(40000).remote_ip, be32("198.51.100.31"));
    EXPECT_EQ(slot(40003).remote_ip, be32("198.51.100.31"));
    EXPECT_EQ(slot(40010).remote_ip, be32("198.51.100.32"));
    EXPECT_EQ(slot(40013).remote_ip, be32("198.51.100.32"));

    const std::string bye = "BYE sip:1001@203.0.113.1:5060 SIP/2.0\r\n"
                            "Via: SIP/2.0/UDP 198.51.100.20:5060;branch=z9hG4bK-bye\r\n"
                            "From: <sip:2001@198.51.100.20>;tag=t2\r\n"
                            "To: <sip:1001@203.0.113.1:5060>;tag=f1\r\n"
                            "Call-ID: big-1\r\nCSeq: 2 BYE\r\nContent-Length: 0\r\n\r\n";
    ASSERT_TRUE(rewritten_to(in(bye), replace_all(bye, "203.0.113.1:5060", "192.168.1.10:5060")));
    EXPECT_EQ(state().pinholes, 8u) << "closed by the BYE's answer";
    const std::string ok = "SIP/2.0 200 OK\r\n"
                           "Via: SIP/2.0/UDP 198.51.100.20:5060;branch=z9hG4bK-bye\r\n"
                           "From: <sip:2001@198.51.100.20>;tag=t2\r\n"
                           "To: <sip:1001@192.168.1.10:5060>;tag=f1\r\n"
                           "Call-ID: big-1\r\nCSeq: 2 BYE\r\nContent-Length: 0\r\n\r\n";
    ASSERT_TRUE(rewritten_to(out(ok), replace_all(ok, "192.168.1.10:5060", "203.0.113.1:5060")));
    EXPECT_EQ(state().dialogs, 1u);
    EXPECT_EQ(state().pinholes, 4u);
    EXPECT_FALSE(pinhole(net::kPhone1, 40000));
    EXPECT_TRUE(pinhole(net::kPhone1, 40010));
    EXPECT_EQ(slot(40010).refs, 1);
}

// The daemon follows an exchange the way the fast path does: a re-INVITE moving the phone's
// port opens the new pinholes scoped to the peer at once and the answer closes the old ones; a
// CANCEL of another, ringing call closes exactly its pinholes.
TEST_F(SlowDaemon, ReInviteMovesThePortAndCancelEndsARingingCall) {
    const std::string b1 = big_sdp("198.51.100.31", 31000);
    ASSERT_EQ(phone_invites(40000, "big-1").verdict, Verdict::Rewritten);
    ASSERT_EQ(in(ok200("203.0.113.1:5060", b1, "big-1")).verdict, Verdict::Rewritten);
    const std::string moved =
            replace_all(invite("192.168.1.10:5060", big_sdp(net::kPhone1, 40020), "big-1"),
                        "CSeq: 1 INVITE", "CSeq: 2 INVITE");
    ASSERT_TRUE(rewritten_to(out(moved),
                             replace_all(invite("203.0.113.1:5060", big_sdp(kPub, 40020), "big-1"),
                                         "CSeq: 1 INVITE", "CSeq: 2 INVITE")));
    EXPECT_EQ(slot(40020).remote_ip, be32("198.51.100.31")) << "scoped at once";
    EXPECT_EQ(state().pinholes, 8u);
    ASSERT_EQ(in(ok200("203.0.113.1:5060", b1, "big-1", "2 INVITE")).verdict, Verdict::Rewritten);
    EXPECT_EQ(state().pinholes, 4u);
    EXPECT_FALSE(pinhole(net::kPhone1, 40000));
    EXPECT_TRUE(pinhole(net::kPhone1, 40023));

    ASSERT_EQ(phone_invites(40010, "big-2").verdict, Verdict::Rewritten);
    EXPECT_EQ(state().pinholes, 8u);
    const std::string cancel = "CANCEL sip:2001@198.51.100.20 SIP/2.0\r\n"
                               "Via: SIP/2.0/UDP 192.168.1.10:5060;branch=z9hG4bK-big;rport\r\n"
                               "From: <sip:1001@192.168.1.10:5060>;tag=f1\r\n"
                               "To: <sip:2001@198.51.100.20>\r\n"
                               "Call-ID: big-2\r\nCSeq: 1 CANCEL\r\nContent-Length: 0\r\n\r\n";
    ASSERT_TRUE(rewritten_to(out(cancel),
                             replace_all(cancel, "192.168.1.10:5060", "203.0.113.1:5060")));
    EXPECT_EQ(state().pinholes, 4u);
    EXPECT_EQ(state().dialogs, 1u);
    EXPECT_TRUE(pinhole(net::kPhone1, 40020));
    EXPECT_FALSE(pinhole(net::kPhone1, 40010));
}

TEST_F(SlowDaemon, WhatCannotBeFinishedIsNeverSentOn) {
    // Over even the slow path's limit, malformed, or to a port no binding owns: nothing to send.
    EXPECT_EQ(out(invite("192.168.1.10:5060", std::string(slow_msg_max(), 'x'))).verdict,
              Verdict::Failed);
    EXPECT_EQ(out("INVITE sip:x SIP/2.0\r\nContent-Length: 99\r\n\r\nshort").verdict,
              Verdict::Failed);
    EXPECT_EQ(in(ok200("203.0.113.1:5070", ""), 5070).verdict, Verdict::NoBinding);
    // A keepalive crosses through the binding untouched.
    const Outcome k = out("\r\n\r\n");
    ASSERT_EQ(k.verdict, Verdict::Unchanged);
    EXPECT_EQ(k.from, (Addr{h(kPub), 5060}));
    EXPECT_EQ(text(k.payload), "\r\n\r\n");
}

// ---- SIP over TCP: the proxy's relay (loader/slow/tcp_relay) ----

// A phone on TCP: its SIP socket listens on 5062 (Via/Contact), its connection comes from an
// ephemeral port; the binding is the SIP socket's.
constexpr std::uint16_t kTcpSipPort = 5062, kTcpEphemeral = 45678;

std::string tcp_register(const std::string &host) {
    return with_length("REGISTER sip:198.51.100.7 SIP/2.0\r\nVia: SIP/2.0/TCP " + host +
                               ";branch=z9hG4bK-r1\r\nFrom: <sip:1001@198.51.100.7>;tag=a\r\n"
                               "To: <sip:1001@198.51.100.7>\r\nCall-ID: tcp-reg\r\n"
                               "CSeq: 1 REGISTER\r\nContact: <sip:1001@" +
                               host + ";transport=tcp>\r\nExpires: 300\r\n",
                       "");
}

std::string small_sdp(const std::string &ip, std::uint16_t port) {
    return "v=0\r\no=- 1 1 IN IP4 " + ip + "\r\ns=-\r\nc=IN IP4 " + ip + "\r\nt=0 0\r\nm=audio " +
           std::to_string(port) + " RTP/AVP 0\r\n";
}

std::string tcp_invite(const std::string &host, const std::string &media_ip, std::uint16_t port) {
    return with_length("INVITE sip:2001@198.51.100.7 SIP/2.0\r\nVia: SIP/2.0/TCP " + host +
                               ";branch=z9hG4bK-i1\r\nFrom: <sip:1001@198.51.100.7>;tag=b\r\n"
                               "To: <sip:2001@198.51.100.7>\r\nCall-ID: tcp-call\r\n"
                               "CSeq: 1 INVITE\r\nContact: <sip:1001@" +
                               host + ";transport=tcp>\r\nContent-Type: application/sdp\r\n",
                       small_sdp(media_ip, port));
}

// What the server sends for the phone: an incoming INVITE to the registered Contact.
std::string tcp_incoming(const std::string &contact) {
    return tcp_invite_from(contact, "198.51.100.7", "z9hG4bK-s1", "tcp-in", 7,
                           small_sdp("198.51.100.30", 30000));
}

class SlowTcp : public SlowDaemon {
  protected:
    void SetUp() override {
        SlowDaemon::SetUp();
        relay_ = std::make_unique<TcpRelay>(Addr{h(net::kPhone1), kTcpEphemeral},
                                            Addr{h(net::kRegistrar), 5060}, net_, pinned_.state());
    }
    void TearDown() override {
        relay_.reset();
        SlowDaemon::TearDown();
    }
    // Feeds `bytes` from the phone in the given cuts (offsets), collecting all output.
    RelayOutput from_phone(const std::string &bytes, std::vector<std::size_t> cuts) {
        RelayOutput o;
        cuts.push_back(bytes.size());
        std::size_t at = 0;
        for (const std::size_t c : cuts) {
            relay_->from_phone(reinterpret_cast<const std::uint8_t *>(bytes.data()) + at, c - at,
                               o);
            at = c;
        }
        return o;
    }
    RelayOutput from_server(const std::string &bytes) {
        RelayOutput o;
        relay_->from_server(reinterpret_cast<const std::uint8_t *>(bytes.data()), bytes.size(), o);
        return o;
    }
    std::unique_ptr<TcpRelay> relay_;
};

TEST_F(SlowTcp, MessagesSplitAndJoinedAcrossSegmentsAreRewrittenExactly) {
    const std::string phone = std::string(net::kPhone1) + ":" + std::to_string(kTcpSipPort);
    const std::string reg = tcp_register(phone), inv = tcp_invite(phone, net::kPhone1, 40000);
    // Cut inside the first message, then one segment holding the end of it, a keepalive and
    // the start of the next, then the rest.
    const std::string stream = reg + "\r\n\r\n" + inv;
    const RelayOutput o = from_phone(stream, {7, reg.size() + 30});
    ASSERT_FALSE(o.close) << o.why;

    const auto b = binding(net::kPhone1, kTcpSipPort);
    ASSERT_TRUE(b) << "the binding is keyed by the phone's SIP port, not the connection's";
    EXPECT_FALSE(binding(net::kPhone1, kTcpEphemeral));
    EXPECT_EQ(relay_->upstream_from(), (Addr{h(kPub), b->public_port}));
    const auto rtp = pinhole(net::kPhone1, 40000);
    ASSERT_TRUE(rtp);
    const std::string pub = std::string(kPub) + ":" + std::to_string(b->public_port);
    EXPECT_EQ(text(o.to_server),
              tcp_register(pub) + "\r\n\r\n" + tcp_invite(pub, kPub, rtp->public_port));
    EXPECT_TRUE(o.to_phone.empty());
    ASSERT_EQ(o.events.size(), 2u);
    EXPECT_EQ(o.events[0].counter, SIPALG_CTR_DAEMON_HANDLED);
    EXPECT_EQ(o.events[1].counter, SIPALG_CTR_DAEMON_HANDLED);

    // The server's incoming call on the same connection reaches the phone's SIP socket; a
    // keepalive answer passes as it is.
    const RelayOutput in = from_server("\r\n" + tcp_incoming(pub));
    ASSERT_FALSE(in.close) << in.why;
    EXPECT_EQ(text(in.to_phone), "\r\n" + tcp_incoming(phone));
    EXPECT_TRUE(in.to_server.empty());
}

TEST_F(SlowTcp, ResponsesUseTheFirstMessagesSipPortAndUnframeableStreamsClose) {
    const std::string phone = std::string(net::kPhone1) + ":" + std::to_string(kTcpSipPort);
    ASSERT_FALSE(from_phone(tcp_register(phone), {}).close);
    const auto b = binding(net::kPhone1, kTcpSipPort);
    ASSERT_TRUE(b);
    // A response from the phone names no Via of its own: the connection's SIP port holds.
    const std::string ok = with_length(
            "SIP/2.0 200 OK\r\nVia: SIP/2.0/TCP 198.51.100.7;branch=z9hG4bK-s1\r\n"
            "From: <sip:2001@198.51.100.7>;tag=c\r\nTo: <sip:1001@198.51.100.7>;tag=d\r\n"
            "Call-ID: tcp-in\r\nCSeq: 7 INVITE\r\nContact: <sip:1001@" +
                    phone + ";transport=tcp>\r\n",
            "");
    const RelayOutput r = from_phone(ok, {});
    const std::string pub = std::string(kPub) + ":" + std::to_string(b->public_port);
    std::string want = ok;
    want.replace(want.find(phone), phone.size(), pub);
    EXPECT_EQ(text(r.to_server), want);
    // No Content-Length on a stream: it cannot be framed, the connection closes, nothing sent.
    const RelayOutput bad =
            from_phone("OPTIONS sip:x SIP/2.0\r\nVia: SIP/2.0/TCP " + phone + "\r\n\r\n", {});
    EXPECT_TRUE(bad.close);
    EXPECT_TRUE(bad.to_server.empty());
    // A server speaking before the phone has no binding to speak to: dropped and counted.
    TcpRelay fresh({h(net::kPhone2), kTcpEphemeral}, {h(net::kRegistrar), 5060}, net_,
                   pinned_.state());
    RelayOutput early;
    const std::string req = tcp_incoming(pub);
    fresh.from_server(reinterpret_cast<const std::uint8_t *>(req.data()), req.size(), early);
    EXPECT_TRUE(early.to_phone.empty());
    ASSERT_EQ(early.events.size(), 1u);
    EXPECT_EQ(early.events[0].counter, SIPALG_CTR_DAEMON_DROPPED);
}

// What the registrar answers to the phone's REGISTER (status, CSeq method).
std::string tcp_answer(const std::string &pub, int status, const char *method) {
    return with_length(
            "SIP/2.0 " + std::to_string(status) + " Whatever\r\nVia: SIP/2.0/TCP " + pub +
                    ";branch=z9hG4bK-r1\r\nFrom: <sip:1001@198.51.100.7>;tag=a\r\n"
                    "To: <sip:1001@198.51.100.7>;tag=r\r\nCall-ID: tcp-reg\r\nCSeq: 1 " +
                    method + "\r\nContact: <sip:1001@" + pub + ";transport=tcp>;expires=300\r\n",
            "");
}

TEST_F(SlowTcp, OnlyA2xxToTheConnectionsOwnRegisterConfirmsTheBinding) {
    const std::string phone = std::string(net::kPhone1) + ":" + std::to_string(kTcpSipPort);
    // A 2xx to a REGISTER nobody sent on this connection confirms nothing.
    ASSERT_FALSE(from_phone(tcp_invite(phone, net::kPhone1, 40000), {}).close);
    const auto b = binding(net::kPhone1, kTcpSipPort);
    ASSERT_TRUE(b);
    const std::string pub = std::string(kPub) + ":" + std::to_string(b->public_port);
    EXPECT_FALSE(from_server(tcp_answer(pub, 200, "REGISTER")).registered);
    ASSERT_FALSE(from_phone(tcp_register(phone), {}).close);
    EXPECT_FALSE(from_server(tcp_answer(pub, 401, "REGISTER")).registered);
    EXPECT_FALSE(from_server(tcp_answer(pub, 200, "INVITE")).registered);
    const RelayOutput ok = from_server(tcp_answer(pub, 200, "REGISTER"));
    EXPECT_TRUE(ok.registered);
    EXPECT_EQ(text(ok.to_phone), tcp_answer(phone, 200, "REGISTER"));
    EXPECT_EQ(relay_->sip_port(), kTcpSipPort);
}

TEST_F(SlowTcp, ARegistrarsNewConnectionIsRelayedToTheBindingsPrivateEndpoint) {
    const auto pub_port = pinned_.state().binding_touch({h(net::kPhone1), kTcpSipPort}, true);
    ASSERT_NE(pub_port, 0);
    const std::string phone = std::string(net::kPhone1) + ":" + std::to_string(kTcpSipPort);
    const std::string pub = std::string(kPub) + ":" + std::to_string(pub_port);
    // The registrar connected from an ephemeral port to the binding; the relay's phone is the
    // binding's private endpoint, known before any message.
    TcpRelay in({h(net::kPhone1), kTcpSipPort}, {h(net::kRegistrar), 41000}, net_, pinned_.state(),
                {h(kPub), pub_port});
    EXPECT_EQ(in.upstream_from(), (Addr{h(kPub), pub_port}));
    RelayOutput o;
    const std::string req = "\r\n" + tcp_incoming(pub);
    in.from_server(reinterpret_cast<const std::uint8_t *>(req.data()), req.size(), o);
    ASSERT_FALSE(o.close) << o.why;
    EXPECT_EQ(text(o.to_phone), "\r\n" + tcp_incoming(phone));
    // The phone's answer names its private address; the registrar sees the binding's.
    const std::string ok = with_length(
            "SIP/2.0 200 OK\r\nVia: SIP/2.0/TCP 198.51.100.7;branch=z9hG4bK-s1\r\n"
            "From: <sip:2001@198.51.100.7>;tag=c\r\nTo: <sip:1001@198.51.100.7>;tag=d\r\n"
            "Call-ID: tcp-in\r\nCSeq: 7 INVITE\r\nContact: <sip:1001@" +
                    phone + ";transport=tcp>\r\nContent-Type: application/sdp\r\n",
            small_sdp(net::kPhone1, 40002));
    RelayOutput back;
    in.from_phone(reinterpret_cast<const std::uint8_t *>(ok.data()), ok.size(), back);
    ASSERT_FALSE(back.close) << back.why;
    const auto rtp = pinhole(net::kPhone1, 40002);
    ASSERT_TRUE(rtp) << "the answer's media opened a pinhole, as on the phone's own connection";
    EXPECT_NE(text(back.to_server).find("<sip:1001@" + pub + ";transport=tcp>"), std::string::npos);
    EXPECT_EQ(text(back.to_server).find(net::kPhone1), std::string::npos) << text(back.to_server);
}

TEST_F(SlowTcp, TcpBindingsFollowTheBindingAndAdmitOnlyItsRegistrars) {
    std::vector<std::pair<std::uint16_t, bool>> steered;
    TcpBindings tb([&](std::uint16_t port, bool on) { steered.emplace_back(port, on); });
    const auto pub_port = pinned_.state().binding_touch({h(net::kPhone1), kTcpSipPort}, true);
    ASSERT_NE(pub_port, 0);
    tb.confirm(pub_port, {h(net::kPhone1), kTcpSipPort}, {h(net::kRegistrar), 5060});
    tb.confirm(pub_port, {h(net::kPhone1), kTcpSipPort}, {h(net::kRegistrar), 5061});
    ASSERT_EQ(steered.size(), 1u) << "one binding, steered once";
    EXPECT_EQ(steered[0], std::make_pair(pub_port, true));
    const TcpBinding *b = tb.find(pub_port, pinned_.state());
    ASSERT_NE(b, nullptr);
    EXPECT_EQ(b->peers.size(), 1u) << "a registrar is its address, whatever port it used";
    EXPECT_TRUE(TcpBindings::admits(*b, h(net::kRegistrar)));
    EXPECT_FALSE(TcpBindings::admits(*b, h(net::kStranger)));
    EXPECT_EQ(tb.find(static_cast<std::uint16_t>(pub_port + 1), pinned_.state()), nullptr);

    // The binding goes (aged out, closed): the record and its steering go with it.
    sipalg_admin a{};
    a.op = SIPALG_OP_BINDING_CLOSE;
    a.priv_ip = be32(net::kPhone1);
    a.priv_port = htons(kTcpSipPort);
    ASSERT_EQ(admin(a).result, 0);
    tb.prune(pinned_.state());
    EXPECT_EQ(tb.size(), 0u);
    ASSERT_EQ(steered.size(), 2u);
    EXPECT_EQ(steered[1], std::make_pair(pub_port, false));

    // The port now belongs to another phone: a record made for the first one is not used.
    tb.confirm(pub_port, {h(net::kPhone1), kTcpSipPort}, {h(net::kRegistrar), 5060});
    ASSERT_EQ(pinned_.state().binding_touch({h(net::kPhone2), pub_port}, true), pub_port);
    EXPECT_EQ(tb.find(pub_port, pinned_.state()), nullptr);
    EXPECT_EQ(steered.back(), std::make_pair(pub_port, false));
}

} // namespace
