/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Ethernet / IPv4 / UDP-or-TCP parsing shared by the XDP and tc programs. Works on the
 * data/data_end pair both program types have; every access is bounds-checked against data_end.
 * BPF side only.
 */
#ifndef SIPALG_PKT_BPF_H
#define SIPALG_PKT_BPF_H

#include <linux/ip.h>
#include <linux/tcp.h>
#include <linux/udp.h>

#include "sipalg_common.bpf.h"

#define SIPALG_ETH_LEN 14u
#define SIPALG_IP_MF 0x2000
#define SIPALG_IP_OFFSET 0x1fff
/* Ethernet + the largest IPv4 header + UDP: what must be in the linear part to parse. */
#define SIPALG_HDRS_MAX (SIPALG_ETH_LEN + 60u + 8u)

enum sipalg_frag {
    SIPALG_FRAG_NONE = 0,
    SIPALG_FRAG_FIRST = 1, /* offset 0, more fragments: has the L4 header, not the whole datagram */
    SIPALG_FRAG_LATER = 2, /* no L4 header at all */
};

enum sipalg_parse {
    SIPALG_P_OK = 0,        /* IPv4 with a usable L4 header (or a later fragment) */
    SIPALG_P_OTHER = 1,     /* not IPv4, or too short to be: not ours, pass */
    SIPALG_P_MALFORMED = 2, /* IPv4 whose lengths do not add up: pass untouched */
    SIPALG_P_SHORT = 3,     /* headers not all in data (tc: pull and parse again) */
};

struct sipalg_pkt {
    struct ethhdr *eth;
    struct iphdr *ip;
    struct udphdr *l4; /* the ports: UDP, or the first 4 bytes of TCP (the same); NULL if LATER */
    __u32 l4_off;      /* from the start of the frame */
    __u32 ip_len;      /* IPv4 total length */
    __u32 payload_len; /* UDP payload bytes (UDP, not fragmented) */
    __u8 proto;
    __u8 frag; /* enum sipalg_frag */
};

/* frame_len: the whole frame (skb->len for tc, which may exceed data_end - data). */
static __always_inline int sipalg_parse(void *data, void *data_end, __u32 frame_len,
                                        struct sipalg_pkt *p) {
    struct ethhdr *eth = data;
    struct iphdr *ip;
    __u32 ihl, frag_off;

    if ((void *)(eth + 1) > data_end)
        return SIPALG_P_OTHER;
    if (eth->h_proto != bpf_htons(ETH_P_IP))
        return SIPALG_P_OTHER;
    ip = (void *)(eth + 1);
    if ((void *)(ip + 1) > data_end)
        return frame_len >= SIPALG_ETH_LEN + sizeof(*ip) ? SIPALG_P_SHORT : SIPALG_P_OTHER;
    if (ip->version != 4)
        return SIPALG_P_OTHER;
    ihl = ip->ihl * 4u;
    p->ip_len = bpf_ntohs(ip->tot_len);
    if (ihl < sizeof(*ip) || p->ip_len < ihl || SIPALG_ETH_LEN + p->ip_len > frame_len)
        return SIPALG_P_MALFORMED;
    p->eth = eth;
    p->ip = ip;
    p->proto = ip->protocol;
    p->l4_off = SIPALG_ETH_LEN + ihl;
    p->l4 = NULL;
    p->payload_len = 0;
    frag_off = bpf_ntohs(ip->frag_off);
    if (frag_off & SIPALG_IP_OFFSET) {
        p->frag = SIPALG_FRAG_LATER;
        return SIPALG_P_OK;
    }
    p->frag = (frag_off & SIPALG_IP_MF) ? SIPALG_FRAG_FIRST : SIPALG_FRAG_NONE;
    if (p->proto != IPPROTO_UDP && p->proto != IPPROTO_TCP)
        return SIPALG_P_OK;
    if (p->ip_len < ihl + sizeof(struct udphdr))
        return SIPALG_P_MALFORMED;
    /* ihl is at most 60: the verifier tracks the variable offset, data_end bounds it. */
    struct udphdr *udp = data + SIPALG_ETH_LEN + ihl;
    if ((void *)(udp + 1) > data_end)
        return SIPALG_P_SHORT;
    p->l4 = udp;
    if (p->proto == IPPROTO_UDP && p->frag == SIPALG_FRAG_NONE) {
        __u32 ulen = bpf_ntohs(udp->len);

        /* The UDP length must describe exactly the IP payload: anything else is a packet we
         * would not know how to NAT or rewrite consistently. */
        if (ulen != p->ip_len - ihl)
            return SIPALG_P_MALFORMED;
        p->payload_len = ulen - sizeof(struct udphdr);
    }
    return SIPALG_P_OK;
}

/* tc: parse, pulling the headers into the linear area first if they are not all there. */
static __always_inline int sipalg_parse_skb(struct __sk_buff *skb, struct sipalg_pkt *p) {
    int rc = sipalg_parse((void *)(long)skb->data, (void *)(long)skb->data_end, skb->len, p);

    if (rc != SIPALG_P_SHORT)
        return rc;
    if (bpf_skb_pull_data(skb, skb->len < SIPALG_HDRS_MAX ? skb->len : SIPALG_HDRS_MAX))
        return SIPALG_P_OTHER;
    rc = sipalg_parse((void *)(long)skb->data, (void *)(long)skb->data_end, skb->len, p);
    return rc == SIPALG_P_SHORT ? SIPALG_P_MALFORMED : rc;
}

/* Two MAC addresses equal? No memcmp in BPF: compared as 4 + 2 bytes. */
static __always_inline int sipalg_mac_eq(const unsigned char *a, const unsigned char *b) {
    return *(const __u32 *)a == *(const __u32 *)b &&
           *(const __u16 *)(a + 4) == *(const __u16 *)(b + 4);
}

#endif /* SIPALG_PKT_BPF_H */
