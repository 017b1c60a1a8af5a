/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * sipalg_scan(): parse one SIP message (UDP payload) into a struct sipalg_scan_result:
 * request/response, method/status, Request-URI, header ids and value spans, Content-Length and
 * body, SDP facts, and the address occurrences in the match set that a rewrite would replace.
 *
 * Structure (each step a bounded loop, SIPALG_LOOP = bpf_loop on BPF):
 *   1. sipalg_index_lines: start offset of every line, 8 bytes per iteration.
 *   2. one iteration per line: the start line; a header line (name -> id; URI-carrying headers
 *      and Via are fed byte by byte to the value machine, sip_value_sm.h; continuation lines
 *      continue the same field); the empty line (end of headers, Content-Length check); SDP lines.
 *   3. SDP port occurrences are settled against their media's connection address.
 * Bad input ends with a verdict; nothing is read outside msg[0 .. SIPALG_BUF_SIZE).
 */
#ifndef SIPALG_SIP_SCAN_H
#define SIPALG_SIP_SCAN_H

#include "sipalg/sdp_scan.h"
#include "sipalg/sip_lines.h"
#include "sipalg/sip_names.h"
#include "sipalg/sip_value_sm.h"

#define SIPALG_PH_START 0
#define SIPALG_PH_HDRS 1
#define SIPALG_PH_BODY 2
#define SIPALG_PH_DONE 3

#define SIPALG_CLS_WS 1
#define SIPALG_CLS_TOKEN 2

SIPALG_FN int sipalg_span_step(struct sipalg_ctx *ctx, sa_u32 pos) {
    struct sipalg_scan_state *st = &ctx->sc->st;
    sa_u32 c = sipalg_at(ctx->msg, pos);
    int in = st->span_cls == SIPALG_CLS_WS ? sipalg_is_ws(c) : sipalg_is_token(c);

    if (in)
        return 0;
    st->span_end = (sa_u16)pos;
    return 1;
}
SIPALG_DEFINE_BYTE_LOOP(sipalg_span_cb, sipalg_span_step)

/* First offset in [from, to) whose byte is not in class cls (to if none). A global function on
 * BPF (SIPALG_GLOBAL_FN): its loop is checked once instead of at each of its many call sites. */
SIPALG_GLOBAL_FN int sipalg_span_fn(const struct sipalg_msg_buf *msg, struct sipalg_scan_result *sc,
                                    sa_u32 from, sa_u32 to, sa_u32 cls) {
    struct sipalg_ctx ctx = {0, 0, sc};

    if (!msg || !sc)
        return (int)(to & 0xffff);
    ctx.msg = msg->b;
    sc->st.span_cls = (sa_u8)cls;
    sc->st.span_end = (sa_u16)to;
    SIPALG_BYTE_LOOP(&ctx, from, to, sipalg_span_cb);
    return sc->st.span_end;
}

SIPALG_FN sa_u32 sipalg_span(struct sipalg_ctx *ctx, sa_u32 from, sa_u32 to, sa_u8 cls) {
    return (sa_u32)sipalg_span_fn((const struct sipalg_msg_buf *)ctx->msg, ctx->sc, from, to, cls) &
           0xffffu;
}

/* Start line facts: spaces and whether the method part is a token. */
SIPALG_FN int sipalg_sl_step(struct sipalg_ctx *ctx, sa_u32 pos) {
    struct sipalg_scan_state *st = &ctx->sc->st;
    sa_u32 c = sipalg_at(ctx->msg, pos);

    if (c == ' ') {
        if (st->nsp == 0)
            st->sp1 = (sa_u16)pos;
        st->sp2 = (sa_u16)pos;
        if (st->nsp < 0xffff)
            st->nsp++;
    } else if (c < 0x21 || c == 0x7f) {
        st->sl_ctl = 1;
    } else if (st->nsp == 0 && !sipalg_is_token(c)) {
        st->sl_bad = 1;
    }
    return 0;
}
SIPALG_DEFINE_BYTE_LOOP(sipalg_sl_cb, sipalg_sl_step)

