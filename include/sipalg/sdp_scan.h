/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * SDP lines of a message body: records the session/media connection addresses and ports (the
 * caller scopes pinholes with them, inbound and outbound) and, unless SIPALG_SCAN_NO_SDP_EDITS,
 * the occurrences to rewrite: o= and c= addresses in the match set, every m= port and a=rtcp:
 * port/address, and the IPv4 connection address/port and raddr/rport of every a=candidate
 * whose address is in the match set (ICE host and server-reflexive candidates name the phone's
 * LAN sockets: left alone, they leak the LAN addresses).
 *
 * A media line's connection address may come after its m= line (media-level c=), so m= and
 * a=rtcp ports are recorded provisionally and settled by sipalg_sdp_settle() once the whole
 * body is seen: a port is rewritten only if the address its media is sent to is in the match set
 * (a phone that already put a public address, e.g. from STUN, keeps its ports).
 */
#ifndef SIPALG_SDP_SCAN_H
#define SIPALG_SDP_SCAN_H

#include "sipalg/byte_loop.h"
#include "sipalg/occ.h"
#include "sipalg/text.h"

/* Split msg[from .. to) at SP/HT into at most SIPALG_MAX_TOKENS tokens (st.tok_off/tok_end). */
SIPALG_FN int sipalg_tok_step(struct sipalg_ctx *ctx, sa_u32 pos) {
    struct sipalg_scan_state *st = &ctx->sc->st;
    sa_u32 c = sipalg_at(ctx->msg, pos);
    sa_u32 n = st->ntok;

    if (sipalg_is_ws(c)) {
        if (st->tok_in && n > 0)
            st->tok_end[(n - 1) & (SIPALG_MAX_TOKENS - 1)] = (sa_u16)pos;
        st->tok_in = 0;
        return 0;
    }
    if (!st->tok_in) {
        if (n >= SIPALG_MAX_TOKENS)
            return 1;
        st->tok_off[n & (SIPALG_MAX_TOKENS - 1)] = (sa_u16)pos;
        st->tok_end[n & (SIPALG_MAX_TOKENS - 1)] = st->span_end; /* line end unless cut */
        st->ntok = (sa_u8)(n + 1);
        st->tok_in = 1;
    }
    return 0;
}
SIPALG_DEFINE_BYTE_LOOP(sipalg_tok_cb, sipalg_tok_step)

/* A global function on BPF (SIPALG_GLOBAL_FN): its loop is checked once, not per call site. */
SIPALG_GLOBAL_FN int sipalg_tokenize_fn(const struct sipalg_msg_buf *msg,
                                        struct sipalg_scan_result *sc, sa_u32 from, sa_u32 to) {
    struct sipalg_ctx ctx = {0, 0, sc};

    if (!msg || !sc)
        return 0;
    ctx.msg = msg->b;
    sc->st.ntok = 0;
    sc->st.tok_in = 0;
    sc->st.span_end = (sa_u16)to;
    SIPALG_BYTE_LOOP(&ctx, from, to, sipalg_tok_cb);
    return sc->st.ntok;
}

SIPALG_FN sa_u32 sipalg_tokenize(struct sipalg_ctx *ctx, sa_u32 from, sa_u32 to) {
    return (sa_u32)sipalg_tokenize_fn((const struct sipalg_msg_buf *)ctx->msg, ctx->sc, from, to) &
           0xffu;
}

SIPALG_FN sa_u32 sipalg_tok_off(const struct sipalg_scan_result *sc, sa_u32 k) {
    return sc->st.tok_off[k & (SIPALG_MAX_TOKENS - 1)];
}

SIPALG_FN sa_u32 sipalg_tok_end(const struct sipalg_scan_result *sc, sa_u32 k) {
    return sc->st.tok_end[k & (SIPALG_MAX_TOKENS - 1)];
}

/* Token k equals the lowercase literal (case-insensitively). */
#define SIPALG_TOK_IS(ctx, k, lit)                                                                 \
    (sipalg_tok_end((ctx)->sc, k) - sipalg_tok_off((ctx)->sc, k) == sizeof(lit) - 1 &&             \
     SIPALG_IEQ((ctx)->msg, sipalg_tok_off((ctx)->sc, k), lit))

/* "IN IP4 <addr>" in tokens k, k+1, k+2: 1 (and ip, off, len) if IPv4, 2 if IP6, 0 otherwise.
 * trailing "/ttl" (multicast c=) is allowed after the address. */
