/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * libc-free text helpers for the scanner and rewriter: character classes, case-insensitive
 * comparison against short constant names, decimal and dotted-quad parse/format.
 * No lookup tables (they would live in .rodata); literals are only ever compared in fully unrolled
 * loops, so on BPF they fold into immediates.
 */
#ifndef SIPALG_TEXT_H
#define SIPALG_TEXT_H

#include "sipalg/portable.h"

SIPALG_FN int sipalg_is_digit(sa_u32 c) {
    return c >= '0' && c <= '9';
}
SIPALG_FN int sipalg_is_ws(sa_u32 c) {
    return c == ' ' || c == '\t';
}
SIPALG_FN int sipalg_is_alpha(sa_u32 c) {
    return (c | 0x20) >= 'a' && (c | 0x20) <= 'z';
}
SIPALG_FN int sipalg_is_alnum(sa_u32 c) {
    return sipalg_is_alpha(c) || sipalg_is_digit(c);
}

SIPALG_FN sa_u32 sipalg_lower(sa_u32 c) {
    return (c >= 'A' && c <= 'Z') ? c + 32 : c;
}

/* RFC 3261 token: alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~"
 * As two 64-bit class bitmaps (bytes 0-63 and 64-127) instead of eleven compares. */
#define SIPALG_TOKEN_LO                                                                            \
    ((1ull << '!') | (1ull << '%') | (1ull << '\'') | (1ull << '*') | (1ull << '+') |              \
     (1ull << '-') | (1ull << '.') | (0x3ffull << '0'))
#define SIPALG_TOKEN_HI                                                                            \
    ((0x3ffffffull << ('A' - 64)) | (1ull << ('_' - 64)) | (1ull << ('`' - 64)) |                  \
     (0x3ffffffull << ('a' - 64)) | (1ull << ('~' - 64)))
SIPALG_FN int sipalg_is_token(sa_u32 c) {
    if (c >= 128)
        return 0;
    return (int)(((c < 64 ? SIPALG_TOKEN_LO : SIPALG_TOKEN_HI) >> (c & 63)) & 1);
}

/* Pack up to 8 lowercase characters into a u64, first character most significant: the same
 * packing the value state machine builds byte by byte (v = v << 8 | c) for parameter names. */
#define SIPALG_PK2(a, b) (((sa_u64)(a) << 8) | (sa_u64)(b))
#define SIPALG_PK3(a, b, c) ((SIPALG_PK2(a, b) << 8) | (sa_u64)(c))
#define SIPALG_PK4(a, b, c, d) ((SIPALG_PK3(a, b, c) << 8) | (sa_u64)(d))
#define SIPALG_PK5(a, b, c, d, e) ((SIPALG_PK4(a, b, c, d) << 8) | (sa_u64)(e))
#define SIPALG_PK7(a, b, c, d, e, f, g) ((SIPALG_PK5(a, b, c, d, e) << 16) | SIPALG_PK2(f, g))
#define SIPALG_PK8(a, b, c, d, e, f, g, h) ((SIPALG_PK4(a, b, c, d) << 32) | SIPALG_PK4(e, f, g, h))

/*
 * buf[off .. off+n) equals the lowercase literal lit (n <= 24), ignoring ASCII case of buf.
 * n and lit are compile-time constants at every call site: the literal's bytes, a case-fold mask
 * (0x20 under every letter) and a length mask fold into three constant words, so a compare is
 * at most three 8-byte loads, ORs and XORs, without branches (a compare-and-branch per character
 * would also let the verifier fork a state per character).
 * (c | 0x20) == lit[k] holds exactly for the two cases of a letter; for the other bytes of a
 * header name or method (token characters) |0x20 never turns one into a letter.
 */
