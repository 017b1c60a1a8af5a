// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// Test harness around include/sipalg: runs scan + a NAT policy + apply on std::string messages,
// the way a BPF caller does it (same buffers, same two phases).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "sipalg/sipalg.h"

namespace sipalg_test {

constexpr uint32_t ip4(uint32_t a, uint32_t b, uint32_t c, uint32_t d) {
    return (a << 24) | (b << 16) | (c << 8) | d;
}

inline constexpr uint32_t kPublic = ip4(203, 0, 113, 1);
inline constexpr uint32_t kPhone = ip4(192, 168, 10, 11);

// Replacement decisions. Outbound: every address in the match set becomes `public_ip`; ports go
// through `ports` (identity when absent). A SIP host without a port stands for `default_port`
// and gets ":mapped" only if the mapping changes it. Inbound: the reverse, to `private_ip`.
struct Policy {
    uint32_t public_ip = kPublic;
    uint32_t private_ip = kPhone;
    std::map<uint16_t, uint16_t> ports;
    uint16_t default_port = 5060;
    bool inbound = false;
};

struct Result {
    int scan = -1;  // enum sipalg_verdict of the scan
    int apply = -1; // of apply (-1: not run)
    std::string out;
    std::unique_ptr<sipalg_scan_result> sc;
    std::vector<sipalg_occ> occ() const {
        return std::vector<sipalg_occ>(sc->occ, sc->occ + sc->n_occ);
    }
};

// Message in a SIPALG_BUF_SIZE buffer; the bytes after the message are filled with `fill`.
struct MsgBuf {
    explicit MsgBuf(const std::string &m, uint8_t fill = 0);
    std::vector<uint8_t> b;
    uint32_t len;
};

sipalg_match lan_match(std::initializer_list<std::pair<uint32_t, uint32_t>> prefixes = {
                               {ip4(192, 168, 0, 0), 16}});
sipalg_match public_match(uint32_t ip = kPublic);

Result scan_only(const std::string &msg, const sipalg_match &m, uint32_t opts = 0);
Result outbound(const std::string &msg, const Policy &p = Policy(),
                const sipalg_match &m = lan_match());
Result inbound(const std::string &msg, const Policy &p = Policy());

// Replace every "\n" by "\r\n" (test messages are written with bare LF for readability).
std::string crlf(const std::string &lf);

// Set Content-Length to the real body length (after the first empty line).
std::string fix_clen(const std::string &msg);

} // namespace sipalg_test