SIPALG_FN int sipalg_sdp_addr(struct sipalg_ctx *ctx, sa_u32 k, sa_u32 *ip, sa_u32 *off,
                              sa_u32 *len) {
    sa_u32 a, e, n;

    if (ctx->sc->st.ntok < k + 3 || !SIPALG_TOK_IS(ctx, k, "in"))
        return 0;
    if (SIPALG_TOK_IS(ctx, k + 1, "ip6"))
        return 2;
    if (!SIPALG_TOK_IS(ctx, k + 1, "ip4"))
        return 0;
    a = sipalg_tok_off(ctx->sc, k + 2);
    e = sipalg_tok_end(ctx->sc, k + 2);
    n = sipalg_parse_ipv4(ctx->msg, a, e, ip);
    if (!n || (a + n < e && sipalg_at(ctx->msg, a + n) != '/'))
        return 0;
    *off = a;
    *len = n;
    return 1;
}

/* Port at the start of token k ("49170" or "49170/2"); returns digits, 0 if none/invalid. */
SIPALG_FN sa_u32 sipalg_sdp_port(struct sipalg_ctx *ctx, sa_u32 k, sa_u32 *port) {
    sa_u32 a = sipalg_tok_off(ctx->sc, k), e = sipalg_tok_end(ctx->sc, k), n;
    int ok;

    n = sipalg_parse_dec(ctx->msg, a, e, 5, port, &ok);
    if (!n || !ok || *port > 65535 || (a + n < e && sipalg_at(ctx->msg, a + n) != '/'))
        return 0;
    return n;
}

SIPALG_FN struct sipalg_sdp_media *sipalg_sdp_cur(struct sipalg_scan_result *sc) {
    return &sc->sdp.m[(sc->sdp.n_media - 1u) & (SIPALG_MAX_MEDIA - 1)];
}

SIPALG_FN void sipalg_sdp_m(struct sipalg_ctx *ctx, sa_u32 s, sa_u32 ce, int edits) {
    struct sipalg_scan_result *sc = ctx->sc;
    struct sipalg_sdp_media *m;
    sa_u32 port = 0, n, a, e, np = 1;
    int ok;

    if (sc->sdp.n_media >= SIPALG_MAX_MEDIA) {
        sipalg_fail(sc, SIPALG_TOO_COMPLEX, SIPALG_R_MEDIA);
        return;
    }
    sc->sdp.n_media++;
    m = sipalg_sdp_cur(sc);
    __builtin_memset(m, 0, sizeof(*m));
    if (sipalg_tokenize(ctx, s + 2, ce) < 3)
        return;
    n = sipalg_sdp_port(ctx, 1, &port);
    if (!n)
        return;
    a = sipalg_tok_off(sc, 1);
    e = sipalg_tok_end(sc, 1);
    if (a + n < e && sipalg_parse_dec(ctx->msg, a + n + 1, e, 5, &np, &ok) == 0)
        np = 1;
    m->port = (sa_u16)port;
    m->nports = (sa_u16)(np ? np : 1);
    a = sipalg_tok_off(sc, 2);
    if (SIPALG_IEQ(ctx->msg, a, "rtp/") || SIPALG_IEQ(ctx->msg, a, "udp/tls/rtp/"))
        m->flags |= SIPALG_MF_RTP;
    if (edits && port)
        sipalg_occ_add(sc, SIPALG_OCC_SDP_MEDIA_PORT, sipalg_tok_off(sc, 1), n, 0, port,
                       SIPALG_H_OTHER, (sa_u8)(sc->sdp.n_media - 1), SIPALG_OF_BODY);
}

SIPALG_FN void sipalg_sdp_c(struct sipalg_ctx *ctx, sa_u32 s, sa_u32 ce, int edits) {
    struct sipalg_scan_result *sc = ctx->sc;
    sa_u32 ip = 0, off = 0, len = 0;
    sa_u8 media = SIPALG_SESSION;
    int r;

    sipalg_tokenize(ctx, s + 2, ce);
    r = sipalg_sdp_addr(ctx, 0, &ip, &off, &len);
    if (sc->sdp.n_media == 0) {
        if (r == 1) {
            sc->sdp.sess_ip = ip;
            sc->sdp.flags |= SIPALG_SF_CONN;
        } else if (r == 2) {
            sc->sdp.flags |= SIPALG_SF_CONN_V6;
        }
    } else {
        struct sipalg_sdp_media *m = sipalg_sdp_cur(sc);

        media = (sa_u8)(sc->sdp.n_media - 1);
        if (r == 1) {
            m->conn_ip = ip;
            m->flags |= SIPALG_MF_CONN;
        } else if (r == 2) {
            m->flags |= SIPALG_MF_CONN_V6;
        }
    }
    if (r == 1 && edits && sipalg_match_ip(&sc->match, ip))
        sipalg_occ_add(sc, SIPALG_OCC_SDP_CONN, off, len, ip, 0, SIPALG_H_OTHER, media,
                       SIPALG_OF_BODY);
}

