// Variations of a well-formed UDP frame for the slow-path and robustness tests: another IP
// protocol, IP fragments, broken lengths. Each keeps the IPv4 header checksum valid, so the
// programs see exactly one thing wrong at a time.
#pragma once

#include "packet.hpp"

#include <cstdint>
#include <vector>

namespace sipalg::test {

inline void fix_ipv4_checksum(std::vector<std::uint8_t> &f) {
    f[kEthLen + 10] = 0;
    f[kEthLen + 11] = 0;
    const std::uint16_t c = inet_checksum(&f[kEthLen], kIpv4Len);
    f[kEthLen + 10] = static_cast<std::uint8_t>(c >> 8);
    f[kEthLen + 11] = static_cast<std::uint8_t>(c);
}

// Same bytes, protocol byte changed (e.g. 6: the first 4 bytes of the "UDP" header are then
// read as TCP ports, which is all the programs look at for TCP).
inline std::vector<std::uint8_t> with_protocol(std::vector<std::uint8_t> f, std::uint8_t proto) {
    f[kEthLen + 9] = proto;
    fix_ipv4_checksum(f);
    return f;
}

// Marks the packet as an IP fragment: more-fragments flag and/or a non-zero offset (8-byte
// units).
inline std::vector<std::uint8_t> as_fragment(std::vector<std::uint8_t> f, bool more,
                                             std::uint16_t offset8) {
    const std::uint16_t v = static_cast<std::uint16_t>((more ? 0x2000 : 0) | (offset8 & 0x1fff));
    f[kEthLen + 6] = static_cast<std::uint8_t>(v >> 8);
    f[kEthLen + 7] = static_cast<std::uint8_t>(v);
    fix_ipv4_checksum(f);
    return f;
}

// UDP length field no longer matching the IP payload.
inline std::vector<std::uint8_t> with_udp_len(std::vector<std::uint8_t> f, std::uint16_t len) {
    f[kEthLen + kIpv4Len + 4] = static_cast<std::uint8_t>(len >> 8);
    f[kEthLen + kIpv4Len + 5] = static_cast<std::uint8_t>(len);
    return f;
}

} // namespace sipalg::test
