/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * sipalg_apply(): write the rewritten message into a second buffer.
 *
 * Two-phase use:
 *   sipalg_scan(msg, len, &match, opts, sc);           // occurrences in sc->occ[0 .. n_occ)
 *   for each occ (kind != NONE, CONTENT_LENGTH excluded):
 *       decide new_ip/new_port (bindings, pinholes), then sipalg_occ_set(o, ip, port)
 *   sipalg_apply(msg, sc, out, &out_len);              // SIPALG_OK: out[0 .. out_len) is ready
 *
 * Occurrences not set are copied unchanged. Content-Length is recomputed from the change of the
 * body's length (SDP edits) and written by apply itself. Nothing the caller may use is written
 * unless the verdict is SIPALG_OK: length and ordering are checked before the first byte is copied.
 *
 * Copying is done in 32-byte blocks of 8-byte words with overshoot: each segment and each
 * replacement is written with whole blocks at increasing offsets, the bytes a block writes past
 * its segment are overwritten by the next one, and the last store ends less than 32 bytes past
 * out_len, inside SIPALG_BUF_PAD (reads of msg likewise stay below MSG_MAX + 32). Bytes of out
 * past out_len are garbage.
 */
#ifndef SIPALG_SIP_REWRITE_H
#define SIPALG_SIP_REWRITE_H

#include "sipalg/sip_types.h"
#include "sipalg/text.h"

SIPALG_FN void sipalg_occ_set(struct sipalg_occ *o, sa_u32 new_ip, sa_u32 new_port) {
    o->new_ip = new_ip;
    o->new_port = (sa_u16)new_port;
    o->flags |= SIPALG_OF_SET;
}

SIPALG_FN int sipalg_occ_active(const struct sipalg_occ *o) {
    return o->kind != SIPALG_OCC_NONE && (o->flags & SIPALG_OF_SET);
}

/* What an occurrence's replacement text is made of. */
enum sipalg_occ_text {
    SIPALG_TEXT_NONE = 0,
    SIPALG_TEXT_HOSTPORT, /* address, and ":port" when it has one */
    SIPALG_TEXT_ADDR,     /* an address alone */
    SIPALG_TEXT_PORT,     /* a port alone */
    SIPALG_TEXT_CLEN,     /* the Content-Length */
};

SIPALG_FN int sipalg_occ_text_of(sa_u8 kind) {
    switch (kind) {
    case SIPALG_OCC_SIP_HOST:
        return SIPALG_TEXT_HOSTPORT;
    case SIPALG_OCC_SIP_ADDR:
    case SIPALG_OCC_SDP_ORIGIN:
    case SIPALG_OCC_SDP_CONN:
    case SIPALG_OCC_SDP_RTCP_ADDR:
    case SIPALG_OCC_CALLID_HOST:
    case SIPALG_OCC_SDP_CAND_ADDR:
        return SIPALG_TEXT_ADDR;
    case SIPALG_OCC_SIP_RPORT:
    case SIPALG_OCC_SDP_MEDIA_PORT:
    case SIPALG_OCC_SDP_RTCP_PORT:
    case SIPALG_OCC_SDP_CAND_PORT:
        return SIPALG_TEXT_PORT;
    case SIPALG_OCC_CONTENT_LENGTH:
        return SIPALG_TEXT_CLEN;
    default:
        return SIPALG_TEXT_NONE;
    }
}

/* Replacement text of o into o->text (clen: new Content-Length for that kind). A global function
 * on BPF (SIPALG_GLOBAL_FN): checked once, not in every state of the rewriter's callbacks. */
SIPALG_GLOBAL_FN int sipalg_occ_format(struct sipalg_occ *o, sa_u32 clen) {
    sa_u32 p = 0;

    if (!o)
        return 0;
    switch (sipalg_occ_text_of(o->kind)) {
    case SIPALG_TEXT_HOSTPORT:
        p = sipalg_fmt_ipv4(o->text, 0, o->new_ip);
        if (o->new_port) {
            o->text[p++ & (SIPALG_TEXT_MAX - 1)] = ':';
            p = sipalg_fmt_dec(o->text, p, o->new_port);
        }
        break;
    case SIPALG_TEXT_ADDR:
        p = sipalg_fmt_ipv4(o->text, 0, o->new_ip);
        break;
    case SIPALG_TEXT_PORT:
        p = sipalg_fmt_dec(o->text, 0, o->new_port);
        break;
    case SIPALG_TEXT_CLEN:
        p = sipalg_fmt_dec(o->text, 0, clen);
        break;
    default:
        break;
    }
    o->text_len = (sa_u8)p;
    return 0;
}

/* Pass 1: format every set occurrence, check order, sum the length changes. */
SIPALG_CB sipalg_prep_cb(sa_u32 i, void *vctx) {
    struct sipalg_ctx *ctx = (struct sipalg_ctx *)vctx;
    struct sipalg_scan_result *sc = ctx->sc;
    struct sipalg_scan_state *st = &sc->st;
    struct sipalg_occ *o = &sc->occ[SIPALG_SLOT(i, SIPALG_MAX_OCC)];
    sa_s32 d;

    if (o->kind == SIPALG_OCC_CONTENT_LENGTH) {
        o->flags &= (sa_u8)~SIPALG_OF_SET; /* decided after the body delta is known */
        st->end = i + 1;                   /* index + 1 of the Content-Length occurrence */
    }
    if (o->kind == SIPALG_OCC_NONE ||
        (!(o->flags & SIPALG_OF_SET) && o->kind != SIPALG_OCC_CONTENT_LENGTH))
        return 0;
    if (o->off < st->prev_end || (sa_u32)o->off + o->len > sc->len) {
        st->bad_edit = 1;
        return 1;
    }
    st->prev_end = (sa_u32)o->off + o->len;
    if (o->kind == SIPALG_OCC_CONTENT_LENGTH)
        return 0;
    sipalg_occ_format(o, 0);
    d = (sa_s32)o->text_len - (sa_s32)o->len;
    st->delta += d;
    if (o->flags & SIPALG_OF_BODY)
        st->body_delta += d;
    return 0;
}