SIPALG_FN void sipalg_start_line(struct sipalg_ctx *ctx, sa_u32 s, sa_u32 ce) {
    struct sipalg_scan_result *sc = ctx->sc;
    struct sipalg_scan_state *st = &sc->st;
    sa_u32 code = 0, v;
    int ok;

    if (ce >= s + 8 && SIPALG_IEQ(ctx->msg, s, "sip/2.0 ")) {
        sc->is_request = 0;
        if (sipalg_parse_dec(ctx->msg, s + 8, ce, 3, &code, &ok) != 3 || code < 100 || code > 699 ||
            (s + 11 < ce && sipalg_at(ctx->msg, s + 11) != ' ')) {
            sipalg_fail(sc, SIPALG_MALFORMED, SIPALG_R_BAD_STATUS);
            return;
        }
        sc->status = (sa_u16)code;
        return;
    }
    if (ce >= s + 4 && SIPALG_IEQ(ctx->msg, s, "sip/")) {
        sipalg_fail(sc, SIPALG_MALFORMED, SIPALG_R_BAD_VERSION);
        return;
    }
    st->nsp = 0;
    st->sl_bad = 0;
    st->sl_ctl = 0;
    SIPALG_BYTE_LOOP(ctx, s, ce, sipalg_sl_cb);
    if (st->nsp == 0 || st->sl_bad || st->sp1 == s) {
        sipalg_fail(sc, SIPALG_NOT_SIP, SIPALG_R_START_LINE);
        return;
    }
    v = st->sp2 + 1u; /* version: the last word */
    if (!(ce == v + 7 && SIPALG_IEQ(ctx->msg, v, "sip/2.0"))) {
        if (ce >= v + 4 && SIPALG_IEQ(ctx->msg, v, "sip/"))
            sipalg_fail(sc, SIPALG_MALFORMED, SIPALG_R_BAD_VERSION);
        else
            sipalg_fail(sc, SIPALG_NOT_SIP, SIPALG_R_START_LINE);
        return;
    }
    if (st->nsp != 2 || st->sl_ctl) {
        sipalg_fail(sc, SIPALG_MALFORMED, SIPALG_R_BAD_REQ_LINE);
        return;
    }
    sc->is_request = 1;
    sc->method = sipalg_method_classify(ctx->msg, s, st->sp1 - s);
    sc->ruri_off = (sa_u16)(st->sp1 + 1u);
    sc->ruri_len = (sa_u16)(st->sp2 - st->sp1 - 1u);
    sipalg_vsm_begin(sc, SIPALG_H_RURI, SIPALG_VSM_URI, 0);
    sipalg_vsm_feed(ctx, sc->ruri_off, st->sp2);
    sipalg_vsm_end(sc, st->sp2);
}

/* Decimal value after optional LWS, followed only by LWS. *digits = 0 if not so. */
SIPALG_FN sa_u32 sipalg_hdr_number(struct sipalg_ctx *ctx, sa_u32 vs, sa_u32 ce, sa_u32 maxd,
                                   sa_u32 *off, sa_u32 *digits) {
    sa_u32 p = sipalg_span(ctx, vs, ce, SIPALG_CLS_WS), val = 0, n;
    int ok;

    n = sipalg_parse_dec(ctx->msg, p, ce, maxd, &val, &ok);
    *off = p;
    *digits = 0;
    if (n && ok && sipalg_span(ctx, p + n, ce, SIPALG_CLS_WS) == ce)
        *digits = n;
    return val;
}

SIPALG_FN void sipalg_hdr_clen(struct sipalg_ctx *ctx, sa_u32 vs, sa_u32 ce) {
    struct sipalg_scan_result *sc = ctx->sc;
    sa_u32 off, n, val = sipalg_hdr_number(ctx, vs, ce, 5, &off, &n);

    if (!n || sc->content_length >= 0) { /* not a number, or a second Content-Length */
        sipalg_fail(sc, SIPALG_MALFORMED, SIPALG_R_BAD_CLEN);
        return;
    }
    sc->content_length = (sa_s32)val;
    sipalg_occ_add(sc, SIPALG_OCC_CONTENT_LENGTH, off, n, 0, 0, SIPALG_H_CONTENT_LENGTH, 0, 0);
}

/* Call-ID "word@host": phones (and SIPp) put their own address in the host part, where it
 * leaks the LAN. Only a plain token before '@' and an IPv4 literal in the match set after it,
 * up to the end of the value, is an occurrence; any other Call-ID stays an opaque token. The
 * value and the literal (in the match set or not) are reported for the dialog table, which has
 * to see the same call in the phone's form and in the rewritten one (dialog_msg.h). */