#define SIPALG_IEQ(buf, off, lit) sipalg_ieq((buf), (off), (lit), (sa_u32)(sizeof(lit) - 1))
SIPALG_FN int sipalg_ieq(const sa_u8 *buf, sa_u32 off, const char *lit, sa_u32 n) {
    sa_u64 diff = 0;
    sa_u32 q, k;

    SIPALG_UNROLL
    for (q = 0; q < 3; q++) {
        sa_u64 want = 0, fold = 0, mask = 0;

        if (q * 8 >= n)
            continue;
        SIPALG_UNROLL
        for (k = 0; k < 8; k++) {
            if (q * 8 + k < n) {
                sa_u64 ch = (sa_u8)lit[q * 8 + k];

                want |= ch << (8 * k);
                mask |= 0xffull << (8 * k);
                if (sipalg_is_alpha((sa_u32)ch))
                    fold |= 0x20ull << (8 * k);
            }
        }
        diff |= ((sipalg_ld64(buf, off + q * 8) | fold) & mask) ^ want;
    }
    return diff == 0;
}

/*
 * 64-bit hash of buf[off .. off+n): the first 64 bytes, word by word (bytes past n masked off,
 * so whatever follows in the buffer does not matter), and n. Branch-free per word and at most
 * eight 8-byte loads, so it costs the verifier a constant. Never 0, so 0 can mean "none".
 */
SIPALG_FN sa_u64 sipalg_hash_span(const sa_u8 *buf, sa_u32 off, sa_u32 n) {
    sa_u64 h = 0x9e3779b97f4a7c15ull ^ (sa_u64)n;
    sa_u32 q;

    SIPALG_UNROLL
    for (q = 0; q < 8; q++) {
        sa_u64 w;
        sa_u32 left;

        if (q * 8 >= n)
            break;
        left = n - q * 8;
        w = sipalg_ld64(buf, off + q * 8);
        if (left < 8)
            w &= (1ull << (8 * left)) - 1;
        h ^= w;
        h *= 0xff51afd7ed558ccdull;
        h ^= h >> 33;
    }
    return h ? h : 1;
}

/*
 * Decimal number at buf[off .. end): at most maxd (<= 10) digits, value must fit in 32 bits.
 * Returns the number of digits (0: none; *ok = 0: too many digits or overflow).
 * Early exit keeps the verifier's path count linear in the digit count.
 */
SIPALG_FN sa_u32 sipalg_parse_dec(const sa_u8 *buf, sa_u32 off, sa_u32 end, sa_u32 maxd,
                                  sa_u32 *val, int *ok) {
    sa_u64 v = 0;
    sa_u32 n = 0, k;

    SIPALG_UNROLL
    for (k = 0; k < 11; k++) {
        sa_u32 c = sipalg_at(buf, off + k);

        if (off + k >= end || !sipalg_is_digit(c))
            break;
        v = v * 10 + (c - '0');
        n++;
    }
    *ok = n <= maxd && v <= 0xffffffffull;
    *val = (sa_u32)v;
    return n;
}

/*
 * Dotted-quad IPv4 literal at buf[off .. end) (no leading zeros: "010.0.0.1" is not taken as an
 * address, so an ambiguous literal is left alone). Returns its length (the literal ends at end or
 * at the first byte that is neither digit nor '.'), 0 if it is not one. *ip in host order.
 * Written as four octet parses with early exits so the verifier sees few distinct paths.
 */
SIPALG_FN sa_u32 sipalg_parse_octet(const sa_u8 *buf, sa_u32 off, sa_u32 end, sa_u32 *val) {
    sa_u32 c0 = sipalg_at(buf, off), c1 = sipalg_at(buf, off + 1), c2 = sipalg_at(buf, off + 2);
    sa_u32 v;

    if (off >= end || !sipalg_is_digit(c0))
        return 0;
    v = c0 - '0';
    if (off + 1 >= end || !sipalg_is_digit(c1)) {
        *val = v;
        return 1;
    }
    if (c0 == '0')
        return 0;
    v = v * 10 + (c1 - '0');
    if (off + 2 >= end || !sipalg_is_digit(c2)) {
        *val = v;
        return 2;
    }
    v = v * 10 + (c2 - '0');
    if (v > 255 || (off + 3 < end && sipalg_is_digit(sipalg_at(buf, off + 3))))
        return 0;
    *val = v;
    return 3;
}

