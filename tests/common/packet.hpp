// Test helpers: build Ethernet/IPv4/UDP frames with correct checksums, and verify checksums of
// frames (ours or the programs' output). Header-only; shared by all C++ test binaries.
#pragma once

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace sipalg::test {

using Mac = std::array<std::uint8_t, 6>;

inline constexpr std::size_t kEthLen = 14;
inline constexpr std::size_t kIpv4Len = 20; // we never emit IP options
inline constexpr std::size_t kUdpLen = 8;
inline constexpr std::uint16_t kEthTypeIpv4 = 0x0800;
inline constexpr std::uint8_t kProtoUdp = 17;

// RFC 1071 one's complement sum of 16-bit big-endian words (odd trailing byte padded with
// zero), not yet folded or complemented, so pieces (pseudo-header, header, payload) chain.
inline std::uint32_t csum_add(std::uint32_t sum, const std::uint8_t *data, std::size_t len) {
    for (std::size_t i = 0; i + 1 < len; i += 2)
        sum += static_cast<std::uint32_t>(data[i] << 8 | data[i + 1]);
    if (len & 1)
        sum += static_cast<std::uint32_t>(data[len - 1] << 8);
    return sum;
}

inline std::uint16_t csum_fold(std::uint32_t sum) {
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return static_cast<std::uint16_t>(sum);
}

// The checksum to store: complement of the folded sum.
inline std::uint16_t inet_checksum(const std::uint8_t *data, std::size_t len,
                                   std::uint32_t initial = 0) {
    return static_cast<std::uint16_t>(~csum_fold(csum_add(initial, data, len)));
}

inline std::uint32_t ipv4_addr(const char *dotted) {
    in_addr a{};
    if (inet_pton(AF_INET, dotted, &a) != 1)
        throw std::invalid_argument(std::string("bad IPv4 address ") + dotted);
    return ntohl(a.s_addr);
}

struct UdpFrameSpec {
    Mac src_mac{0x02, 0x00, 0x00, 0x00, 0x00, 0x01};
    Mac dst_mac{0x02, 0x00, 0x00, 0x00, 0x00, 0x02};
    std::uint32_t src_ip = 0; // host byte order
    std::uint32_t dst_ip = 0;
    std::uint16_t src_port = 0;
    std::uint16_t dst_port = 0;
    std::uint8_t ttl = 64;
    std::uint16_t ip_id = 0x1234;
    std::string payload;
};

namespace detail {
inline void put16(std::vector<std::uint8_t> &b, std::size_t off, std::uint16_t v) {
    b[off] = static_cast<std::uint8_t>(v >> 8);
    b[off + 1] = static_cast<std::uint8_t>(v);
}
inline void put32(std::vector<std::uint8_t> &b, std::size_t off, std::uint32_t v) {
    put16(b, off, static_cast<std::uint16_t>(v >> 16));
    put16(b, off + 2, static_cast<std::uint16_t>(v));
}
inline std::uint16_t get16(const std::vector<std::uint8_t> &b, std::size_t off) {
    return static_cast<std::uint16_t>(b[off] << 8 | b[off + 1]);
}

// Sum of the UDP pseudo-header (src, dst, zero+proto, UDP length).
inline std::uint32_t udp_pseudo_sum(const std::vector<std::uint8_t> &f, std::size_t ip,
                                    std::uint16_t udp_len) {
    std::uint32_t sum = csum_add(0, &f[ip + 12], 8);
    sum += kProtoUdp;
    sum += udp_len;
    return sum;
}
} // namespace detail

// Ethernet II + IPv4 (no options, DF set) + UDP with both checksums filled in.
inline std::vector<std::uint8_t> build_udp_frame(const UdpFrameSpec &s) {
    using namespace detail;
    const std::size_t udp_len = kUdpLen + s.payload.size();
    const std::size_t ip_len = kIpv4Len + udp_len;
    if (ip_len > 0xffff)
        throw std::invalid_argument("payload too large for one IPv4 packet");
    std::vector<std::uint8_t> f(kEthLen + ip_len, 0);

    std::copy(s.dst_mac.begin(), s.dst_mac.end(), f.begin());
    std::copy(s.src_mac.begin(), s.src_mac.end(), f.begin() + 6);
    put16(f, 12, kEthTypeIpv4);

    const std::size_t ip = kEthLen;
    f[ip] = 0x45; // version 4, IHL 5
    f[ip + 1] = 0;
    put16(f, ip + 2, static_cast<std::uint16_t>(ip_len));
    put16(f, ip + 4, s.ip_id);
    put16(f, ip + 6, 0x4000); // DF, offset 0
    f[ip + 8] = s.ttl;
    f[ip + 9] = kProtoUdp;
    put32(f, ip + 12, s.src_ip);
    put32(f, ip + 16, s.dst_ip);
    put16(f, ip + 10, inet_checksum(&f[ip], kIpv4Len));

    const std::size_t udp = ip + kIpv4Len;
    put16(f, udp, s.src_port);
    put16(f, udp + 2, s.dst_port);
    put16(f, udp + 4, static_cast<std::uint16_t>(udp_len));
    std::copy(s.payload.begin(), s.payload.end(), f.begin() + static_cast<long>(udp + kUdpLen));
    std::uint16_t c =
            inet_checksum(&f[udp], udp_len, udp_pseudo_sum(f, ip, static_cast<uint16_t>(udp_len)));
    put16(f, udp + 6, c == 0 ? 0xffff : c); // RFC 768: a computed 0 is sent as all ones
    return f;
}

// A datagram from src port sp to dst port dp; MACs, TTL and IP id as UdpFrameSpec has them.
inline UdpFrameSpec udp_spec(const char *src, std::uint16_t sp, const char *dst, std::uint16_t dp,
                             std::string payload) {
    UdpFrameSpec s;
    s.src_ip = ipv4_addr(src);
    s.dst_ip = ipv4_addr(dst);
    s.src_port = sp;
    s.dst_port = dp;
    s.payload = std::move(payload);
    return s;
}

// A frame from src (MAC smac) port sp to dst port dp, next hop dmac (benches, tests).
inline std::vector<std::uint8_t> udp_frame(const char *src, const Mac &smac, const Mac &dmac,
                                           std::uint16_t sp, const char *dst, std::uint16_t dp,
                                           std::string payload) {
    UdpFrameSpec s = udp_spec(src, sp, dst, dp, std::move(payload));
    s.src_mac = smac;
    s.dst_mac = dmac;
    return build_udp_frame(s);
}

// True if the frame is Ethernet/IPv4 and the IPv4 header checksum verifies (sum over the
// header including the checksum field folds to 0xffff).
inline bool ipv4_checksum_ok(const std::vector<std::uint8_t> &f) {
    if (f.size() < kEthLen + kIpv4Len || detail::get16(f, 12) != kEthTypeIpv4)
        return false;
    const std::size_t ihl = static_cast<std::size_t>(f[kEthLen] & 0x0f) * 4;
    if (ihl < kIpv4Len || f.size() < kEthLen + ihl)
        return false;
    return csum_fold(csum_add(0, &f[kEthLen], ihl)) == 0xffff;
}

// True if the frame carries IPv4/UDP whose checksum verifies (0 means "none" and is accepted
// only if allow_zero).
inline bool udp_checksum_ok(const std::vector<std::uint8_t> &f, bool allow_zero = false) {
    if (!ipv4_checksum_ok(f) || f[kEthLen + 9] != kProtoUdp)
        return false;
    const std::size_t ip = kEthLen;
    const std::size_t ihl = static_cast<std::size_t>(f[ip] & 0x0f) * 4;
    const std::size_t udp = ip + ihl;
    if (f.size() < udp + kUdpLen)
        return false;
    const std::uint16_t udp_len = detail::get16(f, udp + 4);
    if (udp_len < kUdpLen || f.size() < udp + udp_len)
        return false;
    if (detail::get16(f, udp + 6) == 0)
        return allow_zero;
    return csum_fold(csum_add(detail::udp_pseudo_sum(f, ip, udp_len), &f[udp], udp_len)) == 0xffff;
}

// An RTP packet (version 2, PCMU, SSRC 0xdeadbeef) with 160 bytes of audio.
inline std::string rtp_payload(std::uint16_t seq = 1) {
    std::string p("\x80\x00", 2);
    p += static_cast<char>(seq >> 8);
    p += static_cast<char>(seq & 0xff);
    p += std::string("\x00\x00\x00\xa0\xde\xad\xbe\xef", 8);
    p += std::string(160, '\x55');
    return p;
}

// A minimal but well-formed SIP REGISTER as a phone behind NAT would send it (private Via and
// Contact: exactly what the ALG will have to rewrite).
inline std::string sip_register(const std::string &phone_ip, std::uint16_t phone_port,
                                const std::string &registrar) {
    const std::string port = std::to_string(phone_port);
    std::string msg;
    msg += "REGISTER sip:" + registrar + " SIP/2.0\r\n";
    msg += "Via: SIP/2.0/UDP " + phone_ip + ":" + port + ";branch=z9hG4bK-sipalg-test-1;rport\r\n";
    msg += "Max-Forwards: 70\r\n";
    msg += "From: <sip:1001@" + registrar + ">;tag=a73kszlfl\r\n";
    msg += "To: <sip:1001@" + registrar + ">\r\n";
    msg += "Call-ID: 1j9FpLxk3uxtm8tn@" + phone_ip + "\r\n";
    msg += "CSeq: 1 REGISTER\r\n";
    msg += "Contact: <sip:1001@" + phone_ip + ":" + port + ">\r\n";
    msg += "Expires: 3600\r\n";
    msg += "User-Agent: sipalg-test\r\n";
    msg += "Content-Length: 0\r\n";
    msg += "\r\n";
    return msg;
}

} // namespace sipalg::test