SIPALG_FN void sipalg_hdr_callid(struct sipalg_ctx *ctx, sa_u32 vs, sa_u32 ce) {
    struct sipalg_scan_result *sc = ctx->sc;
    sa_u32 p = sipalg_span(ctx, vs, ce, SIPALG_CLS_WS), at, ip = 0, n;

    if (sc->callid_len || ce <= p)
        return; /* the first Call-ID counts */
    sc->callid_off = (sa_u16)p;
    sc->callid_len = (sa_u16)(ce - p);
    at = sipalg_span(ctx, p, ce, SIPALG_CLS_TOKEN);
    if (at == p || at + 1 >= ce || sipalg_at(ctx->msg, at) != '@')
        return;
    n = sipalg_parse_ipv4(ctx->msg, at + 1, ce, &ip);
    if (!n || sipalg_span(ctx, at + 1 + n, ce, SIPALG_CLS_WS) != ce)
        return;
    sc->callid_ip = ip;
    sc->callid_word = (sa_u16)(at + 1 - p);
    if (sipalg_match_ip(&sc->match, ip))
        sipalg_occ_add(sc, SIPALG_OCC_CALLID_HOST, at + 1, n, ip, 0, SIPALG_H_CALL_ID, 0, 0);
}

SIPALG_FN void sipalg_hdr_ctype(struct sipalg_ctx *ctx, sa_u32 vs, sa_u32 ce) {
    struct sipalg_scan_state *st = &ctx->sc->st;
    sa_u32 p = sipalg_span(ctx, vs, ce, SIPALG_CLS_WS), c;

    st->ct_seen = 1;
    if (ce < p + 15 || !SIPALG_IEQ(ctx->msg, p, "application/sdp"))
        return;
    c = p + 15 < ce ? sipalg_at(ctx->msg, p + 15) : ';';
    if (c == ';' || sipalg_is_ws(c))
        st->ct_sdp = 1;
}

SIPALG_FN void sipalg_hdr_cseq(struct sipalg_ctx *ctx, sa_u32 vs, sa_u32 ce) {
    struct sipalg_scan_result *sc = ctx->sc;
    sa_u32 p = sipalg_span(ctx, vs, ce, SIPALG_CLS_WS), val = 0, n, q, e;
    int ok;

    n = sipalg_parse_dec(ctx->msg, p, ce, 10, &val, &ok);
    if (!n || !ok)
        return;
    sc->cseq = val;
    q = sipalg_span(ctx, p + n, ce, SIPALG_CLS_WS);
    e = sipalg_span(ctx, q, ce, SIPALG_CLS_TOKEN);
    if (e > q)
        sc->cseq_method = sipalg_method_classify(ctx->msg, q, e - q);
}

/* Session-Expires: delta-seconds *(;param) (RFC 4028); the first one counts. */
SIPALG_FN void sipalg_hdr_session_expires(struct sipalg_ctx *ctx, sa_u32 vs, sa_u32 ce) {
    struct sipalg_scan_result *sc = ctx->sc;
    sa_u32 p = sipalg_span(ctx, vs, ce, SIPALG_CLS_WS), val = 0, n, q;
    int ok;

    if (sc->session_expires >= 0)
        return;
    n = sipalg_parse_dec(ctx->msg, p, ce, 9, &val, &ok);
    if (!n || !ok)
        return;
    q = sipalg_span(ctx, p + n, ce, SIPALG_CLS_WS);
    if (q == ce || sipalg_at(ctx->msg, q) == ';')
        sc->session_expires = (sa_s32)val;
}

/* The empty line: headers end, the body starts at `body`. */
SIPALG_FN void sipalg_hdrs_end(struct sipalg_ctx *ctx, sa_u32 body) {
    struct sipalg_scan_result *sc = ctx->sc;
    struct sipalg_scan_state *st = &sc->st;
    sa_u32 avail = sc->len - body, blen = avail;

    sipalg_vsm_end(sc, st->prev_ce);
    sc->body_off = (sa_u16)body;
    if (sc->content_length >= 0) {
        if ((sa_u32)sc->content_length > avail) {
            sipalg_fail(sc, SIPALG_MALFORMED, SIPALG_R_CLEN_BEYOND);
            return;
        }
        blen = (sa_u32)sc->content_length;
    }
    sc->body_len = (sa_u16)blen;
    st->body_end = (sa_u16)(body + blen);
    st->phase = SIPALG_PH_DONE;
    if (blen && (st->ct_sdp || (!st->ct_seen && blen >= 3 && SIPALG_IEQ(ctx->msg, body, "v=0")))) {
        st->phase = SIPALG_PH_BODY;
        sc->sdp.flags |= SIPALG_SF_PRESENT;
    }
}

