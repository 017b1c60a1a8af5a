// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// Bad input gets a defined verdict (and apply refuses it): truncation, bad Content-Length, junk,
// limits.
#include <gtest/gtest.h>

#include <random>

#include "alg_harness.hpp"

using namespace sipalg_test;

namespace {

struct Case {
    const char *name;
    std::string msg;
    int verdict;
    int reason;
};

void expect_verdict(const Case &c) {
    Result r = outbound(c.msg);
    EXPECT_EQ(r.scan, c.verdict) << c.name << " reason " << int(r.sc->reason);
    if (c.reason >= 0) {
        EXPECT_EQ(r.sc->reason, c.reason) << c.name;
    }
    EXPECT_EQ(r.apply, -1) << c.name;
    // apply refuses a failed scan and writes nothing usable
    if (r.scan != SIPALG_OK) {
        MsgBuf in(c.msg);
        std::vector<uint8_t> out(SIPALG_BUF_SIZE);
        uint32_t n = 99;
        EXPECT_EQ(sipalg_apply(in.b.data(), r.sc.get(), out.data(), &n), r.scan) << c.name;
        EXPECT_EQ(n, 0u) << c.name;
    }
}

// `head` and then `line` once more than `limit` times: one over a scanner limit.
std::string over_limit(std::string head, const std::string &line, unsigned limit) {
    for (unsigned i = 0; i <= limit; i++)
        head += line;
    return head;
}

const std::string kHead = "INVITE sip:b@example.com SIP/2.0\r\nVia: SIP/2.0/UDP 192.168.10.11\r\n";

TEST(BadInput, Verdicts) {
    const Case cases[] = {
            {"empty", "", SIPALG_NOT_SIP, SIPALG_R_EMPTY},
            {"binary", std::string("\x80\x00\x01\x02\xff\x13\n\n", 8), SIPALG_NOT_SIP,
             SIPALG_R_START_LINE},
            {"http", "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", SIPALG_NOT_SIP,
             SIPALG_R_START_LINE},
            {"rtp-like", std::string("\x80\x08\x12\x34 abc def\r\n\r\n"), SIPALG_NOT_SIP,
             SIPALG_R_START_LINE},
            {"no version", "INVITE sip:b@example.com\r\n\r\n", SIPALG_NOT_SIP, SIPALG_R_START_LINE},
            {"bad version", "INVITE sip:b@example.com SIP/7.0\r\n\r\n", SIPALG_MALFORMED,
             SIPALG_R_BAD_VERSION},
            {"bad response version", "SIP/3.0 200 OK\r\n\r\n", SIPALG_MALFORMED,
             SIPALG_R_BAD_VERSION},
            {"bad status", "SIP/2.0 2000 OK\r\n\r\n", SIPALG_MALFORMED, SIPALG_R_BAD_STATUS},
            {"status 99", "SIP/2.0 099 Hm\r\n\r\n", SIPALG_MALFORMED, SIPALG_R_BAD_STATUS},
            {"spaces in request line", "INVITE  sip:b@example.com SIP/2.0\r\n\r\n",
             SIPALG_MALFORMED, SIPALG_R_BAD_REQ_LINE},
            {"truncated headers", kHead, SIPALG_MALFORMED, SIPALG_R_NO_HDR_END},
            {"truncated mid-line", kHead + "Contact: <sip:a@192.168", SIPALG_MALFORMED,
             SIPALG_R_NO_HDR_END},
            {"start line only", "OPTIONS sip:x SIP/2.0", SIPALG_MALFORMED, SIPALG_R_NO_HDR_END},
            {"header without colon", kHead + "Garbage line\r\n\r\n", SIPALG_MALFORMED,
             SIPALG_R_BAD_HDR},
            {"continuation first", "OPTIONS sip:x SIP/2.0\r\n folded\r\n\r\n", SIPALG_MALFORMED,
             SIPALG_R_BAD_HDR},
            {"clen beyond body", kHead + "Content-Length: 10\r\n\r\nabc", SIPALG_MALFORMED,
             SIPALG_R_CLEN_BEYOND},
            {"clen not a number", kHead + "Content-Length: ten\r\n\r\n", SIPALG_MALFORMED,
             SIPALG_R_BAD_CLEN},
            {"clen negative", kHead + "Content-Length: -1\r\n\r\n", SIPALG_MALFORMED,
             SIPALG_R_BAD_CLEN},
            {"clen trailing junk", kHead + "Content-Length: 1 2\r\n\r\nab", SIPALG_MALFORMED,
             SIPALG_R_BAD_CLEN},
            {"clen huge", kHead + "Content-Length: 99999999999\r\n\r\n", SIPALG_MALFORMED,
             SIPALG_R_BAD_CLEN},
            {"two clen", kHead + "Content-Length: 0\r\nl: 0\r\n\r\n", SIPALG_MALFORMED,
             SIPALG_R_BAD_CLEN},
            {"too big", kHead + "X: " + std::string(SIPALG_MSG_MAX, 'x') + "\r\n\r\n",
             SIPALG_TOO_BIG, SIPALG_R_MSG_LEN},
    };
    for (const Case &c : cases)
        expect_verdict(c);
}

TEST(BadInput, TooManyHeaders) {
    const std::string m = over_limit("OPTIONS sip:x SIP/2.0\r\n", "X: 1\r\n", SIPALG_MAX_HDRS);
    expect_verdict({"headers", m + "\r\n", SIPALG_TOO_COMPLEX, SIPALG_R_HDRS});
}

TEST(BadInput, TooManyLines) {
    const std::string m =
            over_limit("OPTIONS sip:x SIP/2.0\r\nX: 1\r\n", " 1\r\n", SIPALG_MAX_LINES);
    expect_verdict({"lines", m + "\r\n", SIPALG_TOO_COMPLEX, SIPALG_R_LINES});
    // Many lines in a non-SDP body are fine: they are never looked at.
    const std::string ok = over_limit("MESSAGE sip:x SIP/2.0\r\nContent-Type: text/plain\r\n\r\n",
                                      "z\r\n", SIPALG_MAX_LINES);
    EXPECT_EQ(outbound(ok).scan, SIPALG_OK);
}

TEST(BadInput, TooManyOccurrences) {
    const std::string m = over_limit("OPTIONS sip:x SIP/2.0\r\n",
                                     "Route: <sip:192.168.10.1;lr>\r\n", SIPALG_MAX_OCC);
    expect_verdict({"occurrences", m + "\r\n", SIPALG_TOO_COMPLEX, SIPALG_R_OCC});
}

TEST(BadInput, RewriteThatWouldNotFit) {
    // "10.0.0.1" (8 chars) becomes 15 chars: +7 on a message of SIPALG_MSG_MAX - 6 bytes.
    std::string m = "OPTIONS sip:x@10.0.0.1 SIP/2.0\r\nX: ";
    m += std::string(SIPALG_MSG_MAX - 6 - 4 - m.size(), 'x') + "\r\n\r\n";
    ASSERT_EQ(m.size(), SIPALG_MSG_MAX - 6);
    Policy p;
    p.public_ip = ip4(203, 100, 113, 201);
    Result r = outbound(m, p, lan_match({{ip4(10, 0, 0, 0), 8}}));
    ASSERT_EQ(r.scan, SIPALG_OK);
    EXPECT_EQ(r.apply, SIPALG_TOO_BIG);
    EXPECT_TRUE(r.out.empty());
    // 14 chars: exactly SIPALG_MSG_MAX fits
    p.public_ip = ip4(203, 10, 113, 201);
    r = outbound(m, p, lan_match({{ip4(10, 0, 0, 0), 8}}));
    ASSERT_EQ(r.apply, SIPALG_OK);
    EXPECT_EQ(r.out.size(), SIPALG_MSG_MAX);
    EXPECT_EQ(r.out.substr(0, 37), "OPTIONS sip:x@203.10.113.201 SIP/2.0\r");
}

TEST(BadInput, ExtraBytesAfterContentLengthAreKept) {
    // UDP: bytes past Content-Length are not part of the message; they pass untouched.
    std::string m = kHead + "Content-Length: 3\r\n\r\nabc\r\nc=IN IP4 192.168.10.11\r\n";
    Result r = outbound(m);
    ASSERT_EQ(r.apply, SIPALG_OK);
    EXPECT_EQ(r.sc->body_len, 3);
    EXPECT_EQ(r.out.substr(r.out.find("abc")), "abc\r\nc=IN IP4 192.168.10.11\r\n");
}

// Every prefix of a valid message gets a defined verdict and never reads out of bounds (the
// ASan build checks the latter).
TEST(BadInput, EveryTruncation) {
    std::string m = crlf("INVITE sip:b@192.168.10.20 SIP/2.0\n"
                         "Via: SIP/2.0/UDP 192.168.10.11:5060;rport;branch=z9hG4bK1\n"
                         "Contact: <sip:a@192.168.10.11:5060>\n"
                         "Content-Type: application/sdp\n"
                         "Content-Length: 60\n\n"
                         "v=0\nc=IN IP4 192.168.10.11\nm=audio 49170 RTP/AVP 0\na=rtcp:49171\n");
    m = fix_clen(m);
    for (size_t n = 0; n < m.size(); n++) {
        Result r = outbound(m.substr(0, n));
        EXPECT_NE(r.scan, SIPALG_OK) << "prefix " << n;
    }
    EXPECT_EQ(outbound(m).apply, SIPALG_OK);
}

TEST(BadInput, RandomBytesNeverCrash) {
    std::mt19937 rng(42);
    const std::string alphabet = "SIP/2.0 INVITE sip:@;:<>,\"\\\r\n\t0123456789.=abcvmlc[]";
    for (int i = 0; i < 3000; i++) {
        std::string m = i % 2 ? kHead : std::string();
        size_t n = rng() % 600;
        for (size_t k = 0; k < n; k++)
            m += i % 3 ? alphabet[rng() % alphabet.size()] : char(rng());
        Result r = outbound(m);
        EXPECT_TRUE(r.scan >= SIPALG_OK && r.scan <= SIPALG_TOO_BIG);
        if (r.scan == SIPALG_OK) {
            EXPECT_TRUE(r.apply == SIPALG_OK || r.apply == SIPALG_TOO_BIG);
        }
    }
}

} // namespace
