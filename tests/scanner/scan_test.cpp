// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// Scanner facts: start line, header ids (long, compact, any case), spans, body, numbers.
#include <gtest/gtest.h>

#include "alg_harness.hpp"

using namespace sipalg_test;

namespace {

std::string span(const std::string &m, uint32_t off, uint32_t end) {
    return m.substr(off, end - off);
}

const std::string kRegister = crlf("REGISTER sip:registrar.example.com SIP/2.0\n"
                                   "Via: SIP/2.0/UDP 192.168.10.11:5060;rport;branch=z9hG4bKa\n"
                                   "Max-Forwards: 70\n"
                                   "From: <sip:100@registrar.example.com>;tag=1\n"
                                   "To: <sip:100@registrar.example.com>\n"
                                   "Call-ID: abc@192.168.10.11\n"
                                   "CSeq: 7 REGISTER\n"
                                   "Contact: <sip:100@192.168.10.11:5060>;expires=600\n"
                                   "Expires: 3600\n"
                                   "Content-Length: 0\n"
                                   "\n");

TEST(Scan, RequestLineAndHeaders) {
    Result r = scan_only(kRegister, lan_match());
    ASSERT_EQ(r.scan, SIPALG_OK);
    EXPECT_EQ(r.sc->is_request, 1);
    EXPECT_EQ(r.sc->method, SIPALG_M_REGISTER);
    EXPECT_EQ(span(kRegister, r.sc->ruri_off, r.sc->ruri_off + r.sc->ruri_len),
              "sip:registrar.example.com");
    ASSERT_EQ(r.sc->n_hdrs, 9);
    const uint8_t ids[] = {SIPALG_H_VIA,     SIPALG_H_MAX_FORWARDS, SIPALG_H_FROM,
                           SIPALG_H_TO,      SIPALG_H_CALL_ID,      SIPALG_H_CSEQ,
                           SIPALG_H_CONTACT, SIPALG_H_EXPIRES,      SIPALG_H_CONTENT_LENGTH};
    for (int i = 0; i < 9; i++)
        EXPECT_EQ(r.sc->hdrs[i].id, ids[i]) << i;
    const sipalg_hdr &cid = r.sc->hdrs[4];
    EXPECT_EQ(span(kRegister, cid.value_off, cid.value_end), " abc@192.168.10.11");
    EXPECT_EQ(r.sc->cseq, 7u);
    EXPECT_EQ(r.sc->cseq_method, SIPALG_M_REGISTER);
    EXPECT_EQ(r.sc->expires, 3600);
    EXPECT_EQ(r.sc->contact_expires, 600);
    EXPECT_EQ(r.sc->content_length, 0);
    EXPECT_EQ(r.sc->body_off, kRegister.size());
    EXPECT_EQ(r.sc->body_len, 0);
    EXPECT_EQ(sipalg_hdr_find(r.sc.get(), SIPALG_H_CONTACT), 6);
    EXPECT_EQ(sipalg_hdr_find(r.sc.get(), SIPALG_H_ROUTE), -1);
}

TEST(Scan, StatusLine) {
    std::string m = crlf("SIP/2.0 200 OK\nVia: SIP/2.0/UDP 192.168.10.11;branch=z9hG4bKa\n"
                         "CSeq: 12 INVITE\nContent-Length: 0\n\n");
    Result r = scan_only(m, lan_match());
    ASSERT_EQ(r.scan, SIPALG_OK);
    EXPECT_EQ(r.sc->is_request, 0);
    EXPECT_EQ(r.sc->status, 200);
    EXPECT_EQ(r.sc->cseq_method, SIPALG_M_INVITE);
    EXPECT_EQ(scan_only(crlf("SIP/2.0 180\nContent-Length: 0\n\n"), lan_match()).sc->status, 180);
}

TEST(Scan, CompactFormsAndCase) {
    std::string m = crlf("INVITE sip:bob@example.com SIP/2.0\n"
                         "v: SIP/2.0/UDP 192.168.10.11\n"
                         "m: <sip:a@192.168.10.11>\n"
                         "f: <sip:a@example.com>\n"
                         "t: <sip:b@example.com>\n"
                         "i: x\n"
                         "c: application/sdp\n"
                         "r: <sip:c@example.com>\n"
                         "b: <sip:d@example.com>\n"
                         "o: refer\n"
                         "e: gzip\n"
                         "s: hi\n"
                         "k: timer\n"
                         "u: talk\n"
                         "x: 90\n"
                         "VIA: SIP/2.0/UDP 198.51.100.1\n"
                         "cOnTaCt: <sip:z@example.com>\n"
                         "P-ASSERTED-identity: <sip:p@example.com>\n"
                         "p-preferred-identity: <sip:q@example.com>\n"
                         "Record-Route: <sip:rr@example.com;lr>\n"
                         "route: <sip:r@example.com;lr>\n"
                         "Refer-To: <sip:c@example.com>\n"
                         "Referred-By: <sip:d@example.com>\n"
                         "Event: refer\n"
                         "X-Unknown: 1\n"
                         "l: 0\n\n");
    Result r = scan_only(m, lan_match());
    ASSERT_EQ(r.scan, SIPALG_OK);
    const uint8_t ids[] = {SIPALG_H_VIA,           SIPALG_H_CONTACT,
                           SIPALG_H_FROM,          SIPALG_H_TO,
                           SIPALG_H_CALL_ID,       SIPALG_H_CONTENT_TYPE,
                           SIPALG_H_REFER_TO,      SIPALG_H_REFERRED_BY,
                           SIPALG_H_EVENT,         SIPALG_H_CONTENT_ENCODING,
                           SIPALG_H_SUBJECT,       SIPALG_H_SUPPORTED,
                           SIPALG_H_ALLOW_EVENTS,  SIPALG_H_SESSION_EXPIRES,
                           SIPALG_H_VIA,           SIPALG_H_CONTACT,
                           SIPALG_H_PAI,           SIPALG_H_PPI,
                           SIPALG_H_RECORD_ROUTE,  SIPALG_H_ROUTE,
                           SIPALG_H_REFER_TO,      SIPALG_H_REFERRED_BY,
                           SIPALG_H_EVENT,         SIPALG_H_OTHER,
                           SIPALG_H_CONTENT_LENGTH};
    ASSERT_EQ(r.sc->n_hdrs, sizeof(ids));
    for (size_t i = 0; i < sizeof(ids); i++) {
        EXPECT_EQ(r.sc->hdrs[i].id, ids[i]) << "header " << i;
        EXPECT_EQ(r.sc->hdrs[i].compact, i < 14 || i == 24) << "header " << i;
    }
    EXPECT_EQ(r.sc->content_length, 0);
}

TEST(Scan, UnknownMethodIsFine) {
    std::string m = crlf("FOOBAR sip:x@192.168.10.11 SIP/2.0\nContent-Length: 0\n\n");
    Result r = scan_only(m, lan_match());
    ASSERT_EQ(r.scan, SIPALG_OK);
    EXPECT_EQ(r.sc->method, SIPALG_M_OTHER);
    ASSERT_EQ(r.sc->n_occ, 2); // R-URI host, Content-Length
    EXPECT_EQ(r.sc->occ[0].hdr, SIPALG_H_RURI);
}

TEST(Scan, Methods) {
    const std::pair<const char *, int> ms[] = {{"INVITE", SIPALG_M_INVITE},
                                               {"ACK", SIPALG_M_ACK},
                                               {"BYE", SIPALG_M_BYE},
                                               {"CANCEL", SIPALG_M_CANCEL},
                                               {"REGISTER", SIPALG_M_REGISTER},
                                               {"OPTIONS", SIPALG_M_OPTIONS},
                                               {"NOTIFY", SIPALG_M_NOTIFY},
                                               {"REFER", SIPALG_M_REFER},
                                               {"SUBSCRIBE", SIPALG_M_SUBSCRIBE},
                                               {"UPDATE", SIPALG_M_UPDATE},
                                               {"PRACK", SIPALG_M_PRACK},
                                               {"INFO", SIPALG_M_INFO},
                                               {"MESSAGE", SIPALG_M_MESSAGE},
                                               {"PUBLISH", SIPALG_M_PUBLISH}};
    for (auto [name, id] : ms) {
        Result r = scan_only(std::string(name) + " sip:x SIP/2.0\r\n\r\n", lan_match());
        ASSERT_EQ(r.scan, SIPALG_OK) << name;
        EXPECT_EQ(r.sc->method, id) << name;
    }
}

TEST(Scan, BareLf) {
    std::string m = "OPTIONS sip:x@192.168.10.11 SIP/2.0\nVia: SIP/2.0/UDP 192.168.10.11:5070\n"
                    "Content-Length: 3\n\nabc";
    Result r = scan_only(m, lan_match());
    ASSERT_EQ(r.scan, SIPALG_OK);
    EXPECT_EQ(r.sc->n_hdrs, 2);
    EXPECT_EQ(r.sc->body_off, m.size() - 3);
    EXPECT_EQ(r.sc->body_len, 3);
    ASSERT_EQ(r.sc->n_occ, 3);
    EXPECT_EQ(r.sc->occ[1].port, 5070);
    EXPECT_EQ(r.sc->occ[1].len, strlen("192.168.10.11:5070"));
}

TEST(Scan, FoldedHeaderValueSpansLines) {
    std::string m =
            crlf("OPTIONS sip:x SIP/2.0\nSubject: one\n two\n\tthree\nContent-Length: 0\n\n");
    Result r = scan_only(m, lan_match());
    ASSERT_EQ(r.scan, SIPALG_OK);
    ASSERT_EQ(r.sc->n_hdrs, 2);
    EXPECT_EQ(span(m, r.sc->hdrs[0].value_off, r.sc->hdrs[0].value_end), " one\r\n two\r\n\tthree");
}

TEST(Scan, ContactStarAndNoContentLength) {
    std::string m = crlf("REGISTER sip:r SIP/2.0\nContact: *\nExpires: 0\n\n");
    Result r = scan_only(m, lan_match());
    ASSERT_EQ(r.scan, SIPALG_OK);
    EXPECT_EQ(r.sc->contact_star, 1);
    EXPECT_EQ(r.sc->expires, 0);
    EXPECT_EQ(r.sc->content_length, -1);
}

TEST(Scan, TopViaFlag) {
    std::string m = crlf("SIP/2.0 200 OK\n"
                         "Via: SIP/2.0/UDP 192.168.10.11:5060, SIP/2.0/UDP 192.168.10.12\n"
                         "Via: SIP/2.0/UDP 192.168.10.13\nContent-Length: 0\n\n");
    Result r = scan_only(m, lan_match());
    ASSERT_EQ(r.scan, SIPALG_OK);
    ASSERT_EQ(r.sc->n_occ, 4);
    EXPECT_TRUE(r.sc->occ[0].flags & SIPALG_OF_TOP_VIA);
    EXPECT_FALSE(r.sc->occ[1].flags & SIPALG_OF_TOP_VIA);
    EXPECT_FALSE(r.sc->occ[2].flags & SIPALG_OF_TOP_VIA);
    EXPECT_EQ(r.sc->occ[0].ip, kPhone);
    EXPECT_EQ(r.sc->occ[1].ip, ip4(192, 168, 10, 12));
    EXPECT_EQ(r.sc->occ[2].ip, ip4(192, 168, 10, 13));
}

TEST(Scan, BytesAfterTheMessageDoNotMatter) {
    std::string m = kRegister;
    sipalg_match lan = lan_match();
    for (uint8_t fill : {0x00, 0x0a, 0x0d, 0x20, 0x31, 0xff}) {
        MsgBuf in(m, fill);
        sipalg_scan_result sc{};
        ASSERT_EQ(sipalg_scan(in.b.data(), in.len, &lan, 0, &sc), SIPALG_OK) << int(fill);
        EXPECT_EQ(sc.n_hdrs, 9);
        EXPECT_EQ(sc.n_occ, 4); // Via, Call-ID host, Contact, Content-Length
    }
}

} // namespace
