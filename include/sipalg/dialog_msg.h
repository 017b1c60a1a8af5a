/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * What the dialog table (struct sipalg_dialog_msg, maps/sipalg_maps.h) needs of one scanned
 * SIP message. Written once for the fast path (bpf/dialog.bpf.h) and the daemon, so both feed
 * the same rules the same facts.
 */
#ifndef SIPALG_DIALOG_MSG_H
#define SIPALG_DIALOG_MSG_H

#include "sipalg/sipalg.h"
#include "sipalg_maps.h"

/* Host order -> network order (the scanner is little-endian only, see portable.h). */
SIPALG_FN sa_u32 sipalg_be32(sa_u32 v) {
    return __builtin_bswap32(v);
}

/*
 * The dialog's Call-ID hash (0: none). "word@<phone>" and "word@<public address>" are the same
 * call (the ALG rewrites one into the other), so for those the host is left out; any other
 * Call-ID counts whole. Host order addresses.
 */
SIPALG_FN sa_u64 sipalg_callid_hash(const struct sipalg_scan_result *sc, const sa_u8 *msg,
                                    sa_u32 phone_ip, sa_u32 public_ip) {
    sa_u32 n = sc->callid_len;

    if (!n)
        return 0;
    if (sc->callid_ip && (sc->callid_ip == phone_ip || sc->callid_ip == public_ip))
        n = sc->callid_word;
    return sipalg_hash_span(msg, sc->callid_off, n);
}

/* The facts of the message scanned into sc from msg, for the phone phone_ip behind public_ip
 * (host order). */
SIPALG_FN void sipalg_dialog_msg_of(struct sipalg_dialog_msg *dm,
                                    const struct sipalg_scan_result *sc, const sa_u8 *msg,
                                    sa_u32 phone_ip, sa_u32 public_ip) {
    dm->call = sipalg_callid_hash(sc, msg, phone_ip, public_ip);
    dm->is_request = sc->is_request;
    dm->method = sc->method;
    dm->cseq_method = sc->cseq_method;
    dm->status = sc->status;
    dm->cseq = sc->cseq;
    dm->expires = sc->contact_expires >= 0 ? sc->contact_expires : sc->expires;
    dm->session_s = sc->session_expires < 0       ? 0
                    : sc->session_expires > 65535 ? 65535
                                                  : (sa_u16)sc->session_expires;
    dm->n_media = (sc->sdp.flags & SIPALG_SF_PRESENT) ? sc->sdp.n_media : 0;
    SIPALG_UNROLL
    for (int i = 0; i < SIPALG_MAX_LINES_DLG; i++) {
        dm->line_port[i] = sc->sdp.m[i].port;
        dm->line_ip[i] = sipalg_be32(sipalg_sdp_media_ip(sc, i, 0));
        dm->line_rtcp_ip[i] = sipalg_be32(sipalg_sdp_media_ip(sc, i, 1));
    }
    __builtin_memset(dm->callid, 0, SIPALG_CALLID_TEXT);
    if (sc->callid_len) {
        sa_u64 w0 = sipalg_ld64(msg, sc->callid_off), w1 = sipalg_ld64(msg, sc->callid_off + 8);
        sa_u32 n = sc->callid_len;

        if (n < 8)
            w0 &= (1ull << (8 * n)) - 1;
        if (n < 16)
            w1 = n <= 8 ? 0 : w1 & ((1ull << (8 * (n - 8))) - 1);
        __builtin_memcpy(dm->callid, &w0, 8);
        __builtin_memcpy(dm->callid + 8, &w1, 8);
    }
}

#endif /* SIPALG_DIALOG_MSG_H */