SIPALG_FN sa_u32 sipalg_parse_ipv4(const sa_u8 *buf, sa_u32 off, sa_u32 end, sa_u32 *ip) {
    sa_u32 a = 0, b = 0, c = 0, d = 0, n, p = off;

    n = sipalg_parse_octet(buf, p, end, &a);
    if (!n || p + n >= end || sipalg_at(buf, p + n) != '.')
        return 0;
    p += n + 1;
    n = sipalg_parse_octet(buf, p, end, &b);
    if (!n || p + n >= end || sipalg_at(buf, p + n) != '.')
        return 0;
    p += n + 1;
    n = sipalg_parse_octet(buf, p, end, &c);
    if (!n || p + n >= end || sipalg_at(buf, p + n) != '.')
        return 0;
    p += n + 1;
    n = sipalg_parse_octet(buf, p, end, &d);
    if (!n || (p + n < end && sipalg_at(buf, p + n) == '.'))
        return 0;
    *ip = (a << 24) | (b << 16) | (c << 8) | d;
    return p + n - off;
}

/*
 * Decimal of v (<= 99999) into dst[pos ..] (dst: SIPALG_TEXT_MAX + 8 bytes, pos < TEXT_MAX);
 * returns the new position. The five digits are built in a word, leading zeros shifted out, and
 * the word stored at once: no per-digit branches.
 */
/* x / 10 for any 32-bit x, by multiplication: BPF has no multiply-high, so the compiler keeps a
 * real (slow) division instruction for a plain x / 10. */
SIPALG_FN sa_u32 sipalg_div10(sa_u32 x) {
    return (sa_u32)(((sa_u64)x * 0xcccccccdull) >> 35);
}

/* 1 if x >= t (t below 2^31), without a comparison, so without a jump on BPF: the sign of
 * t - 1 - x, or x's own top bit (x >= 2^31 > t). The empty asm keeps the compiler from turning
 * it back into a comparison. */
SIPALG_FN sa_u32 sipalg_ge(sa_u32 x, sa_u32 t) {
    sa_u32 d = (t - 1u - x) | x;

    SIPALG_OPAQUE(d);
    return d >> 31;
}

SIPALG_FN sa_u32 sipalg_fmt_dec(sa_u8 *dst, sa_u32 pos, sa_u32 v) {
    sa_u64 w = 0;
    sa_u32 nd, k, x = v > 99999 ? 99999 : v;

    SIPALG_UNROLL
    for (k = 0; k < 5; k++) {
        sa_u32 q = sipalg_div10(x);

        w = (w << 8) | ('0' + (x - q * 10));
        x = q;
    }
    /* the digit count without a branch (each threshold's sign bit): fmt_ipv4 formats four
     * numbers, and a five-way branch in each would be 625 paths for the verifier */
    nd = 1 + sipalg_ge(v, 10) + sipalg_ge(v, 100) + sipalg_ge(v, 1000) + sipalg_ge(v, 10000);
    w >>= 8 * (5 - nd);
#if defined(SIPALG_BPF)
    *(sa_u64 *)(dst + (pos & (SIPALG_TEXT_MAX - 1))) = w;
#else
    memcpy(dst + (pos & (SIPALG_TEXT_MAX - 1)), &w, sizeof(w));
#endif
    return pos + nd;
}

SIPALG_FN sa_u32 sipalg_fmt_ipv4(sa_u8 *dst, sa_u32 pos, sa_u32 ip) {
    pos = sipalg_fmt_dec(dst, pos, ip >> 24);
    dst[pos++ & (SIPALG_TEXT_MAX - 1)] = '.';
    pos = sipalg_fmt_dec(dst, pos, (ip >> 16) & 0xff);
    dst[pos++ & (SIPALG_TEXT_MAX - 1)] = '.';
    pos = sipalg_fmt_dec(dst, pos, (ip >> 8) & 0xff);
    dst[pos++ & (SIPALG_TEXT_MAX - 1)] = '.';
    return sipalg_fmt_dec(dst, pos, ip & 0xff);
}

#endif /* SIPALG_TEXT_H */
