/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Is an address one the ALG must rewrite? Membership in a small, bounded set of IPv4 prefixes. */
#ifndef SIPALG_IP_MATCH_H
#define SIPALG_IP_MATCH_H

#include "sipalg/sip_types.h"

/* Prefix length -> mask (0..32), host order. */
SIPALG_FN sa_u32 sipalg_plen_mask(sa_u32 plen) {
    if (plen == 0)
        return 0;
    if (plen >= 32)
        return 0xffffffffu;
    return ~((1u << (32 - plen)) - 1);
}

/* Add net/plen to a match set; returns 0 when full. Host-side convenience. */
SIPALG_FN int sipalg_match_add(struct sipalg_match *m, sa_u32 net, sa_u32 plen) {
    sa_u32 i = m->n;

    if (i >= SIPALG_MAX_PREFIXES || plen == 0)
        return 0;
    m->p[i].mask = sipalg_plen_mask(plen);
    m->p[i].net = net & m->p[i].mask;
    m->n = i + 1;
    return 1;
}

/* 0.0.0.0 never matches (SDP uses it for "hold"; it is nobody's address). */
SIPALG_FN int sipalg_match_ip(const struct sipalg_match *m, sa_u32 ip) {
    sa_u32 k;

    if (ip == 0)
        return 0;
    SIPALG_UNROLL
    for (k = 0; k < SIPALG_MAX_PREFIXES; k++) {
        if (k < m->n && m->p[k].mask && (ip & m->p[k].mask) == m->p[k].net)
            return 1;
    }
    return 0;
}

#define SIPALG_IPV4(a, b, c, d)                                                                    \
    (((sa_u32)(a) << 24) | ((sa_u32)(b) << 16) | ((sa_u32)(c) << 8) | (sa_u32)(d))

#endif /* SIPALG_IP_MATCH_H */
