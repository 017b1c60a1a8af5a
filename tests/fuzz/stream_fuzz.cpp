// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * libFuzzer target over the slow path's TCP framer (loader/slow/sip_stream), with ASan/UBSan,
 * and over register_kind (loader/slow/sip_register) on every message it frames.
 *
 * Input: byte 0: bits 0-3 the number k of segment lengths that follow, bits 4-5 the framer's
 * limit (the daemon's slow_msg_max() or a small one, so the limit's edges are reached); then k
 * bytes, segment i being (byte + 1) bytes of the stream; the rest of the input is the stream,
 * whatever the segments did not cover fed as one last segment. After every feed the harness
 * takes pieces until next() asks for more bytes.
 *
 * Checked (abort on violation):
 *   - the Message and Keepalive pieces, concatenated, are exactly the stream's first bytes,
 *     and buffered() is what was fed minus what they consumed (nothing lost, reordered or
 *     invented);
 *   - a Keepalive is a non-empty run of CR/LF; a Message does not start with CR/LF, has its
 *     blank line, at most the limit bytes, and a Content-Length (read here independently, as
 *     RFC 3261 section 7.3.1 writes header fields) equal to its body length;
 *   - where the host scanner (slow path limits) accepts the message with the same end of
 *     headers, it finds the same Content-Length: the rewriter never sees a different body
 *     from the one the framer cut;
 *   - next() asks for more bytes only with at most the limit buffered (memory stays bounded);
 *   - once Broken, next() returns Broken (with a reason) for ever, even after more bytes;
 *   - the pieces do not depend on the segmentation: one feed of the whole stream gives the
 *     same pieces and the same Broken or not;
 *   - register_kind: Request only for a start line "REGISTER ", Ok only for "SIP/2.0 2xx".
 */
#include "fuzz_check.h"
#include "slow/sip_register.hpp"
#include "slow/sip_stream.hpp"
#include "slow/rewrite.hpp"

