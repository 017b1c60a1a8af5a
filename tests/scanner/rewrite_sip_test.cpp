// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// Outbound and inbound rewriting of SIP headers: exact expected messages.
#include <gtest/gtest.h>

#include "alg_harness.hpp"

using namespace sipalg_test;

namespace {

// 192.168.10.11:5060 (the phone) is bound to 203.0.113.1:5062.
Policy nat() {
    Policy p;
    p.ports = {{5060, 5062}};
    return p;
}

void expect_out(const std::string &in, const std::string &want, const Policy &p = nat()) {
    Result r = outbound(in, p);
    ASSERT_EQ(r.scan, SIPALG_OK) << "reason " << int(r.sc->reason);
    ASSERT_EQ(r.apply, SIPALG_OK);
    EXPECT_EQ(r.out, want);
}

// Addresses that are not the LAN's, or not addresses at all: `m` scans and goes out as it is.
void expect_untouched(const std::string &m) {
    Result r = outbound(m, nat());
    ASSERT_EQ(r.scan, SIPALG_OK);
    EXPECT_EQ(r.out, m);
}

TEST(RewriteSip, RegisterOutbound) {
    expect_out(crlf("REGISTER sip:registrar.example.com SIP/2.0\n"
                    "Via: SIP/2.0/UDP 192.168.10.11:5060;rport;branch=z9hG4bKa\n"
                    "From: <sip:100@registrar.example.com>;tag=1\n"
                    "To: <sip:100@registrar.example.com>\n"
                    "Call-ID: abc@192.168.10.11\n"
                    "CSeq: 7 REGISTER\n"
                    "Contact: <sip:100@192.168.10.11:5060;transport=udp>;expires=600\n"
                    "Content-Length: 0\n\n"),
               crlf("REGISTER sip:registrar.example.com SIP/2.0\n"
                    "Via: SIP/2.0/UDP 203.0.113.1:5062;rport;branch=z9hG4bKa\n"
                    "From: <sip:100@registrar.example.com>;tag=1\n"
                    "To: <sip:100@registrar.example.com>\n"
                    "Call-ID: abc@203.0.113.1\n" // token@LAN literal: address rewritten
                    "CSeq: 7 REGISTER\n"
                    "Contact: <sip:100@203.0.113.1:5062;transport=udp>;expires=600\n"
                    "Content-Length: 0\n\n"));
}

TEST(RewriteSip, HostWithoutPortGetsTheMappedPort) {
    // No port means 5060; the binding is 5062, so the port must be written.
    expect_out(crlf("OPTIONS sip:x@example.com SIP/2.0\nVia: SIP/2.0/UDP 192.168.10.11\n"
                    "Contact: sip:100@192.168.10.11\nContent-Length: 0\n\n"),
               crlf("OPTIONS sip:x@example.com SIP/2.0\nVia: SIP/2.0/UDP 203.0.113.1:5062\n"
                    "Contact: sip:100@203.0.113.1:5062\nContent-Length: 0\n\n"));
    // Port preserved: nothing added.
    expect_out(crlf("OPTIONS sip:x@example.com SIP/2.0\nVia: SIP/2.0/UDP 192.168.10.11\n\n"),
               crlf("OPTIONS sip:x@example.com SIP/2.0\nVia: SIP/2.0/UDP 203.0.113.1\n\n"),
               Policy());
}

TEST(RewriteSip, CompactForms) {
    expect_out(crlf("INVITE sip:bob@192.168.10.20 SIP/2.0\n"
                    "v: SIP/2.0/UDP 192.168.10.11:5060;branch=z9hG4bK1\n"
                    "f: <sip:a@192.168.10.11>;tag=x\n"
                    "t: sip:b@192.168.10.20\n"
                    "m: <sip:a@192.168.10.11:5060>\n"
                    "i: 1@192.168.10.11\n"
                    "r: <sip:c@192.168.10.30>\n"
                    "b: <sip:a@192.168.10.11>\n"
                    "l: 0\n\n"),
               crlf("INVITE sip:bob@203.0.113.1 SIP/2.0\n"
                    "v: SIP/2.0/UDP 203.0.113.1:5060;branch=z9hG4bK1\n"
                    "f: <sip:a@203.0.113.1>;tag=x\n"
                    "t: sip:b@203.0.113.1\n"
                    "m: <sip:a@203.0.113.1:5060>\n"
                    "i: 1@203.0.113.1\n" // compact Call-ID: its LAN host too
                    "r: <sip:c@203.0.113.1>\n"
                    "b: <sip:a@203.0.113.1>\n"
                    "l: 0\n\n"),
               Policy());
}

TEST(RewriteSip, MultipleViaAndCommaSeparatedValues) {
    expect_out(
            crlf("SIP/2.0 200 OK\n"
                 "Via: SIP/2.0/UDP 192.168.10.11:5060;branch=a, SIP/2.0/TCP 198.51.100.9;branch=b\n"
                 "Via: SIP/2.0/UDP 192.168.10.12:5060;branch=c\n"
                 "Contact: <sip:a@192.168.10.11:5060>, sip:b@192.168.10.11:5060;q=0.5,"
                 "\"Ann\" <sips:c@192.168.10.11:5060>\n"
                 "Content-Length: 0\n\n"),
            crlf("SIP/2.0 200 OK\n"
                 "Via: SIP/2.0/UDP 203.0.113.1:5062;branch=a, SIP/2.0/TCP 198.51.100.9;branch=b\n"
                 "Via: SIP/2.0/UDP 203.0.113.1:5062;branch=c\n"
                 "Contact: <sip:a@203.0.113.1:5062>, sip:b@203.0.113.1:5062;q=0.5,"
                 "\"Ann\" <sips:c@203.0.113.1:5062>\n"
                 "Content-Length: 0\n\n"));
}

TEST(RewriteSip, FoldedHeaders) {
    // RFC 4475 wsinv style: LWS and line folding inside the Via sent-protocol and before sent-by.
    expect_out(crlf("INVITE sip:b@example.com SIP/2.0\n"
                    "Via  : SIP  /   2.0\n  /UDP\n    192.168.10.11:5060;branch=z9hG4bKx\n"
                    "Contact:\n <sip:a@192.168.10.11:5060>\n"
                    "Content-Length: 0\n\n"),
               crlf("INVITE sip:b@example.com SIP/2.0\n"
                    "Via  : SIP  /   2.0\n  /UDP\n    203.0.113.1:5062;branch=z9hG4bKx\n"
                    "Contact:\n <sip:a@203.0.113.1:5062>\n"
                    "Content-Length: 0\n\n"));
}

TEST(RewriteSip, BareLf) {
    expect_out("OPTIONS sip:x@192.168.10.11:5060 SIP/2.0\nVia: SIP/2.0/UDP 192.168.10.11:5060\n"
               "Content-Length: 0\n\n",
               "OPTIONS sip:x@203.0.113.1:5062 SIP/2.0\nVia: SIP/2.0/UDP 203.0.113.1:5062\n"
               "Content-Length: 0\n\n");
}

TEST(RewriteSip, RportReceivedMaddr) {
    expect_out(crlf("SIP/2.0 180 Ringing\n"
                    "Via: SIP/2.0/UDP 192.168.10.11:5060;rport=5060;received=192.168.10.11;"
                    "maddr=192.168.10.11;branch=z\n"
                    "Via: SIP/2.0/UDP 198.51.100.9:5060;rport=5060;received=198.51.100.10\n"
                    "Contact: <sip:a@example.com;maddr=192.168.10.11>\n"
                    "Content-Length: 0\n\n"),
               crlf("SIP/2.0 180 Ringing\n"
                    "Via: SIP/2.0/UDP 203.0.113.1:5062;rport=5062;received=203.0.113.1;"
                    "maddr=203.0.113.1;branch=z\n"
                    "Via: SIP/2.0/UDP 198.51.100.9:5060;rport=5060;received=198.51.100.10\n"
                    "Contact: <sip:a@example.com;maddr=203.0.113.1>\n"
                    "Content-Length: 0\n\n"));
}

TEST(RewriteSip, Ipv6LiteralsUntouched) {
    std::string m = crlf("INVITE sip:b@[2001:db8::10] SIP/2.0\n"
                         "Via: SIP/2.0/UDP [2001:db8::1]:5060;branch=z;received=[2001:db8::1]\n"
                         "Contact: <sip:a@[2001:db8::1]:5060>\n"
                         "From: <sip:a@[::ffff:192.168.10.11]>\n"
                         "Content-Length: 0\n\n");
    expect_untouched(m);
}

TEST(RewriteSip, SipsAndRequestUri) {
    expect_out(crlf("INVITE sips:bob@192.168.10.11:5060;transport=tls SIP/2.0\n"
                    "To: <SIPS:bob@192.168.10.11>\nContent-Length: 0\n\n"),
               crlf("INVITE sips:bob@203.0.113.1:5062;transport=tls SIP/2.0\n"
                    "To: <SIPS:bob@203.0.113.1:5062>\nContent-Length: 0\n\n"));
}

TEST(RewriteSip, PublicAndForeignAddressesUntouched) {
    // LAN is 192.168.10.0/24 only: 10.1.2.3 and 192.168.20.1 are not ours, the rest is public.
    std::string m = crlf("INVITE sip:bob@198.51.100.7 SIP/2.0\n"
                         "Via: SIP/2.0/UDP 203.0.113.50:5060;branch=z\n"
                         "Via: SIP/2.0/UDP 10.1.2.3:5060;branch=y\n"
                         "Route: <sip:192.168.20.1;lr>\n"
                         "Contact: <sip:a@198.51.100.8>\n"
                         "Content-Length: 0\n\n");
    Result r = outbound(m, nat(), lan_match({{ip4(192, 168, 10, 0), 24}}));
    ASSERT_EQ(r.scan, SIPALG_OK);
    EXPECT_EQ(r.sc->n_occ, 1); // only Content-Length
    EXPECT_EQ(r.out, m);
}

TEST(RewriteSip, SeveralLanPrefixes) {
    Result r = outbound(crlf("MESSAGE sip:x@10.1.2.3 SIP/2.0\nRoute: <sip:172.16.5.5;lr>\n"
                             "To: <sip:y@192.168.1.1>\n\n"),
                        nat(), lan_match({{ip4(10, 0, 0, 0), 8}, {ip4(172, 16, 0, 0), 12}}));
    ASSERT_EQ(r.apply, SIPALG_OK);
    EXPECT_EQ(r.out, crlf("MESSAGE sip:x@203.0.113.1:5062 SIP/2.0\n"
                          "Route: <sip:203.0.113.1:5062;lr>\nTo: <sip:y@192.168.1.1>\n\n"));
}

TEST(RewriteSip, RouteRecordRouteReferToPai) {
    expect_out(crlf("REFER sip:b@example.com SIP/2.0\n"
                    "Route: <sip:192.168.10.1;lr>\n"
                    "Record-Route: <sip:192.168.10.1:5080;lr>\n"
                    "Refer-To: <sip:c@192.168.10.12?Replaces=abc%40192.168.10.11>\n"
                    "P-Asserted-Identity: \"A\" <sip:a@192.168.10.11>\n"
                    "Content-Length: 0\n\n"),
               crlf("REFER sip:b@example.com SIP/2.0\n"
                    "Route: <sip:203.0.113.1:5062;lr>\n"
                    "Record-Route: <sip:203.0.113.1:5080;lr>\n"
                    "Refer-To: <sip:c@203.0.113.1:5062?Replaces=abc%40192.168.10.11>\n"
                    "P-Asserted-Identity: \"A\" <sip:a@203.0.113.1:5062>\n"
                    "Content-Length: 0\n\n"));
}

TEST(RewriteSip, RemotePartyIdAndDiversion) {
    expect_out(crlf("INVITE sip:b@example.com SIP/2.0\n"
                    "Remote-Party-ID: \"100\" <sip:100@192.168.10.11>;party=calling;screen=yes\n"
                    "Diversion: <sip:200@192.168.10.11:5060>;reason=unconditional\n"
                    "Content-Length: 0\n\n"),
               crlf("INVITE sip:b@example.com SIP/2.0\n"
                    "Remote-Party-ID: \"100\" <sip:100@203.0.113.1:5062>;party=calling;screen=yes\n"
                    "Diversion: <sip:200@203.0.113.1:5062>;reason=unconditional\n"
                    "Content-Length: 0\n\n"));
}

TEST(RewriteSip, LookalikesUntouched) {
    // user parts that look like addresses, quoted display names, domain names, leading zeros,
    // other headers.
    std::string m = crlf("INVITE sip:192.168.10.11@example.com SIP/2.0\n"
                         "From: \"192.168.10.11\" <sip:192.168.10.11@example.com>;tag=1\n"
                         "To: <sip:b@192.168.10.11.nip.io>\n"
                         "Contact: <sip:a@192.168.010.11>\n"
                         "Route: <sip:a@192.168.10.11x>\n"
                         "Subject: call 192.168.10.11\n"
                         "Content-Length: 0\n\n");
    ASSERT_NO_FATAL_FAILURE(expect_untouched(m));
    // A user part that looks like an address is skipped, the host after it is not.
    expect_out(crlf("OPTIONS sip:192.168.10.12:5060@192.168.10.11 SIP/2.0\n\n"),
               crlf("OPTIONS sip:192.168.10.12:5060@203.0.113.1:5062 SIP/2.0\n\n"));
}

TEST(RewriteSip, InboundRestoresTopViaAndRequestUri) {
    Policy p = nat();
    // 200 OK to the phone's INVITE: the top Via is the one the ALG rewrote; the proxy added
    // received/rport. The phone must get back exactly its own sent-by.
    std::string in =
            crlf("SIP/2.0 200 OK\n"
                 "Via: SIP/2.0/UDP 203.0.113.1:5062;rport=5062;received=203.0.113.1;branch=z\n"
                 "To: <sip:bob@example.com>;tag=9\n"
                 "Contact: <sip:bob@198.51.100.7:5060>\n"
                 "Content-Length: 0\n\n");
    Result r = inbound(in, p);
    ASSERT_EQ(r.scan, SIPALG_OK);
    ASSERT_EQ(r.apply, SIPALG_OK);
    EXPECT_EQ(r.out, crlf("SIP/2.0 200 OK\n"
                          "Via: SIP/2.0/UDP 192.168.10.11:5060;rport=5060;received=192.168.10.11;"
                          "branch=z\n"
                          "To: <sip:bob@example.com>;tag=9\n"
                          "Contact: <sip:bob@198.51.100.7:5060>\n"
                          "Content-Length: 0\n\n"));
    // An incoming INVITE addressed to the registered contact.
    r = inbound(crlf("INVITE sip:100@203.0.113.1:5062;transport=udp SIP/2.0\n"
                     "Via: SIP/2.0/UDP 198.51.100.7:5060;branch=q\n"
                     "To: <sip:100@example.com>\nContent-Length: 0\n\n"),
                p);
    ASSERT_EQ(r.apply, SIPALG_OK);
    EXPECT_EQ(r.out, crlf("INVITE sip:100@192.168.10.11:5060;transport=udp SIP/2.0\n"
                          "Via: SIP/2.0/UDP 198.51.100.7:5060;branch=q\n"
                          "To: <sip:100@example.com>\nContent-Length: 0\n\n"));
}

TEST(RewriteSip, OutboundThenInboundIsIdentityOnTheTopVia) {
    Policy p = nat();
    std::string req = crlf("OPTIONS sip:x@example.com SIP/2.0\n"
                           "Via: SIP/2.0/UDP 192.168.10.11:5060;rport;branch=z9hG4bKq\n"
                           "Content-Length: 0\n\n");
    Result o = outbound(req, p);
    ASSERT_EQ(o.apply, SIPALG_OK);
    std::string resp = "SIP/2.0 200 OK\r\n" + o.out.substr(o.out.find("Via:"));
    Result i = inbound(resp, p);
    ASSERT_EQ(i.apply, SIPALG_OK);
    EXPECT_EQ(i.out, "SIP/2.0 200 OK\r\n" + req.substr(req.find("Via:")));
}

TEST(RewriteSip, PortPreservingLeavesPortsAlone) {
    expect_out(crlf("OPTIONS sip:x@example.com SIP/2.0\n"
                    "Via: SIP/2.0/UDP 192.168.10.11:5060;rport=5060\nContent-Length: 0\n\n"),
               crlf("OPTIONS sip:x@example.com SIP/2.0\n"
                    "Via: SIP/2.0/UDP 203.0.113.1:5060;rport=5060\nContent-Length: 0\n\n"),
               Policy());
}

TEST(RewriteSip, UnsetOccurrencesAreCopied) {
    std::string m = crlf("OPTIONS sip:x@192.168.10.11 SIP/2.0\nContent-Length: 0\n\n");
    Result r = scan_only(m, lan_match());
    ASSERT_EQ(r.scan, SIPALG_OK);
    MsgBuf in(m);
    std::vector<uint8_t> out(SIPALG_BUF_SIZE);
    uint32_t n = 0;
    ASSERT_EQ(sipalg_apply(in.b.data(), r.sc.get(), out.data(), &n), SIPALG_OK);
    EXPECT_EQ(std::string(reinterpret_cast<char *>(out.data()), n), m);
}

TEST(RewriteSip, OverlappingEditsRejected) {
    std::string m = crlf("OPTIONS sip:x@192.168.10.11 SIP/2.0\nContact: <sip:192.168.10.11>\n\n");
    Result r = scan_only(m, lan_match());
    ASSERT_EQ(r.scan, SIPALG_OK);
    ASSERT_EQ(r.sc->n_occ, 2);
    sipalg_occ_set(&r.sc->occ[0], kPublic, 0);
    sipalg_occ_set(&r.sc->occ[1], kPublic, 0);
    r.sc->occ[1].off = r.sc->occ[0].off + 1; // a caller bug
    MsgBuf in(m);
    std::vector<uint8_t> out(SIPALG_BUF_SIZE);
    uint32_t n = 7;
    EXPECT_EQ(sipalg_apply(in.b.data(), r.sc.get(), out.data(), &n), SIPALG_MALFORMED);
    EXPECT_EQ(n, 0u);
}

} // namespace