/* 32 bytes per loop callback (see byte_loop.h for why callbacks do several steps). */
SIPALG_CB sipalg_chunk_cb(sa_u32 j, void *vctx) {
    struct sipalg_ctx *ctx = (struct sipalg_ctx *)vctx;
    struct sipalg_scan_state *st = &ctx->sc->st;
    sa_u32 q;

    /* A word is stored only if it starts inside the segment: its offset is then below
     * SIPALG_MSG_MAX, so the mask in sipalg_st64 never wraps it onto the start of out. */
    SIPALG_UNROLL
    for (q = 0; q < 4; q++) {
        sa_u32 o = j * 32 + q * 8;

        if (o < st->seg)
            sipalg_st64(ctx->out, st->dst + o, sipalg_ld64(ctx->msg, st->src + o));
    }
    return 0;
}

SIPALG_FN sa_u64 sipalg_text64(const struct sipalg_occ *o, sa_u32 q) {
#if defined(SIPALG_BPF)
    return *(const sa_u64 *)(o->text + q);
#else
    sa_u64 v;

    memcpy(&v, o->text + q, sizeof(v));
    return v;
#endif
}

/* Pass 2, iteration i: copy the unchanged bytes before occurrence i (i == n_occ: the tail), then
 * its replacement text. */
SIPALG_CB sipalg_copy_cb(sa_u32 i, void *vctx) {
    struct sipalg_ctx *ctx = (struct sipalg_ctx *)vctx;
    struct sipalg_scan_result *sc = ctx->sc;
    struct sipalg_scan_state *st = &sc->st;
    struct sipalg_occ *o = &sc->occ[SIPALG_SLOT(i, SIPALG_MAX_OCC)];
    sa_u32 seg_end = sc->len, n;

    if (i < sc->n_occ) {
        if (!sipalg_occ_active(o))
            return 0;
        seg_end = o->off;
    }
    n = seg_end - st->src;
    st->seg = n;
    if (seg_end > st->src)
        SIPALG_LOOP((n + 31) / 32, sipalg_chunk_cb, ctx);
    st->dst += n;
    st->src = seg_end;
    if (i >= sc->n_occ)
        return 1;
    sipalg_st64(ctx->out, st->dst, sipalg_text64(o, 0));
    if (o->text_len > 8)
        sipalg_st64(ctx->out, st->dst + 8, sipalg_text64(o, 8));
    if (o->text_len > 16)
        sipalg_st64(ctx->out, st->dst + 16, sipalg_text64(o, 16));
    if (o->text_len > 24)
        sipalg_st64(ctx->out, st->dst + 24, sipalg_text64(o, 24));
    st->dst += o->text_len;
    st->src = (sa_u32)o->off + o->len;
    return 0;
}

/*
 * Write the message with every set occurrence replaced into out (SIPALG_BUF_SIZE bytes, distinct
 * from msg). Returns SIPALG_OK and *out_len, or: the scan's verdict if it was not OK,
 * SIPALG_TOO_BIG if the result would exceed SIPALG_MSG_MAX, SIPALG_MALFORMED if occurrences
 * overlap (only possible if the caller edited off/len). out is not to be used unless OK.
 */
SIPALG_FN int sipalg_apply(const sa_u8 *msg, struct sipalg_scan_result *sc, sa_u8 *out,
                           sa_u32 *out_len) {
    struct sipalg_ctx ctx = {msg, out, sc};
    struct sipalg_scan_state *st = &sc->st;
    sa_s32 new_len;

    *out_len = 0;
    if (sc->verdict != SIPALG_OK)
        return sc->verdict;
    if (sc->len > SIPALG_MSG_MAX || sc->n_occ > SIPALG_MAX_OCC)
        return SIPALG_MALFORMED;
    st->prev_end = 0;
    st->delta = 0;
    st->body_delta = 0;
    st->bad_edit = 0;
    st->end = 0;
    if (sc->n_occ)
        SIPALG_LOOP(sc->n_occ, sipalg_prep_cb, &ctx);
    if (st->bad_edit)
        return SIPALG_MALFORMED;
    if (st->end && st->body_delta != 0 && sc->content_length >= 0) {
        struct sipalg_occ *cl = &sc->occ[SIPALG_SLOT(st->end - 1, SIPALG_MAX_OCC)];

        sipalg_occ_format(cl, (sa_u32)(sc->content_length + st->body_delta));
        cl->flags |= SIPALG_OF_SET;
        st->delta += (sa_s32)cl->text_len - (sa_s32)cl->len;
    }
    new_len = (sa_s32)sc->len + st->delta;
    if (new_len <= 0 || new_len > (sa_s32)SIPALG_MSG_MAX)
        return SIPALG_TOO_BIG;
    st->src = 0;
    st->dst = 0;
    SIPALG_LOOP(sc->n_occ + 1u, sipalg_copy_cb, &ctx);
    if (st->dst != (sa_u32)new_len)
        return SIPALG_MALFORMED;
    *out_len = (sa_u32)new_len;
    return SIPALG_OK;
}

#endif /* SIPALG_SIP_REWRITE_H */
