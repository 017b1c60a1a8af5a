// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * libFuzzer target over scan + apply, outbound and inbound, with ASan/UBSan.
 *
 * Input: byte 0 selects the NAT decisions (public address length, port mapping), the rest is the
 * SIP message. Checked invariants (abort on violation, so the fuzzer reports them):
 *   - verdicts are in range; spans (headers, occurrences, body) lie inside the message;
 *   - occurrences are sorted and do not overlap;
 *   - bytes after the message in the buffer never change the result;
 *   - apply: OK only with out_len <= SIPALG_MSG_MAX; the output equals a plain std::string
 *     splice of the replacement texts (an independent reference of the word-copy rewriter),
 *     with Content-Length equal to the old one plus the body's change; the output rescans as OK
 *     with the same number of header fields.
 * The input buffer is exactly SIPALG_BUF_SIZE bytes on the heap, so ASan flags any read past it.
 */
#include "fuzz_check.h"
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

#include "sipalg/sipalg.h"

namespace {

void check_scan(const sipalg_scan_result &sc, uint32_t len) {
    CHECK(sc.verdict <= SIPALG_TOO_BIG);
    if (sc.verdict != SIPALG_OK)
        return;
    CHECK(sc.n_hdrs <= SIPALG_MAX_HDRS && sc.n_occ <= SIPALG_MAX_OCC);
    CHECK(sc.body_off <= len && sc.body_off + sc.body_len <= len);
    CHECK(sc.sdp.n_media <= SIPALG_MAX_MEDIA);
    for (uint32_t i = 0; i < sc.n_hdrs; i++) {
        const sipalg_hdr &h = sc.hdrs[i];
        CHECK(h.name_off < h.value_off && h.value_off <= h.value_end + 0u);
        CHECK(h.value_end <= len);
    }
    uint32_t prev = 0;
    for (uint32_t i = 0; i < sc.n_occ; i++) {
        const sipalg_occ &o = sc.occ[i];
        if (o.kind == SIPALG_OCC_NONE)
            continue;
        CHECK(o.off >= prev && o.len > 0 && o.off + o.len <= len);
        prev = o.off + o.len;
    }
}

// NAT decisions: deterministic from the selector byte.
void decide(sipalg_scan_result &sc, uint8_t sel, bool inbound) {
    static const uint32_t ips[4] = {0x01020304u, 0xcb0071c9u /* 203.0.113.201 */,
                                    0xc0a80a0bu /* 192.168.10.11 */, 0xcb007101u};
    uint32_t ip = ips[sel & 3];
    for (uint32_t i = 0; i < sc.n_occ; i++) {
        sipalg_occ *o = &sc.occ[i];
        uint32_t port = o->port;
        if (sel & 4)
            port = port ? (port * 7 + 1) % 65536 : 0;
        if (sel & 8)
            port = 65535;
        if ((sel & 16) && i % 2)
            continue; // leave some unset
        if (o->kind != SIPALG_OCC_NONE && o->kind != SIPALG_OCC_CONTENT_LENGTH)
            sipalg_occ_set(o, inbound ? ips[2] : ip, port);
    }
}

std::string ip_text(uint32_t ip) {
    return std::to_string(ip >> 24) + "." + std::to_string((ip >> 16) & 255) + "." +
           std::to_string((ip >> 8) & 255) + "." + std::to_string(ip & 255);
}

// Reference rewrite: what apply must produce, written the obvious way.
std::string reference(const uint8_t *msg, uint32_t len, const sipalg_scan_result &sc) {
    std::string out;
    uint32_t src = 0;
    int32_t body_delta = 0;
    int cl = -1;
    std::string texts[SIPALG_MAX_OCC];
    for (uint32_t i = 0; i < sc.n_occ; i++) {
        const sipalg_occ &o = sc.occ[i];
        if (o.kind == SIPALG_OCC_CONTENT_LENGTH) {
            cl = int(i);
            continue;
        }
        if (!sipalg_occ_active(&o))
            continue;
        std::string t;
        switch (o.kind) {
        case SIPALG_OCC_SIP_HOST:
            t = ip_text(o.new_ip) + (o.new_port ? ":" + std::to_string(o.new_port) : "");
            break;
        case SIPALG_OCC_SIP_RPORT:
        case SIPALG_OCC_SDP_MEDIA_PORT:
        case SIPALG_OCC_SDP_RTCP_PORT:
        case SIPALG_OCC_SDP_CAND_PORT:
            t = std::to_string(o.new_port);
            break;
        default:
            t = ip_text(o.new_ip);
            break;
        }
        texts[i] = t;
        if (o.flags & SIPALG_OF_BODY)
            body_delta += int32_t(t.size()) - int32_t(o.len);
    }
    if (cl >= 0 && body_delta != 0)
        texts[cl] = std::to_string(sc.content_length + body_delta);
    for (uint32_t i = 0; i < sc.n_occ; i++) {
        const sipalg_occ &o = sc.occ[i];
        if (texts[i].empty())
            continue;
        out.append(reinterpret_cast<const char *>(msg) + src, o.off - src);
        out += texts[i];
        src = o.off + o.len;
    }
    out.append(reinterpret_cast<const char *>(msg) + src, len - src);
    return out;
}

void one_direction(const uint8_t *msg, size_t size, uint8_t sel, bool inbound) {
    std::unique_ptr<uint8_t[]> a(new uint8_t[SIPALG_BUF_SIZE]);
    std::unique_ptr<uint8_t[]> b(new uint8_t[SIPALG_BUF_SIZE]);
    std::unique_ptr<uint8_t[]> out(new uint8_t[SIPALG_BUF_SIZE]);
    auto sc = std::make_unique<sipalg_scan_result>();
    auto sc2 = std::make_unique<sipalg_scan_result>();
    uint32_t len = uint32_t(size > SIPALG_BUF_SIZE ? SIPALG_BUF_SIZE : size);
    sipalg_match m{};

    if (inbound) {
        sipalg_match_add(&m, 0xcb007101u, 32);
    } else {
        sipalg_match_add(&m, 0xc0a80000u, 16);
        sipalg_match_add(&m, 0x0a000000u, 8);
    }
    // Same message, two different tails.
    std::memset(a.get(), '\n', SIPALG_BUF_SIZE);
    std::memset(b.get(), '7', SIPALG_BUF_SIZE);
    std::memcpy(a.get(), msg, len);
    std::memcpy(b.get(), msg, len);
    uint32_t opts = inbound ? SIPALG_SCAN_NO_SDP_EDITS : 0;
    int v = sipalg_scan(a.get(), uint32_t(size), &m, opts, sc.get());
    int v2 = sipalg_scan(b.get(), uint32_t(size), &m, opts, sc2.get());
    CHECK(v == v2 && v == sc->verdict);
    if (size > SIPALG_MSG_MAX) {
        CHECK(v == SIPALG_TOO_BIG);
        return;
    }
    check_scan(*sc, len);
    if (v != SIPALG_OK)
        return;
    CHECK(sc->n_occ == sc2->n_occ && sc->n_hdrs == sc2->n_hdrs);
    CHECK(std::memcmp(sc->occ, sc2->occ, sizeof(sipalg_occ) * sc->n_occ) == 0);

    decide(*sc, sel, inbound);
    std::string want = reference(a.get(), len, *sc);
    uint32_t out_len = 0;
    std::memset(out.get(), 0x5a, SIPALG_BUF_SIZE);
    int av = sipalg_apply(a.get(), sc.get(), out.get(), &out_len);
    CHECK(av == SIPALG_OK || av == SIPALG_TOO_BIG);
    if (av != SIPALG_OK) {
        CHECK(out_len == 0 && want.size() > SIPALG_MSG_MAX);
        return;
    }
    CHECK(out_len <= SIPALG_MSG_MAX && out_len == want.size());
    CHECK(std::memcmp(out.get(), want.data(), out_len) == 0);
    // The rewritten message is still a message the scanner accepts.
    std::memset(b.get(), 0, SIPALG_BUF_SIZE);
    std::memcpy(b.get(), out.get(), out_len);
    int rv = sipalg_scan(b.get(), out_len, &m, opts, sc2.get());
    CHECK(rv == SIPALG_OK || rv == SIPALG_TOO_COMPLEX);
    if (rv == SIPALG_OK)
        CHECK(sc2->n_hdrs == sc->n_hdrs);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1)
        return 0;
    one_direction(data + 1, size - 1, data[0], false);
    one_direction(data + 1, size - 1, data[0], true);
    return 0;
}
