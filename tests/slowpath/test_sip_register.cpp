// register_kind(): what the TCP proxy reads of a message to confirm a binding registered over
// TCP (loader/slow/sip_register.cpp).
#include "slow/sip_register.hpp"

#include <gtest/gtest.h>

#include <string>

using sipalg::slow::register_kind;
using sipalg::slow::RegisterKind;

namespace {

RegisterKind kind(const std::string &s) {
    return register_kind({s.begin(), s.end()});
}

TEST(SipRegister, RequestsByTheirMethod) {
    EXPECT_EQ(kind("REGISTER sip:r SIP/2.0\r\nCSeq: 1 REGISTER\r\n\r\n"), RegisterKind::Request);
    EXPECT_EQ(kind("INVITE sip:r SIP/2.0\r\nCSeq: 1 REGISTER\r\n\r\n"), RegisterKind::Other);
    EXPECT_EQ(kind("REGISTERX sip:r SIP/2.0\r\n\r\n"), RegisterKind::Other);
}

TEST(SipRegister, OnlyA2xxWhoseCSeqIsRegister) {
    EXPECT_EQ(kind("SIP/2.0 200 OK\r\nVia: x\r\nCSeq: 3 REGISTER\r\n\r\n"), RegisterKind::Ok);
    EXPECT_EQ(kind("SIP/2.0 202 Accepted\r\ncseq:7   register \r\n\r\n"), RegisterKind::Ok);
    EXPECT_EQ(kind("SIP/2.0 401 Unauthorized\r\nCSeq: 3 REGISTER\r\n\r\n"), RegisterKind::Other);
    EXPECT_EQ(kind("SIP/2.0 100 Trying\r\nCSeq: 3 REGISTER\r\n\r\n"), RegisterKind::Other);
    EXPECT_EQ(kind("SIP/2.0 200 OK\r\nCSeq: 3 INVITE\r\n\r\n"), RegisterKind::Other);
    // The CSeq must be a header, not something in the body.
    EXPECT_EQ(kind("SIP/2.0 200 OK\r\nContent-Length: 16\r\n\r\nCSeq: 1 REGISTER"),
              RegisterKind::Other);
    EXPECT_EQ(kind("SIP/2.0 200 OK\r\nCSeq: REGISTER\r\n\r\n"), RegisterKind::Other);
    EXPECT_EQ(kind("SIP/2.0 2"), RegisterKind::Other);
    EXPECT_EQ(kind(""), RegisterKind::Other);
}

} // namespace
