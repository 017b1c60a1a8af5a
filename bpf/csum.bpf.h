/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Incremental Internet checksum updates (RFC 1624) for XDP, which has no csum helpers that
 * know the checksum field. One's complement sums do not depend on byte order as long as every
 * operand is taken in the same (memory) order, so the values here are raw header words.
 * The tc programs use bpf_l3_csum_replace/bpf_l4_csum_replace instead: those also handle
 * skbs whose UDP checksum is CHECKSUM_PARTIAL (locally generated, e.g. from a veth peer).
 */
#ifndef SIPALG_CSUM_BPF_H
#define SIPALG_CSUM_BPF_H

#include <linux/types.h>

static __always_inline __u16 sipalg_csum_fold(__u32 sum) {
    sum = (sum & 0xffff) + (sum >> 16);
    sum = (sum & 0xffff) + (sum >> 16);
    return (__u16)sum;
}

/* HC' = ~(~HC + ~m + m') for a 32-bit field changing from `from` to `to`. */
static __always_inline __u16 sipalg_csum_replace4(__u16 check, __u32 from, __u32 to) {
    __u32 sum = (__u16)~check;

    sum += (__u16) ~(from & 0xffff) + (__u16) ~(from >> 16);
    sum += (to & 0xffff) + (to >> 16);
    return (__u16)~sipalg_csum_fold(sum);
}

static __always_inline __u16 sipalg_csum_replace2(__u16 check, __u16 from, __u16 to) {
    __u32 sum = (__u16)~check;

    sum += (__u16)~from;
    sum += to;
    return (__u16)~sipalg_csum_fold(sum);
}

/* UDP: a zero checksum means "none" and must stay zero; a computed zero is sent as 0xffff. */
static __always_inline __u16 sipalg_udp_csum_fix(__u16 old, __u16 updated) {
    if (old == 0)
        return 0;
    return updated ? updated : 0xffff;
}

#endif /* SIPALG_CSUM_BPF_H */
