/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Byte-at-a-time state machine over the value of a header that carries SIP URIs (Request-URI,
 * Contact, From, To, Route, ...) or Via sent-by's. It finds IPv4 literals in host position and
 * records the ones in the match set as occurrences.
 *
 * Why a state machine and not "search for the URI": the value can be folded over several lines,
 * hold several comma-separated values, quoted display names, user parts that look like hosts and
 * parameters; the machine is fed the bytes of every physical line of the field in order (CR/LF
 * excluded; a continuation line's leading whitespace is the LWS), so all of that falls out of a
 * few states, and its per-byte step is small (8 steps per BPF loop callback, byte_loop.h).
 * Bytes that cannot change the state (most of a value) are skipped after one class test.
 *
 * Host positions: right after "sip:"/"sips:" or '@' (URI mode), after the sent-protocol of a
 * Via value (Via mode), and parameter values received=/maddr= (and Via rport=). A candidate is
 * an IPv4 literal with optional ":port" ending in a host terminator; one ending in '@' was a user
 * part and is dropped; '[' (IPv6) or a letter (domain name) abandons it.
 */
#ifndef SIPALG_SIP_VALUE_SM_H
#define SIPALG_SIP_VALUE_SM_H

#include "sipalg/byte_loop.h"
#include "sipalg/occ.h"
#include "sipalg/text.h"

#define SIPALG_VSM_NONE 0
#define SIPALG_VSM_URI 1
#define SIPALG_VSM_VIA 2

#define SIPALG_CAND_HOSTPORT 1 /* host[:port] */
#define SIPALG_CAND_ADDR 2     /* received= / maddr= */
#define SIPALG_CAND_RPORT 3    /* Via rport= */
#define SIPALG_CAND_EXPIRES 4  /* Contact expires= */

#define SIPALG_VIA_PROTO 0 /* in "SIP / 2.0 / UDP" */
#define SIPALG_VIA_WAIT 1  /* LWS before sent-by */
#define SIPALG_VIA_HOST 2  /* in sent-by */
#define SIPALG_VIA_PARAMS 3

#define SIPALG_END 0x100u /* virtual byte: end of the header value */

SIPALG_FN int sipalg_host_term(sa_u32 c) {
    return c == ';' || c == '>' || c == '?' || c == ',' || c == ' ' || c == '\t' || c == '\r' ||
           c == '\n' || c == SIPALG_END;
}

SIPALG_FN void sipalg_vsm_begin(struct sipalg_scan_result *sc, sa_u8 hdr, sa_u8 mode,
                                sa_u8 first_via) {
    struct sipalg_vsm *v = &sc->st.v;

    __builtin_memset(v, 0, sizeof(*v));
    v->hdr = hdr;
    v->mode = mode;
    v->via_first = first_via;
}

SIPALG_FN void sipalg_cand_start(struct sipalg_vsm *v, sa_u8 kind, sa_u32 off) {
    v->cand = kind;
    v->cphase = 0;
    v->noct = 0;
    v->ndig = 0;
    v->acc = 0;
    v->num = 0;
    v->cand_off = (sa_u16)off;
}

/* Candidate ended at pos with byte c (or SIPALG_END): record it if it is complete and wanted.
 * Checked by the verifier once (SIPALG_GLOBAL_FN): it runs inside every step of the byte loops. */
SIPALG_GLOBAL_FN int sipalg_cand_finish(struct sipalg_scan_result *sc, sa_u32 pos, sa_u32 c) {
    struct sipalg_vsm *v;
    sa_u8 kind, flags = 0;
    sa_u32 ip, port = 0, len;
    int hit;

    if (!sc)
        return 0;
    v = &sc->st.v;
    kind = v->cand;
    len = pos - v->cand_off;
    v->cand = 0;
    if (!sipalg_host_term(c) || v->ndig == 0)
        return 0;
    if (v->via_first)
        flags |= SIPALG_OF_TOP_VIA;
    if (kind == SIPALG_CAND_RPORT) {
        if (v->via_match && v->num <= 65535)
            sipalg_occ_add(sc, SIPALG_OCC_SIP_RPORT, v->cand_off, len, v->via_ip, v->num, v->hdr, 0,
                           flags);
        return 0;
    }
    if (kind == SIPALG_CAND_EXPIRES) {
        if (sc->contact_expires < 0 && v->num <= 0x7fffffff)
            sc->contact_expires = (sa_s32)v->num;
        return 0;
    }
    if (v->cphase == 0) {
        if (v->noct != 3)
            return 0;
        ip = (v->acc << 8) | v->num;
    } else {
        if (v->num > 65535)
            return 0;
        ip = v->ip;
        port = v->num;
        flags |= SIPALG_OF_PORT;
    }
    hit = sipalg_match_ip(&sc->match, ip);
    if (!ip && v->hdr == SIPALG_H_CONTACT && kind == SIPALG_CAND_HOSTPORT)
        sc->contact_unspec = 1;
    if (v->mode == SIPALG_VSM_VIA && kind == SIPALG_CAND_HOSTPORT) {
        v->via_match = (sa_u8)hit;
        v->via_ip = ip;
        v->via_port = (sa_u16)port;
    }
    if (hit)
        sipalg_occ_add(sc, kind == SIPALG_CAND_HOSTPORT ? SIPALG_OCC_SIP_HOST : SIPALG_OCC_SIP_ADDR,
                       v->cand_off, len, ip, port, v->hdr, 0, flags);
    return 0;
}

/* Feed byte c at pos to the active candidate. Returns 1 if consumed, 0 if c ended the candidate
 * (or abandoned it) and must be looked at by the rest of the machine. */
SIPALG_FN int sipalg_cand_feed(struct sipalg_scan_result *sc, sa_u32 pos, sa_u32 c) {
    struct sipalg_vsm *v = &sc->st.v;

    if (sipalg_is_digit(c)) {
        if (v->ndig == 0)
            v->first = (sa_u8)c;
        else if (v->first == '0' && v->cphase == 0 && v->cand <= SIPALG_CAND_ADDR)
            v->cand = 0; /* "010": leading zero, ambiguous: leave alone */
        v->num = v->num * 10 + (c - '0');
        v->ndig++;
        if (v->ndig > 9 || (v->cphase == 0 && v->cand <= SIPALG_CAND_ADDR && v->num > 255) ||
            ((v->cphase == 1 || v->cand == SIPALG_CAND_RPORT) && v->ndig > 5))
            v->cand = 0;
        return 1;
    }
    if (v->cand <= SIPALG_CAND_ADDR && v->cphase == 0) {
        if (c == '.') {
            if (v->ndig == 0 || v->noct == 3)
                v->cand = 0;
            v->acc = (v->acc << 8) | v->num;
            v->noct++;
            v->num = 0;
            v->ndig = 0;
            return 1;
        }
        if (c == ':' && v->cand == SIPALG_CAND_HOSTPORT) {
            if (v->noct != 3 || v->ndig == 0) {
                v->cand = 0;
                return 0;
            }
            v->ip = (v->acc << 8) | v->num;
            v->cphase = 1;
            v->num = 0;
            v->ndig = 0;
            return 1;
        }
    }
    sipalg_cand_finish(sc, pos, c);
    return 0;
}

/* ;name=value parameters (Via params, URI and header params of name-addr values). */
SIPALG_FN void sipalg_param_step(struct sipalg_scan_result *sc, sa_u32 pos, sa_u32 c, sa_u32 lc) {
    struct sipalg_vsm *v = &sc->st.v;

    if (c == ';') {
        v->pstate = 1;
        v->pname = 0;
        v->plen = 0;
        return;
    }
    if (v->pstate == 1) {
        if (c == '=') {
            v->pstate = 2;
            if (v->mode == SIPALG_VSM_VIA) {
                if (v->plen == 8 && v->pname == SIPALG_PK8('r', 'e', 'c', 'e', 'i', 'v', 'e', 'd'))
                    sipalg_cand_start(v, SIPALG_CAND_ADDR, pos + 1);
                else if (v->plen == 5 && v->pname == SIPALG_PK5('r', 'p', 'o', 'r', 't'))
                    sipalg_cand_start(v, SIPALG_CAND_RPORT, pos + 1);
            } else if (v->plen == 7 && v->hdr == SIPALG_H_CONTACT && !v->angle &&
                       v->pname == SIPALG_PK7('e', 'x', 'p', 'i', 'r', 'e', 's')) {
                sipalg_cand_start(v, SIPALG_CAND_EXPIRES, pos + 1);
            }
            if (v->plen == 5 && v->pname == SIPALG_PK5('m', 'a', 'd', 'd', 'r'))
                sipalg_cand_start(v, SIPALG_CAND_ADDR, pos + 1);
            return;
        }
        if (sipalg_is_token(c)) {
            v->pname = (v->pname << 8) | lc;
            if (v->plen < 255)
                v->plen++;
            return;
        }
        v->pstate = 0;
        return;
    }
    if (v->pstate == 2 && (sipalg_is_ws(c) || c == ','))
        v->pstate = 0;
}

/* ':' at pos ends "sip" or "sips" (any case) that starts at a word boundary. Reads the bytes
 * before pos from the message (they may belong to the header name: a boundary either way). */
SIPALG_FN int sipalg_after_sip(const sa_u8 *msg, sa_u32 pos) {
    sa_u32 b1, b2, b3, b4, b5;

    if (pos < 4)
        return 0;
    b1 = sipalg_at(msg, pos - 1) | 0x20;
    b2 = sipalg_at(msg, pos - 2) | 0x20;
    b3 = sipalg_at(msg, pos - 3) | 0x20;
    b4 = sipalg_at(msg, pos - 4);
    if (b3 == 's' && b2 == 'i' && b1 == 'p')
        return !sipalg_is_alnum(b4);
    b5 = pos >= 5 ? sipalg_at(msg, pos - 5) : ' ';
    return (b4 | 0x20) == 's' && b3 == 'i' && b2 == 'p' && b1 == 's' && !sipalg_is_alnum(b5);
}

SIPALG_FN void sipalg_uri_step(struct sipalg_scan_result *sc, const sa_u8 *msg, sa_u32 pos,
                               sa_u32 c, sa_u32 lc) {
    struct sipalg_vsm *v = &sc->st.v;

    if (!v->seen && !sipalg_is_ws(c)) {
        v->seen = 1;
        if (c == '*' && v->hdr == SIPALG_H_CONTACT)
            sc->contact_star = 1;
    }
    if (c == '<' || c == '>') {
        v->angle = c == '<';
        v->pstate = 0;
        return;
    }
    if ((c == ':' && sipalg_after_sip(msg, pos)) || c == '@') {
        sipalg_cand_start(v, SIPALG_CAND_HOSTPORT, pos + 1);
        v->pstate = 0;
        return;
    }
    if (c == ',' && !v->angle)
        v->pstate = 0;
    sipalg_param_step(sc, pos, c, lc);
}

SIPALG_FN void sipalg_via_step(struct sipalg_scan_result *sc, sa_u32 pos, sa_u32 c, sa_u32 lc) {
    struct sipalg_vsm *v = &sc->st.v;

    if (c == ',') { /* next via-parm */
        v->via_phase = SIPALG_VIA_PROTO;
        v->via_slash = 0;
        v->via_tok = 0;
        v->via_match = 0;
        v->via_first = 0;
        v->pstate = 0;
        return;
    }
    if (v->via_phase == SIPALG_VIA_PROTO) {
        if (c == '/') {
            v->via_slash++;
            v->via_tok = 0;
        } else if (sipalg_is_ws(c)) {
            if (v->via_slash >= 2 && v->via_tok)
                v->via_phase = SIPALG_VIA_WAIT;
        } else {
            v->via_tok = 1;
        }
        return;
    }
    if (v->via_phase == SIPALG_VIA_WAIT) {
        if (sipalg_is_ws(c))
            return;
        v->via_phase = SIPALG_VIA_HOST;
        sipalg_cand_start(v, SIPALG_CAND_HOSTPORT, pos);
        sipalg_cand_feed(sc, pos, c);
        return;
    }
    if (v->via_phase == SIPALG_VIA_HOST) {
        if (c != ';')
            return;
        v->via_phase = SIPALG_VIA_PARAMS;
    }
    sipalg_param_step(sc, pos, c, lc);
}

/* Bytes that can change the machine's state when no candidate, quoted string or parameter name
 * is open: everything else is skipped without touching the state (the common case). */
SIPALG_FN int sipalg_vsm_special(sa_u32 c) {
    /* TAB SP " * , / : ; < = > */
    const sa_u64 low = (1ull << '\t') | (1ull << ' ') | (1ull << '"') | (1ull << '*') |
                       (1ull << ',') | (1ull << '/') | (1ull << ':') | (1ull << ';') |
                       (1ull << '<') | (1ull << '=') | (1ull << '>');

    return c < 64 ? (int)((low >> c) & 1) : (c == '@' || c == '\\');
}

SIPALG_FN void sipalg_vsm_byte(struct sipalg_scan_result *sc, const sa_u8 *msg, sa_u32 pos,
                               sa_u32 c) {
    struct sipalg_vsm *v = &sc->st.v;
    sa_u32 lc;

    if (v->cand) {
        if (sipalg_cand_feed(sc, pos, c))
            return;
    } else if (v->fast && !sipalg_vsm_special(c)) {
        return;
    }
    if (v->quote) {
        if (v->esc)
            v->esc = 0;
        else if (c == '\\')
            v->esc = 1;
        else if (c == '"')
            v->quote = 0;
        return;
    }
    if (c == '"') {
        v->quote = 1;
        v->fast = 0;
        return;
    }
    lc = sipalg_lower(c);
    if (v->mode == SIPALG_VSM_VIA)
        sipalg_via_step(sc, pos, c, lc);
    else
        sipalg_uri_step(sc, msg, pos, c, lc);
    /* may the next plain byte be skipped? */
    v->fast = !v->quote && v->pstate != 1 &&
              (v->mode == SIPALG_VSM_URI ? v->seen : v->via_phase >= SIPALG_VIA_HOST);
}

/* End of the field's value: a candidate running into it is complete. */
SIPALG_FN void sipalg_vsm_end(struct sipalg_scan_result *sc, sa_u32 pos) {
    struct sipalg_vsm *v = &sc->st.v;

    if (v->mode != SIPALG_VSM_NONE && v->cand)
        sipalg_cand_finish(sc, pos, SIPALG_END);
    v->mode = SIPALG_VSM_NONE;
    v->cand = 0;
}

SIPALG_FN int sipalg_feed_step(struct sipalg_ctx *ctx, sa_u32 pos) {
    sipalg_vsm_byte(ctx->sc, ctx->msg, pos, sipalg_at(ctx->msg, pos));
    return ctx->sc->verdict != SIPALG_OK;
}
SIPALG_DEFINE_BYTE_LOOP(sipalg_feed_cb, sipalg_feed_step)

/* Run the value machine over msg[from .. to). */
SIPALG_FN void sipalg_vsm_feed(struct sipalg_ctx *ctx, sa_u32 from, sa_u32 to) {
    if (ctx->sc->st.v.mode != SIPALG_VSM_NONE)
        SIPALG_BYTE_LOOP(ctx, from, to, sipalg_feed_cb);
}

#endif /* SIPALG_SIP_VALUE_SM_H */
