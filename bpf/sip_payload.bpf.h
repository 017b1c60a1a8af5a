/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Writing a rewritten SIP payload back into the skb: resize, store, and make the IPv4 total
 * length, the IPv4 checksum, the UDP length and the UDP checksum consistent with it.
 *
 * The UDP checksum is updated by the exact difference between the old and the new payload
 * (both are in the work buffers, so both sums are computed here, over every byte), plus the
 * UDP length in the header and in the pseudo-header. Going through bpf_l4_csum_replace, rather
 * than storing a recomputed value, is what keeps CHECKSUM_PARTIAL skbs right (a local socket
 * behind a veth): their check field holds only the pseudo-header seed, so the helper applies the
 * pseudo-header change and leaves payload changes to whoever completes the checksum. For a
 * complete checksum the result equals a recomputation, as long as the packet arrived with a
 * correct one (a router must not "repair" a corrupt datagram into a valid one).
 */
#ifndef SIPALG_SIP_PAYLOAD_BPF_H
#define SIPALG_SIP_PAYLOAD_BPF_H

#include <linux/pkt_cls.h>
#include <linux/udp.h>
#include <stddef.h>

#include "sip_work.bpf.h"

#define SIPALG_IP_OFF 14u /* Ethernet, no VLAN tag: the datapath parses nothing else */

struct sipalg_sum_ctx {
    struct sipalg_sip_scratch *rw;
    const __u8 *buf;
};

/* 32 bytes per call, as eight native 32-bit words: a one's complement sum does not depend on
 * the word size or byte order as long as it is folded the same way (RFC 1071). */
static long sipalg_sum_cb(__u32 i, void *vctx) {
    struct sipalg_sum_ctx *c = vctx;
    const __u8 *p = c->buf + ((i * 32u) & (SIPALG_MSG_MAX - 1));
    __u64 s = 0;

#pragma unroll
    for (int k = 0; k < 8; k++)
        s += *(const __u32 *)(p + 4 * k);
    c->rw->sum += s;
    return 0;
}

static __always_inline __u32 sipalg_fold32(__u64 s) {
    s = (s & 0xffffffffu) + (s >> 32);
    s = (s & 0xffffffffu) + (s >> 32);
    return (__u32)s;
}

static __always_inline __u32 sipalg_csum_add32(__u32 a, __u32 b) {
    __u32 r = a + b;

    return r + (r < b);
}

/* Sum of buf[0 .. len): the 32 bytes after len are zeroed first (both buffers have
 * SIPALG_BUF_PAD bytes of slack), so an odd or partial last block adds nothing extra. */
static __always_inline __u32 sipalg_buf_sum(struct sipalg_sip_scratch *rw, __u8 *buf, __u32 len) {
    struct sipalg_sum_ctx c = {.rw = rw, .buf = buf};
    __u64 *z = (__u64 *)(buf + (len & (SIPALG_MSG_MAX - 1)));

    if (len > SIPALG_MSG_MAX)
        return 0;
    if (len < SIPALG_MSG_MAX)
        __builtin_memset(z, 0, 32);
    rw->sum = 0;
    bpf_loop((len + 31) / 32, sipalg_sum_cb, &c, 0);
    return sipalg_fold32(rw->sum);
}

/*
 * Replaces the UDP payload (old_len bytes, still in rw->w.msg) by rw->w.out[0 .. new_len).
 * 0 on success; -1 if a helper failed (the packet may then be half written: drop it).
 */
static __always_inline int sipalg_payload_store(struct __sk_buff *skb,
                                                struct sipalg_sip_scratch *rw, __u32 l4_off,
                                                __u32 old_len, __u32 new_len) {
    __u32 csum_off = l4_off + offsetof(struct udphdr, check);
    __be16 old_ulen = bpf_htons((__u16)(old_len + sizeof(struct udphdr)));
    __be16 new_ulen = bpf_htons((__u16)(new_len + sizeof(struct udphdr)));
    __be16 old_tot, new_tot;
    __u32 diff;

    if (old_len > SIPALG_MSG_MAX || new_len > SIPALG_MSG_MAX || new_len == 0)
        return -1;
    if (bpf_skb_load_bytes(skb, SIPALG_IP_OFF + offsetof(struct iphdr, tot_len), &old_tot,
                           sizeof(old_tot)))
        return -1;
    new_tot = bpf_htons((__u16)(bpf_ntohs(old_tot) + new_len - old_len));
    diff = sipalg_csum_add32(sipalg_buf_sum(rw, rw->w.out, new_len),
                             ~sipalg_buf_sum(rw, rw->w.msg, old_len));
    diff = sipalg_csum_add32(diff, new_ulen);
    diff = sipalg_csum_add32(diff, (__u16)~old_ulen);

    if (bpf_skb_change_tail(skb, l4_off + sizeof(struct udphdr) + new_len, 0))
        return -1;
    if (bpf_skb_store_bytes(skb, l4_off + sizeof(struct udphdr), rw->w.out, new_len,
                            BPF_F_RECOMPUTE_CSUM))
        return -1;
    if (bpf_skb_store_bytes(skb, l4_off + offsetof(struct udphdr, len), &new_ulen, sizeof(new_ulen),
                            BPF_F_RECOMPUTE_CSUM))
        return -1;
    /* UDP checksum: pseudo-header length (applies to partial seeds too), then the header and
     * payload difference (complete checksums only). A zero checksum ("none") stays zero. */
    if (bpf_l4_csum_replace(skb, csum_off, old_ulen, new_ulen,
                            BPF_F_PSEUDO_HDR | BPF_F_MARK_MANGLED_0 | sizeof(new_ulen)))
        return -1;
    if (bpf_l4_csum_replace(skb, csum_off, 0, diff, BPF_F_MARK_MANGLED_0))
        return -1;
    if (bpf_l3_csum_replace(skb, SIPALG_IP_OFF + offsetof(struct iphdr, check), old_tot, new_tot,
                            sizeof(new_tot)))
        return -1;
    if (bpf_skb_store_bytes(skb, SIPALG_IP_OFF + offsetof(struct iphdr, tot_len), &new_tot,
                            sizeof(new_tot), BPF_F_RECOMPUTE_CSUM))
        return -1;
    return 0;
}

#endif /* SIPALG_SIP_PAYLOAD_BPF_H */