SIPALG_FN void sipalg_hdr_line(struct sipalg_ctx *ctx, sa_u32 s, sa_u32 ce) {
    struct sipalg_scan_result *sc = ctx->sc;
    struct sipalg_scan_state *st = &sc->st;
    struct sipalg_hdr *h;
    sa_u32 ne, colon, n = sc->n_hdrs, vs;
    sa_u8 id;

    if (sipalg_is_ws(sipalg_at(ctx->msg, s))) { /* continuation of the previous field */
        if (n == 0) {
            sipalg_fail(sc, SIPALG_MALFORMED, SIPALG_R_BAD_HDR);
            return;
        }
        sc->hdrs[(n - 1) & (SIPALG_MAX_HDRS - 1)].value_end = (sa_u16)ce;
        st->prev_ce = (sa_u16)ce;
        sipalg_vsm_feed(ctx, s, ce);
        return;
    }
    sipalg_vsm_end(sc, st->prev_ce);
    st->prev_ce = (sa_u16)ce;
    ne = sipalg_span(ctx, s, ce, SIPALG_CLS_TOKEN);
    colon = sipalg_span(ctx, ne, ce, SIPALG_CLS_WS);
    if (ne == s || colon >= ce || sipalg_at(ctx->msg, colon) != ':') {
        sipalg_fail(sc, SIPALG_MALFORMED, SIPALG_R_BAD_HDR);
        return;
    }
    if (n >= SIPALG_MAX_HDRS) {
        sipalg_fail(sc, SIPALG_TOO_COMPLEX, SIPALG_R_HDRS);
        return;
    }
    id = sipalg_hdr_classify(ctx->msg, s, ne - s);
    vs = colon + 1;
    h = &sc->hdrs[n & (SIPALG_MAX_HDRS - 1)];
    h->name_off = (sa_u16)s;
    h->value_off = (sa_u16)vs;
    h->value_end = (sa_u16)ce;
    h->id = id;
    h->compact = ne - s == 1;
    sc->n_hdrs = (sa_u16)(n + 1);

    if (id == SIPALG_H_VIA) {
        st->n_via++;
        sipalg_vsm_begin(sc, id, SIPALG_VSM_VIA, st->n_via == 1);
        sipalg_vsm_feed(ctx, vs, ce);
    } else if (sipalg_hdr_has_uri(id)) {
        sipalg_vsm_begin(sc, id, SIPALG_VSM_URI, 0);
        sipalg_vsm_feed(ctx, vs, ce);
    } else if (id == SIPALG_H_CONTENT_LENGTH) {
        sipalg_hdr_clen(ctx, vs, ce);
    } else if (id == SIPALG_H_CONTENT_TYPE) {
        sipalg_hdr_ctype(ctx, vs, ce);
    } else if (id == SIPALG_H_CSEQ) {
        sipalg_hdr_cseq(ctx, vs, ce);
    } else if (id == SIPALG_H_CALL_ID) {
        sipalg_hdr_callid(ctx, vs, ce);
    } else if (id == SIPALG_H_SESSION_EXPIRES) {
        sipalg_hdr_session_expires(ctx, vs, ce);
    } else if (id == SIPALG_H_EXPIRES) {
        sa_u32 off, nd, val = sipalg_hdr_number(ctx, vs, ce, 9, &off, &nd);

        if (nd)
            sc->expires = (sa_s32)val;
    }
}

SIPALG_FN int sipalg_line_body(struct sipalg_ctx *ctx, sa_u32 k) {
    struct sipalg_scan_result *sc = ctx->sc;
    struct sipalg_scan_state *st = &sc->st;
    sa_u32 s = st->lines[k & (SIPALG_MAX_LINES - 1)], e = sipalg_line_end(sc, k), ce = e;

    /* content end: strip "\n" or "\r\n"; a last line without '\n' keeps everything */
    if (ce > s && sipalg_at(ctx->msg, ce - 1) == '\n') {
        ce--;
        if (ce > s && sipalg_at(ctx->msg, ce - 1) == '\r')
            ce--;
    }
    if (st->phase == SIPALG_PH_START) {
        sipalg_start_line(ctx, s, ce);
        st->phase = SIPALG_PH_HDRS;
    } else if (st->phase == SIPALG_PH_HDRS) {
        if (ce == s)
            sipalg_hdrs_end(ctx, e);
        else
            sipalg_hdr_line(ctx, s, ce);
    } else if (st->phase == SIPALG_PH_BODY) {
        if (s >= st->body_end) {
            st->phase = SIPALG_PH_DONE;
        } else {
            if (ce > st->body_end)
                ce = st->body_end;
            sipalg_sdp_line(ctx, s, ce);
        }
    }
    return sc->verdict != SIPALG_OK || st->phase == SIPALG_PH_DONE;
}

/* One line, checked by the verifier once (SIPALG_GLOBAL_FN): the start line, a header with its
 * value state machine, or an SDP line. */