SIPALG_FN void sipalg_sdp_o(struct sipalg_ctx *ctx, sa_u32 s, sa_u32 ce, int edits) {
    struct sipalg_scan_result *sc = ctx->sc;
    sa_u32 ip = 0, off = 0, len = 0;

    if (sipalg_tokenize(ctx, s + 2, ce) < 6 || sipalg_sdp_addr(ctx, 3, &ip, &off, &len) != 1 ||
        off + len != sipalg_tok_end(sc, 5))
        return;
    sc->sdp.origin_ip = ip;
    sc->sdp.flags |= SIPALG_SF_ORIGIN;
    if (edits && sipalg_match_ip(&sc->match, ip))
        sipalg_occ_add(sc, SIPALG_OCC_SDP_ORIGIN, off, len, ip, 0, SIPALG_H_OTHER, SIPALG_SESSION,
                       SIPALG_OF_BODY);
}

/* a=rtcp:<port> [IN IP4 <addr>] (RFC 3605), media level only. */
SIPALG_FN void sipalg_sdp_rtcp(struct sipalg_ctx *ctx, sa_u32 s, sa_u32 ce, int edits) {
    struct sipalg_scan_result *sc = ctx->sc;
    struct sipalg_sdp_media *m;
    sa_u32 port = 0, n, ip = 0, off = 0, len = 0;
    sa_u8 media;

    if (sc->sdp.n_media == 0 || sipalg_tokenize(ctx, s + 7, ce) < 1)
        return;
    n = sipalg_sdp_port(ctx, 0, &port);
    if (!n)
        return;
    m = sipalg_sdp_cur(sc);
    media = (sa_u8)(sc->sdp.n_media - 1);
    m->rtcp_port = (sa_u16)port;
    m->flags |= SIPALG_MF_RTCP;
    if (edits)
        sipalg_occ_add(sc, SIPALG_OCC_SDP_RTCP_PORT, sipalg_tok_off(sc, 0), n, 0, port,
                       SIPALG_H_OTHER, media, SIPALG_OF_BODY);
    if (sipalg_sdp_addr(ctx, 1, &ip, &off, &len) != 1)
        return;
    m->rtcp_ip = ip;
    m->flags |= SIPALG_MF_RTCP_IP;
    if (edits && sipalg_match_ip(&sc->match, ip))
        sipalg_occ_add(sc, SIPALG_OCC_SDP_RTCP_ADDR, off, len, ip, 0, SIPALG_H_OTHER, media,
                       SIPALG_OF_BODY);
}

/* Token k as an IPv4 address in the match set, and token kp as its port: both occurrences. */
SIPALG_FN void sipalg_sdp_cand_pair(struct sipalg_ctx *ctx, sa_u32 k, sa_u32 kp, sa_u8 media) {
    struct sipalg_scan_result *sc = ctx->sc;
    sa_u32 a = sipalg_tok_off(sc, k), e = sipalg_tok_end(sc, k), ip = 0, port = 0, n;

    n = sipalg_parse_ipv4(ctx->msg, a, e, &ip);
    if (!n || a + n != e || !sipalg_match_ip(&sc->match, ip))
        return;
    sipalg_occ_add(sc, SIPALG_OCC_SDP_CAND_ADDR, a, n, ip, 0, SIPALG_H_OTHER, media,
                   SIPALG_OF_BODY);
    n = sipalg_sdp_port(ctx, kp, &port);
    if (n && sipalg_tok_off(sc, kp) + n == sipalg_tok_end(sc, kp))
        sipalg_occ_add(sc, SIPALG_OCC_SDP_CAND_PORT, sipalg_tok_off(sc, kp), n, ip, port,
                       SIPALG_H_OTHER, media, SIPALG_OF_BODY);
}

