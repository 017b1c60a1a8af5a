/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Recording scan outcomes: the first failure wins, occurrences are appended in message order. */
#ifndef SIPALG_OCC_H
#define SIPALG_OCC_H

#include "sipalg/ip_match.h"

SIPALG_FN void sipalg_fail(struct sipalg_scan_result *sc, sa_u8 verdict, sa_u8 reason) {
    if (sc->verdict == SIPALG_OK) {
        sc->verdict = verdict;
        sc->reason = reason;
    }
}

/* Append an occurrence. Scanning is strictly left to right, so occ[] stays sorted by offset,
 * which is what the rewriter's single forward copy pass relies on. */
SIPALG_FN void sipalg_occ_add(struct sipalg_scan_result *sc, sa_u8 kind, sa_u32 off, sa_u32 len,
                              sa_u32 ip, sa_u32 port, sa_u8 hdr, sa_u8 media, sa_u8 flags) {
    sa_u32 n = sc->n_occ;
    struct sipalg_occ *o;

    if (n >= SIPALG_MAX_OCC) {
        sipalg_fail(sc, SIPALG_TOO_COMPLEX, SIPALG_R_OCC);
        return;
    }
    o = &sc->occ[SIPALG_SLOT(n, SIPALG_MAX_OCC)];
    o->ip = ip;
    o->new_ip = ip;
    o->off = (sa_u16)off;
    o->len = (sa_u16)len;
    o->port = (sa_u16)port;
    o->new_port = (sa_u16)port;
    o->kind = kind;
    o->hdr = hdr;
    o->media = media;
    o->flags = flags;
    o->text_len = 0;
    sc->n_occ = (sa_u16)(n + 1);
}

#endif /* SIPALG_OCC_H */
