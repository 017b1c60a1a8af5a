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

#include <linux/in.h>
#include <linux/ip.h>
#include <linux/types.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>

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

/*
 * Does the UDP checksum field hold the pseudo-header seed of a CHECKSUM_PARTIAL packet rather
 * than a checksum? A local socket's datagram crossing a veth carries the seed, and the skb says
 * "partial" (so the next device or the receiver completes it). XDP cannot see that flag: an
 * incremental update would be wrong for a seed (the port is not in it, and the seed is not
 * inverted), and an XDP redirect drops the flag, so the receiver would verify the seed. XDP
 * therefore leaves such packets to tc, whose checksum helpers know. The seed is the folded,
 * not inverted, sum of addresses, protocol and length; a real checksum equal to it by chance
 * (1 in 65536) only means that packet takes tc, which is also right.
 */
static __always_inline int sipalg_udp_csum_is_seed(const struct iphdr *ip,
                                                   const struct udphdr *udp) {
    __u32 sum = (ip->saddr & 0xffff) + (ip->saddr >> 16) + (ip->daddr & 0xffff) +
                (ip->daddr >> 16) + bpf_htons(IPPROTO_UDP) + udp->len;

    return udp->check && udp->check == sipalg_csum_fold(sum);
}

#endif /* SIPALG_CSUM_BPF_H */
