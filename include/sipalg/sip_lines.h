/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Line index: the start offset of every line of the message, found 8 bytes at a time.
 *
 * One step per 8-byte word (256 for a 2048-byte message, 4 per loop callback) instead of one
 * per byte: the word is XORed with "\n\n\n\n\n\n\n\n" and the exact zero-byte test
 *   ~(((x & 0x7f..7f) + 0x7f..7f) | x) & 0x80..80
 * leaves the high bit of every byte that was '\n' (no false positives, unlike the cheaper
 * (x - 0x01..01) & ~x form). Set bits are peeled lowest first; a multiply by 0x0001020304050607
 * turns the isolated bit into its byte number without a count-trailing-zeros instruction (BPF has
 * none).
 */
#ifndef SIPALG_SIP_LINES_H
#define SIPALG_SIP_LINES_H

#include "sipalg/sip_types.h"

#define SIPALG_ONES 0x0101010101010101ull
#define SIPALG_HIGHS 0x8080808080808080ull
#define SIPALG_LOWS7 0x7f7f7f7f7f7f7f7full

SIPALG_FN void sipalg_line_add(struct sipalg_scan_state *st, sa_u32 start) {
    sa_u32 n = st->nl;

    if (n >= SIPALG_MAX_LINES) {
        if (!st->lines_full)
            st->overflow_start = (sa_u16)start;
        st->lines_full = 1;
        return;
    }
    st->lines[n & (SIPALG_MAX_LINES - 1)] = (sa_u16)start;
    st->nl = (sa_u16)(n + 1);
}

/* Words per loop callback (see byte_loop.h for why callbacks do several steps). */
#define SIPALG_INDEX_WORDS 4u

/* Record the line starts after the '\n's of the 8-byte word at base. Returns 1 when full. */
SIPALG_FN int sipalg_index_word(struct sipalg_ctx *ctx, sa_u32 base) {
    struct sipalg_scan_state *st = &ctx->sc->st;
    sa_u32 len = ctx->sc->len, k;
    sa_u64 x = sipalg_ld64(ctx->msg, base) ^ (SIPALG_ONES * '\n');
    sa_u64 t = ~(((x & SIPALG_LOWS7) + SIPALG_LOWS7) | x) & SIPALG_HIGHS;

    if (len - base < 8) /* bytes past the end are not part of the message */
        t &= (1ull << ((len - base) * 8)) - 1;
    SIPALG_UNROLL
    for (k = 0; k < 8; k++) {
        sa_u64 bit = t & (~t + 1);
        sa_u32 start = base + (sa_u32)(((bit >> 7) * 0x0001020304050607ull) >> 56) + 1;

        if (!t)
            break;
        t &= t - 1;
        if (start < len) /* a final '\n' starts no line */
            sipalg_line_add(st, start);
    }
    return st->lines_full != 0;
}

SIPALG_CB sipalg_index_cb(sa_u32 i, void *vctx) {
    struct sipalg_ctx *ctx = (struct sipalg_ctx *)vctx;
    sa_u32 w;

    SIPALG_UNROLL
    for (w = 0; w < SIPALG_INDEX_WORDS; w++) {
        sa_u32 base = (i * SIPALG_INDEX_WORDS + w) * 8;

        if (base >= ctx->sc->len || sipalg_index_word(ctx, base))
            return 1;
        SIPALG_BARRIER();
    }
    return 0;
}

/* Fill st->lines; lines_full if there were more lines than SIPALG_MAX_LINES. */
SIPALG_FN void sipalg_index_lines(struct sipalg_ctx *ctx) {
    struct sipalg_scan_state *st = &ctx->sc->st;

    st->nl = 1;
    st->lines[0] = 0;
    st->lines_full = 0;
    st->overflow_start = 0;
    SIPALG_LOOP((ctx->sc->len + 8 * SIPALG_INDEX_WORDS - 1) / (8 * SIPALG_INDEX_WORDS),
                sipalg_index_cb, ctx);
}

/* End of line k (offset after its '\n', or the message end). */
SIPALG_FN sa_u32 sipalg_line_end(const struct sipalg_scan_result *sc, sa_u32 k) {
    if (k + 1 < sc->st.nl)
        return sc->st.lines[(k + 1) & (SIPALG_MAX_LINES - 1)];
    return sc->st.lines_full ? sc->st.overflow_start : sc->len;
}

#endif /* SIPALG_SIP_LINES_H */
