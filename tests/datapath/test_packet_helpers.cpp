// The packet helpers are the ground truth for every BPF test, so they are checked against
// published vectors and against values computed outside this code base.
#include "packet.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

using namespace sipalg::test;

namespace {

std::uint16_t get16(const std::vector<std::uint8_t> &f, std::size_t off) {
    return static_cast<std::uint16_t>(f[off] << 8 | f[off + 1]);
}

} // namespace

TEST(Checksum, Rfc1071Example) {
    // RFC 1071 section 3: the folded sum of these bytes is 0xddf2.
    const std::uint8_t data[] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
    EXPECT_EQ(csum_fold(csum_add(0, data, sizeof(data))), 0xddf2);
    EXPECT_EQ(inet_checksum(data, sizeof(data)), static_cast<std::uint16_t>(~0xddf2));
}

TEST(Checksum, KnownIpv4Header) {
    // Widely published example header (192.168.0.1 -> 192.168.0.199), checksum 0xb861.
    std::uint8_t hdr[] = {0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
                          0x00, 0x00, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7};
    EXPECT_EQ(inet_checksum(hdr, sizeof(hdr)), 0xb861);
}

TEST(Checksum, OddLengthPadsWithZero) {
    const std::uint8_t odd[] = {0x12, 0x34, 0x56};
    const std::uint8_t even[] = {0x12, 0x34, 0x56, 0x00};
    EXPECT_EQ(inet_checksum(odd, sizeof(odd)), inet_checksum(even, sizeof(even)));
    EXPECT_EQ(inet_checksum(odd, sizeof(odd)), static_cast<std::uint16_t>(~(0x1234 + 0x5600)));
}

TEST(UdpFrame, MatchesIndependentlyComputedChecksums) {
    // Reference values computed with a separate Python implementation of RFC 768/791.
    const auto f = build_udp_frame(udp_spec("192.168.1.10", 5060, "203.0.113.5", 5060, "hello"));
    ASSERT_EQ(f.size(), kEthLen + kIpv4Len + kUdpLen + 5);
    EXPECT_EQ(get16(f, 12), 0x0800);
    EXPECT_EQ(get16(f, kEthLen + 2), kIpv4Len + kUdpLen + 5);
    EXPECT_EQ(get16(f, kEthLen + 10), 0x2ae0);
    EXPECT_EQ(get16(f, kEthLen + kIpv4Len + 4), kUdpLen + 5);
    EXPECT_EQ(get16(f, kEthLen + kIpv4Len + 6), 0x96c1);
    EXPECT_TRUE(ipv4_checksum_ok(f));
    EXPECT_TRUE(udp_checksum_ok(f));
}

TEST(UdpFrame, VerifiersDetectCorruption) {
    const auto good = build_udp_frame(udp_spec("192.168.1.10", 40000, "198.51.100.7", 5060,
                                               sip_register("192.168.1.10", 5060, "198.51.100.7")));
    ASSERT_TRUE(udp_checksum_ok(good));

    auto bad_payload = good;
    bad_payload.back() ^= 0x01;
    EXPECT_TRUE(ipv4_checksum_ok(bad_payload));
    EXPECT_FALSE(udp_checksum_ok(bad_payload));

    auto bad_ttl = good;
    bad_ttl[kEthLen + 8] -= 1; // TTL changed without fixing the checksum
    EXPECT_FALSE(ipv4_checksum_ok(bad_ttl));

    auto bad_addr = good;
    bad_addr[kEthLen + 15] ^= 0x01; // source address: both IP and UDP (pseudo-header) break
    EXPECT_FALSE(ipv4_checksum_ok(bad_addr));
    EXPECT_FALSE(udp_checksum_ok(bad_addr));

    auto no_csum = good;
    no_csum[kEthLen + kIpv4Len + 6] = 0;
    no_csum[kEthLen + kIpv4Len + 7] = 0;
    EXPECT_FALSE(udp_checksum_ok(no_csum));
    EXPECT_TRUE(udp_checksum_ok(no_csum, /*allow_zero=*/true));
}

TEST(SipRegister, IsWellFormed) {
    const std::string m = sip_register("192.168.1.10", 5060, "198.51.100.7");
    EXPECT_EQ(m.rfind("REGISTER sip:198.51.100.7 SIP/2.0\r\n", 0), 0u);
    EXPECT_NE(m.find("\r\nContact: <sip:1001@192.168.1.10:5060>\r\n"), std::string::npos);
    EXPECT_NE(m.find("\r\nContent-Length: 0\r\n\r\n"), std::string::npos);
    EXPECT_EQ(m.substr(m.size() - 4), "\r\n\r\n");
}
