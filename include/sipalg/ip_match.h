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

/* 1 if x != 0, computed without a branch: BPF has no conditional set, so a comparison is a jump,
 * and every jump in a scanner loop body is a fork the verifier explores. The empty asm keeps the
 * compiler from turning the arithmetic back into a comparison. */
SIPALG_FN sa_u32 sipalg_nonzero(sa_u32 x) {
    sa_u32 v = x | (0u - x);

    SIPALG_OPAQUE(v);
    return v >> 31;
}

/* 0.0.0.0 never matches (SDP uses it for "hold"; it is nobody's address). One expression over
 * the whole set, without a branch per prefix (see sipalg_nonzero). */
SIPALG_FN int sipalg_match_ip(const struct sipalg_match *m, sa_u32 ip) {
    sa_u32 k, n = m->n, hit = 0;

    SIPALG_UNROLL
    for (k = 0; k < SIPALG_MAX_PREFIXES; k++) {
        const sa_u32 mask = m->p[k].mask;
        /* k < n as the sign of k - n (n is at most SIPALG_MAX_PREFIXES) */
        const sa_u32 used = ((k - n) >> 31) & sipalg_nonzero(mask);

        hit |= used & (sipalg_nonzero((ip & mask) ^ m->p[k].net) ^ 1u);
    }
    return (int)(hit & sipalg_nonzero(ip));
}

#define SIPALG_IPV4(a, b, c, d)                                                                    \
    (((sa_u32)(a) << 24) | ((sa_u32)(b) << 16) | ((sa_u32)(c) << 8) | (sa_u32)(d))

#endif /* SIPALG_IP_MATCH_H */
