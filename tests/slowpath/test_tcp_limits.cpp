// The TCP proxy's limits without sockets: who may open a connection, and when one is closed
// for being slow (slowloris), never connecting, or idle. The stream is framed by the proxy's
// own SipStream, fed the way the proxy feeds it, on a clock the test moves.
#include "slow/sip_stream.hpp"
#include "slow/tcp_limits.hpp"

#include <gtest/gtest.h>

#include <string>

using sipalg::slow::SipStream;
using sipalg::slow::TcpAdmission;
using sipalg::slow::TcpLimits;
using sipalg::slow::TcpTimes;
using std::chrono::seconds;
using Refusal = TcpAdmission::Refusal;
// The suite below is named TcpExpiry after the function it tests.
using Expiry = sipalg::slow::TcpExpiry;

namespace {

const TcpTimes::Clock::time_point t0{};

TcpLimits limits(std::size_t total, std::size_t per_source) {
    TcpLimits l;
    l.max_conns = total;
    l.max_conns_per_source = per_source;
    l.handshake = seconds(30);
    l.idle = seconds(7440);
    return l;
}

// One direction as the proxy drives it: bytes into the framer, the pieces out, the timers told.
struct Direction {
    SipStream stream{32768};
    void feed(TcpTimes &t, TcpTimes::Clock::time_point now, const std::string &bytes) {
        stream.feed(reinterpret_cast<const std::uint8_t *>(bytes.data()), bytes.size());
        SipStream::Piece p;
        std::size_t messages = 0, pieces = 0;
        while (stream.next(&p)) {
            ASSERT_NE(p.kind, SipStream::Kind::Broken) << p.why;
            pieces++;
            messages += p.kind == SipStream::Kind::Message;
        }
        t.framed(now, messages, pieces, stream.buffered() > 0);
    }
};

const std::string kOptions = "OPTIONS sip:1001@203.0.113.10 SIP/2.0\r\nVia: SIP/2.0/TCP "
                             "192.168.1.10:5060;branch=z9hG4bK-1\r\nCall-ID: x\r\nCSeq: 1 "
                             "OPTIONS\r\nContent-Length: 0\r\n\r\n";

// One connection's clock and its upstream direction, under the limits most cases use.
class TcpExpiry : public testing::Test {
  protected:
    // What tcp_expiry() says `s` seconds after the connection began.
    Expiry at(int s) const { return tcp_expiry(t, t0 + seconds(s), l); }
    // `bytes` arrive upstream `s` seconds after the connection began.
    void feed(int s, const std::string &bytes) { up.feed(t, t0 + seconds(s), bytes); }

    TcpLimits l = limits(10, 10);
    TcpTimes t{t0};
    Direction up;
};

} // namespace

TEST(TcpAdmission, CapsEachSourceAndTheTotal) {
    const TcpLimits l = limits(5, 2);
    TcpAdmission a(l);
    EXPECT_EQ(a.admit(1), Refusal::None);
    EXPECT_EQ(a.admit(1), Refusal::None);
    EXPECT_EQ(a.admit(1), Refusal::Source);
    EXPECT_EQ(a.of(1), 2u);
    EXPECT_EQ(a.admit(2), Refusal::None);
    EXPECT_EQ(a.admit(3), Refusal::None);
    EXPECT_EQ(a.admit(4), Refusal::None);
    EXPECT_EQ(a.total(), 5u);
    // Full: even a source holding nothing is refused, by the total.
    EXPECT_EQ(a.admit(5), Refusal::Total);
    EXPECT_EQ(a.of(5), 0u);
    a.release(1);
    EXPECT_EQ(a.admit(1), Refusal::None);
    EXPECT_EQ(a.admit(5), Refusal::Total);
    a.release(4);
    EXPECT_EQ(a.admit(5), Refusal::None);
}

TEST(TcpAdmission, ReleasingForgetsASourceAndNeverGoesBelowZero) {
    const TcpLimits l = limits(3, 3);
    TcpAdmission a(l);
    for (std::uint32_t src = 1; src <= 3; src++)
        ASSERT_EQ(a.admit(src), Refusal::None);
    for (std::uint32_t src = 1; src <= 3; src++)
        a.release(src);
    EXPECT_EQ(a.total(), 0u);
    a.release(1); // a second close of the same connection
    a.release(9); // never admitted
    EXPECT_EQ(a.total(), 0u);
    for (int i = 0; i < 3; i++)
        EXPECT_EQ(a.admit(7), Refusal::None);
    EXPECT_EQ(a.admit(7), Refusal::Total);
}

TEST_F(TcpExpiry, OneBytePerSecondIsClosedAtTheHandshakeTimeout) {
    int closed_at = -1;
    for (int s = 1; s <= 120 && closed_at < 0; s++) {
        feed(s, std::string(1, kOptions[static_cast<std::size_t>(s) % kOptions.size()]));
        if (at(s) != Expiry::None) {
            EXPECT_EQ(at(s), Expiry::Message);
            closed_at = s;
        }
    }
    EXPECT_EQ(closed_at, 30);
}

TEST_F(TcpExpiry, ASlowMessageAfterAGoodOneIsClosedToo) {
    feed(1, kOptions);
    EXPECT_EQ(at(100), Expiry::None);
    // Then the start of a message, a byte every 10 s: its own clock starts at its first byte.
    for (int s = 100; s < 130; s += 10) {
        feed(s, kOptions.substr(static_cast<std::size_t>(s / 10), 1));
        EXPECT_EQ(at(s), Expiry::None) << s;
    }
    EXPECT_EQ(at(129), Expiry::None);
    EXPECT_EQ(at(130), Expiry::Message);
}

TEST_F(TcpExpiry, KeepalivesAloneNeverCountAsTheFirstMessage) {
    for (int s = 5; s < 30; s += 5) {
        feed(s, "\r\n\r\n");
        EXPECT_EQ(at(s), Expiry::None);
    }
    EXPECT_EQ(at(30), Expiry::Message);
}

TEST_F(TcpExpiry, MessagesSplitAcrossReadsAreNotSlowAndABusyStreamLivesOn) {
    // For 10 minutes, a message every 20 s, each arriving in two halves 15 s apart, the first
    // half glued to the end of the one before: never a whole message late.
    const std::size_t half = kOptions.size() / 2;
    feed(1, kOptions.substr(0, half));
    for (int s = 16; s < 600; s += 20) {
        feed(s, kOptions.substr(half) + kOptions.substr(0, half));
        EXPECT_EQ(at(s + 14), Expiry::None) << s;
    }
}

TEST_F(TcpExpiry, IdleIsMeasuredFromTheLastMessageOrKeepalive) {
    l.idle = seconds(7440);
    Direction down;
    feed(1, kOptions);
    EXPECT_EQ(at(7440), Expiry::None);
    EXPECT_EQ(at(7441), Expiry::Idle);
    // A keepalive from the other side (RFC 5626 pong) counts as much as a message.
    down.feed(t, t0 + seconds(7000), "\r\n");
    EXPECT_EQ(at(7441), Expiry::None);
    EXPECT_EQ(at(14440), Expiry::Idle);
}

TEST_F(TcpExpiry, AConnectionThatNeverConnectsIsClosedFromWhenItBegan) {
    feed(20, kOptions); // the first message: the proxy connects upstream
    t.connect_began(t0 + seconds(20));
    EXPECT_EQ(at(49), Expiry::None);
    EXPECT_EQ(at(50), Expiry::Connect);
    t.connecting = false;
    EXPECT_EQ(at(50), Expiry::None);
}