/* a=candidate:<foundation> <component> <transport> <priority> <addr> <port> typ <type>
 * [raddr <addr> rport <port>] ... (RFC 8839), media level. */
SIPALG_FN void sipalg_sdp_candidate(struct sipalg_ctx *ctx, sa_u32 s, sa_u32 ce, int edits) {
    struct sipalg_scan_result *sc = ctx->sc;
    sa_u32 n;
    sa_u8 media;

    sc->sdp.flags |= SIPALG_SF_ICE;
    if (!edits || sc->sdp.n_media == 0)
        return;
    n = sipalg_tokenize(ctx, s + 12, ce);
    if (n < 6)
        return;
    media = (sa_u8)(sc->sdp.n_media - 1);
    sipalg_sdp_cand_pair(ctx, 4, 5, media);
    if (n >= 12 && SIPALG_TOK_IS(ctx, 8, "raddr") && SIPALG_TOK_IS(ctx, 10, "rport"))
        sipalg_sdp_cand_pair(ctx, 9, 11, media);
}

/* One SDP line msg[s .. ce) (CR/LF excluded). Unknown or odd lines are skipped, not errors. */
SIPALG_FN void sipalg_sdp_line(struct sipalg_ctx *ctx, sa_u32 s, sa_u32 ce) {
    struct sipalg_scan_result *sc = ctx->sc;
    int edits = !(sc->opts & SIPALG_SCAN_NO_SDP_EDITS);
    sa_u32 t;

    if (ce < s + 2 || sipalg_at(ctx->msg, s + 1) != '=')
        return;
    t = sipalg_at(ctx->msg, s);
    if (t == 'm')
        sipalg_sdp_m(ctx, s, ce, edits);
    else if (t == 'c')
        sipalg_sdp_c(ctx, s, ce, edits);
    else if (t == 'o')
        sipalg_sdp_o(ctx, s, ce, edits);
    else if (t == 'a' && ce >= s + 7 && SIPALG_IEQ(ctx->msg, s + 2, "rtcp:"))
        sipalg_sdp_rtcp(ctx, s, ce, edits);
    else if (t == 'a' && ce >= s + 12 && SIPALG_IEQ(ctx->msg, s + 2, "candidate:"))
        sipalg_sdp_candidate(ctx, s, ce, edits);
}

/* The IPv4 address media i is sent to (0: none / IPv6). rtcp: for its RTCP. */
SIPALG_FN sa_u32 sipalg_sdp_media_ip(const struct sipalg_scan_result *sc, sa_u32 i, int rtcp) {
    const struct sipalg_sdp_media *m = &sc->sdp.m[i & (SIPALG_MAX_MEDIA - 1)];

    if (rtcp && (m->flags & SIPALG_MF_RTCP_IP))
        return m->rtcp_ip;
    if (m->flags & SIPALG_MF_CONN)
        return m->conn_ip;
    if (m->flags & SIPALG_MF_CONN_V6)
        return 0;
    if (sc->sdp.flags & SIPALG_SF_CONN)
        return sc->sdp.sess_ip;
    return 0;
}

SIPALG_CB sipalg_settle_cb(sa_u32 i, void *vctx) {
    struct sipalg_ctx *ctx = (struct sipalg_ctx *)vctx;
    struct sipalg_scan_result *sc = ctx->sc;
    struct sipalg_occ *o = &sc->occ[SIPALG_SLOT(i, SIPALG_MAX_OCC)];
    sa_u32 ip;

    if (o->kind != SIPALG_OCC_SDP_MEDIA_PORT && o->kind != SIPALG_OCC_SDP_RTCP_PORT)
        return 0;
    ip = sipalg_sdp_media_ip(sc, o->media, o->kind == SIPALG_OCC_SDP_RTCP_PORT);
    if (ip && sipalg_match_ip(&sc->match, ip)) {
        o->ip = ip;
        o->new_ip = ip;
    } else {
        o->kind = SIPALG_OCC_NONE;
    }
    return 0;
}

/* Keep provisional port occurrences only where the media address is in the match set. */
SIPALG_FN void sipalg_sdp_settle(struct sipalg_ctx *ctx) {
    if (ctx->sc->n_occ)
        SIPALG_LOOP(ctx->sc->n_occ, sipalg_settle_cb, ctx);
}

#endif /* SIPALG_SDP_SCAN_H */