#include "sipalg/sipalg.h"

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace {

using sipalg::slow::SipStream;

struct Framed {
    std::vector<SipStream::Piece> pieces; // Broken (if any) last
    bool broken = false;
};

bool is_crlf(std::uint8_t c) {
    return c == '\r' || c == '\n';
}

bool is_ws(char c) {
    return c == ' ' || c == '\t';
}

bool iequal(std::string_view a, std::string_view b) {
    if (a.size() != b.size())
        return false;
    for (std::size_t i = 0; i < a.size(); i++) {
        const char x = a[i] >= 'A' && a[i] <= 'Z' ? char(a[i] - 'A' + 'a') : a[i];
        if (x != b[i])
            return false;
    }
    return true;
}

// The Content-Length of a header block, field by field: name, optional blanks, ':', value.
// -1: none; -2: one that is not a plain number, or two that differ.
long reference_content_length(std::string_view head) {
    long found = -1;
    std::size_t i = 0;
    while (i < head.size()) {
        std::size_t eol = head.find('\n', i);
        if (eol == std::string_view::npos)
            eol = head.size();
        std::string_view line = head.substr(i, eol - i);
        i = eol + 1;
        if (!line.empty() && line.back() == '\r')
            line.remove_suffix(1);
        const std::size_t colon = line.find(':');
        if (colon == std::string_view::npos)
            continue;
        std::string_view name = line.substr(0, colon);
        while (!name.empty() && is_ws(name.back()))
            name.remove_suffix(1);
        if (name.empty() || name.find_first_of(" \t") != std::string_view::npos)
            continue;
        if (!iequal(name, "content-length") && !iequal(name, "l"))
            continue;
        std::string_view v = line.substr(colon + 1);
        while (!v.empty() && is_ws(v.front()))
            v.remove_prefix(1);
        while (!v.empty() && is_ws(v.back()))
            v.remove_suffix(1);
        if (v.empty() || v.size() > 9 || v.find_first_not_of("0123456789") != v.npos)
            return -2;
        const long value = std::strtol(std::string(v).c_str(), nullptr, 10);
        if (found >= 0 && found != value)
            return -2;
        found = value;
    }
    return found;
}

bool has_bare_lf(std::string_view s) {
    for (std::size_t i = 0; i < s.size(); i++)
        if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r'))
            return true;
    return false;
}

void check_register_kind(const std::vector<std::uint8_t> &msg) {
    using sipalg::slow::RegisterKind;
    const std::string_view m(reinterpret_cast<const char *>(msg.data()), msg.size());
    switch (sipalg::slow::register_kind(msg)) {
    case RegisterKind::Request:
        CHECK(m.substr(0, 9) == "REGISTER ");
        break;
    case RegisterKind::Ok:
        CHECK(m.substr(0, 9) == "SIP/2.0 2" && m.size() >= 11 && m[9] >= '0' && m[9] <= '9' &&
              m[10] >= '0' && m[10] <= '9');
        break;
    case RegisterKind::Other:
        break;
    }
}

void check_message(const std::vector<std::uint8_t> &msg, std::size_t limit) {
    CHECK(!msg.empty() && !is_crlf(msg[0]) && msg.size() <= limit);
    const std::string_view m(reinterpret_cast<const char *>(msg.data()), msg.size());
    const std::size_t blank = m.find("\r\n\r\n");
    CHECK(blank != std::string_view::npos);
    const std::size_t head = blank + 4;
    const long cl = reference_content_length(m.substr(0, blank + 2));
    CHECK(cl >= 0 && std::size_t(cl) == msg.size() - head);
    check_register_kind(msg);

    // The rewriter's view of the same bytes (the slow path's limits: this target is compiled
    // with them, checked against slow_msg_max() at start-up).
    if (msg.size() > SIPALG_MSG_MAX)
        return;
    static std::unique_ptr<std::uint8_t[]> buf(new std::uint8_t[SIPALG_BUF_SIZE]);
    static auto sc = std::make_unique<sipalg_scan_result>();
    std::memset(buf.get(), 0, SIPALG_BUF_SIZE);
    std::memcpy(buf.get(), msg.data(), msg.size());
    sipalg_match mt{};
    sipalg_match_add(&mt, 0xc0a80000u, 16);
    if (sipalg_scan(buf.get(), std::uint32_t(msg.size()), &mt, 0, sc.get()) != SIPALG_OK)
        return;
    // The scanner also takes bare LF line ends (UDP phones send them); where one ends the
    // headers earlier the two readings of the message differ by design, see README.md.
    if (has_bare_lf(m.substr(0, head)))
        return;
    CHECK(sc->body_off == head);
    CHECK(sc->content_length == cl && sc->body_len == std::size_t(cl));
}

// Feeds `stream` in the given segments, checking the invariants after every piece.
Framed frame(const std::uint8_t *stream, std::size_t len, const std::vector<std::size_t> &segs,
             std::size_t limit) {
    SipStream s(limit);
    Framed f;
    std::size_t fed = 0, consumed = 0;
    auto drain = [&] {
        SipStream::Piece p;
        while (s.next(&p)) {
            if (p.kind == SipStream::Kind::Broken) {
                CHECK(!p.why.empty() && p.bytes.empty());
                if (!f.broken)
                    f.pieces.push_back(p);
                f.broken = true;
                // Broken for ever, whatever comes after.
                SipStream::Piece q;
                CHECK(s.next(&q) && q.kind == SipStream::Kind::Broken && q.bytes.empty());
                return;
            }
            CHECK(!f.broken && !p.bytes.empty());
            CHECK(consumed + p.bytes.size() <= fed);
            CHECK(std::memcmp(p.bytes.data(), stream + consumed, p.bytes.size()) == 0);
            if (p.kind == SipStream::Kind::Keepalive) {
                for (std::uint8_t c : p.bytes)
                    CHECK(is_crlf(c));
                // A keepalive run ends at a non-CR/LF byte or at the end of what was fed.
                CHECK(consumed + p.bytes.size() == fed ||
                      !is_crlf(stream[consumed + p.bytes.size()]));
            } else {
                CHECK(p.kind == SipStream::Kind::Message);
                check_message(p.bytes, limit);
            }
            consumed += p.bytes.size();
            CHECK(s.buffered() == fed - consumed);
            f.pieces.push_back(std::move(p));
        }
        if (!f.broken) {
            CHECK(s.buffered() == fed - consumed);
            CHECK(s.buffered() <= limit);
        }
    };
    for (std::size_t seg : segs) {
        if (fed >= len)
            break;
        const std::size_t n = seg < len - fed ? seg : len - fed;
        s.feed(stream + fed, n);
        fed += n;
        drain();
    }
    if (fed < len) {
        s.feed(stream + fed, len - fed);
        fed = len;
        drain();
    }
    // More bytes never revive a broken stream.
    if (f.broken) {
        static const std::uint8_t more[] = "OPTIONS sip:a SIP/2.0\r\nContent-Length: 0\r\n\r\n";
        s.feed(more, sizeof more - 1);
        SipStream::Piece q;
        CHECK(s.next(&q) && q.kind == SipStream::Kind::Broken);
    }
    return f;
}

std::vector<SipStream::Piece> merged(const Framed &f) {
    std::vector<SipStream::Piece> out;
    for (const SipStream::Piece &p : f.pieces) {
        if (p.kind == SipStream::Kind::Keepalive && !out.empty() &&
            out.back().kind == SipStream::Kind::Keepalive)
            out.back().bytes.insert(out.back().bytes.end(), p.bytes.begin(), p.bytes.end());
        else
            out.push_back(p);
    }
    return out;
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int *, char ***) {
    // The scanner of this target must have the slow path's limits (see CMakeLists.txt).
    CHECK(sipalg::slow::slow_msg_max() == SIPALG_MSG_MAX);
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
    if (size < 1)
        return 0;
    static const std::size_t limits[4] = {SIPALG_MSG_MAX, 64, 300, 2048};
    const std::size_t limit = limits[(data[0] >> 4) & 3];
    const std::size_t k = data[0] & 15;
    if (size < 1 + k)
        return 0;
    std::vector<std::size_t> segs;
    for (std::size_t i = 0; i < k; i++)
        segs.push_back(std::size_t(data[1 + i]) + 1);
    const std::uint8_t *stream = data + 1 + k;
    const std::size_t len = size - 1 - k;

    const Framed split = frame(stream, len, segs, limit);
    const Framed whole = frame(stream, len, {}, limit);
    // A keepalive run may be cut where a segment ended: compare with runs merged.
    const std::vector<SipStream::Piece> a = merged(split), b = merged(whole);
    CHECK(split.broken == whole.broken && a.size() == b.size());
    for (std::size_t i = 0; i < a.size(); i++)
        CHECK(a[i].kind == b[i].kind && a[i].bytes == b[i].bytes);
    return 0;
}