SIPALG_GLOBAL_FN int sipalg_line_step(const struct sipalg_msg_buf *msg,
                                      struct sipalg_scan_result *sc, sa_u32 k) {
    struct sipalg_ctx ctx = {0, 0, sc};

    if (!msg || !sc)
        return 1;
    ctx.msg = msg->b;
    return sipalg_line_body(&ctx, k);
}

SIPALG_CB sipalg_line_cb(sa_u32 k, void *vctx) {
    const struct sipalg_ctx *ctx = (const struct sipalg_ctx *)vctx;

    /* & 1: a global function's result is any int to the verifier; a callback must return 0/1 */
    return sipalg_line_step((const struct sipalg_msg_buf *)ctx->msg, ctx->sc, k) & 1;
}

/*
 * Scan msg[0 .. len). msg must point to SIPALG_BUF_SIZE readable bytes (bytes past len are read
 * by word loads but never affect the result). match: the addresses to report (outbound: LAN
 * prefixes; inbound: the public address /32). opts: SIPALG_SCAN_*. Returns sc->verdict.
 */
SIPALG_FN int sipalg_scan(const sa_u8 *msg, sa_u32 len, const struct sipalg_match *match,
                          sa_u32 opts, struct sipalg_scan_result *sc) {
    struct sipalg_ctx ctx = {msg, 0, sc};
    struct sipalg_scan_state *st = &sc->st;
    sa_u32 k;

    sc->verdict = SIPALG_OK;
    sc->reason = SIPALG_R_NONE;
    sc->len = len;
    sc->opts = opts;
    sc->is_request = 0;
    sc->method = SIPALG_M_NONE;
    sc->status = 0;
    sc->cseq_method = SIPALG_M_NONE;
    sc->contact_star = 0;
    sc->contact_unspec = 0;
    sc->ruri_off = 0;
    sc->ruri_len = 0;
    sc->body_off = (sa_u16)len;
    sc->body_len = 0;
    sc->content_length = -1;
    sc->expires = -1;
    sc->contact_expires = -1;
    sc->cseq = 0;
    sc->callid_ip = 0;
    sc->callid_off = 0;
    sc->callid_len = 0;
    sc->callid_word = 0;
    sc->session_expires = -1;
    sc->n_hdrs = 0;
    sc->n_occ = 0;
    __builtin_memset(&sc->sdp, 0, sizeof(sc->sdp));
    st->phase = SIPALG_PH_START;
    st->n_via = 0;
    st->prev_ce = 0;
    st->body_end = 0;
    st->ct_sdp = 0;
    st->ct_seen = 0;
    st->v.mode = SIPALG_VSM_NONE;
    st->v.cand = 0;
    sc->match.n = match->n;
    SIPALG_UNROLL
    for (k = 0; k < SIPALG_MAX_PREFIXES; k++)
        sc->match.p[k] = match->p[k];

    if (len == 0) {
        sipalg_fail(sc, SIPALG_NOT_SIP, SIPALG_R_EMPTY);
        return sc->verdict;
    }
    if (len > SIPALG_MSG_MAX) {
        sipalg_fail(sc, SIPALG_TOO_BIG, SIPALG_R_MSG_LEN);
        return sc->verdict;
    }
    sipalg_index_lines(&ctx);
    SIPALG_LOOP(st->nl, sipalg_line_cb, &ctx);
    if (sc->verdict != SIPALG_OK)
        return sc->verdict;
    if (st->phase == SIPALG_PH_START || st->phase == SIPALG_PH_HDRS) {
        if (st->lines_full)
            sipalg_fail(sc, SIPALG_TOO_COMPLEX, SIPALG_R_LINES);
        else
            sipalg_fail(sc, SIPALG_MALFORMED, SIPALG_R_NO_HDR_END);
        return sc->verdict;
    }
    if (st->phase == SIPALG_PH_BODY && st->lines_full && st->overflow_start < st->body_end) {
        sipalg_fail(sc, SIPALG_TOO_COMPLEX, SIPALG_R_LINES);
        return sc->verdict;
    }
    sipalg_sdp_settle(&ctx);
    return sc->verdict;
}

/* First header with this id, or -1. Host-side convenience (loops over n_hdrs). */
SIPALG_FN int sipalg_hdr_find(const struct sipalg_scan_result *sc, sa_u8 id) {
    sa_u32 i;

    for (i = 0; i < sc->n_hdrs && i < SIPALG_MAX_HDRS; i++)
        if (sc->hdrs[i].id == id)
            return (int)i;
    return -1;
}

#endif /* SIPALG_SIP_SCAN_H */
