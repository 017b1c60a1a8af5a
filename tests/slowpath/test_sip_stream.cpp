// Framing of SIP over TCP (loader/slow/sip_stream): whole messages by Content-Length, CRLF
// keepalives passed as they are, and a stream that cannot be framed reported broken.
#include "slow/sip_stream.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

using sipalg::slow::sip_content_length;
using sipalg::slow::SipStream;

namespace {

std::string msg(const std::string &start, const std::string &body,
                const std::string &cl_name = "Content-Length") {
    return start + "\r\nVia: SIP/2.0/TCP 192.168.1.10:5060;branch=z9hG4bK1\r\n" + cl_name + ": " +
           std::to_string(body.size()) + "\r\n\r\n" + body;
}

void feed(SipStream &s, const std::string &bytes) {
    s.feed(reinterpret_cast<const std::uint8_t *>(bytes.data()), bytes.size());
}

// Every piece the stream gives now, as "K:" / "M:" / "B:" + bytes (or the reason).
std::vector<std::string> drain(SipStream &s) {
    std::vector<std::string> got;
    SipStream::Piece p;
    for (int i = 0; i < 100 && s.next(&p); i++) {
        if (p.kind == SipStream::Kind::Broken) {
            got.push_back("B:" + p.why);
            break;
        }
        got.push_back((p.kind == SipStream::Kind::Message ? "M:" : "K:") +
                      std::string(p.bytes.begin(), p.bytes.end()));
    }
    return got;
}

std::size_t cl(const std::string &h) {
    return static_cast<std::size_t>(
            sip_content_length(reinterpret_cast<const std::uint8_t *>(h.data()), h.size()));
}

TEST(SipStream, SeveralMessagesAndKeepalivesInOneSegment) {
    const std::string a = msg("REGISTER sip:x SIP/2.0", ""), b = msg("SIP/2.0 200 OK", "v=0\r\n");
    SipStream s(4096);
    feed(s, "\r\n\r\n" + a + b + "\r\n");
    EXPECT_EQ(drain(s), (std::vector<std::string>{"K:\r\n\r\n", "M:" + a, "M:" + b, "K:\r\n"}));
    EXPECT_EQ(s.buffered(), 0u);
}

TEST(SipStream, OneMessageAcrossSegmentsByteByByte) {
    const std::string a = msg("INVITE sip:x SIP/2.0", std::string(300, 'b'), "l");
    SipStream s(4096);
    for (std::size_t i = 0; i + 1 < a.size(); i++) {
        feed(s, a.substr(i, 1));
        ASSERT_TRUE(drain(s).empty()) << "complete after " << i + 1 << " of " << a.size();
    }
    feed(s, a.substr(a.size() - 1));
    EXPECT_EQ(drain(s), std::vector<std::string>{"M:" + a});
}

TEST(SipStream, BodyLengthIsExactlyContentLength) {
    // The body's own CRLFCRLF does not end the message; the bytes after it start the next one.
    const std::string a = msg("MESSAGE sip:x SIP/2.0", "one\r\n\r\ntwo");
    SipStream s(4096);
    feed(s, a + "OPTIONS");
    EXPECT_EQ(drain(s), std::vector<std::string>{"M:" + a});
    EXPECT_EQ(s.buffered(), 7u);
}

TEST(SipStream, UnframeableStreamsAreBroken) {
    SipStream none(4096);
    feed(none, "OPTIONS sip:x SIP/2.0\r\nVia: x\r\n\r\n");
    ASSERT_EQ(drain(none).size(), 1u);
    EXPECT_EQ(drain(none)[0].substr(0, 2), "B:");
    SipStream big(256);
    feed(big, msg("INVITE sip:x SIP/2.0", std::string(300, 'b')));
    EXPECT_EQ(drain(big)[0].substr(0, 2), "B:");
    SipStream endless(256);
    feed(endless, "INVITE sip:x SIP/2.0\r\nX-Pad: " + std::string(300, 'p'));
    EXPECT_EQ(drain(endless)[0].substr(0, 2), "B:");
    // Broken stays broken, whatever comes after.
    feed(endless, "\r\n\r\n");
    EXPECT_EQ(drain(endless)[0].substr(0, 2), "B:");
}

TEST(SipStream, ContentLengthHeader) {
    EXPECT_EQ(cl("INVITE sip:x SIP/2.0\r\nContent-Length: 12\r\n"), 12u);
    EXPECT_EQ(cl("INVITE sip:x SIP/2.0\r\ncontent-length :\t7 \r\n"), 7u);
    EXPECT_EQ(cl("INVITE sip:x SIP/2.0\r\nl: 3\r\nl: 3\r\n"), 3u);
    EXPECT_EQ(sip_content_length(nullptr, 0), -1);
    const auto raw = [](const std::string &h) {
        return sip_content_length(reinterpret_cast<const std::uint8_t *>(h.data()), h.size());
    };
    EXPECT_EQ(raw("INVITE sip:x SIP/2.0\r\nContent-Type: a\r\n"), -1);
    EXPECT_EQ(raw("INVITE sip:x SIP/2.0\r\nContent-Length: 1\r\nl: 2\r\n"), -2);
    EXPECT_EQ(raw("INVITE sip:x SIP/2.0\r\nContent-Length: -1\r\n"), -2);
    EXPECT_EQ(raw("INVITE sip:x SIP/2.0\r\nContent-Length: 12x\r\n"), -2);
    EXPECT_EQ(raw("INVITE sip:x SIP/2.0\r\nContent-Length: 9999999999\r\n"), -2);
    // A header whose name merely starts like it is not it.
    EXPECT_EQ(raw("INVITE sip:x SIP/2.0\r\nContent-Length-X: 5\r\nLx: 4\r\n"), -1);
}

} // namespace
