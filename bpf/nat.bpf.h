/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Header NAT of an IPv4/UDP packet, as a router does it: one address and one port replaced
 * (source for LAN->WAN, destination for WAN->LAN), TTL decremented, both checksums updated
 * incrementally, and the Ethernet addresses set for the next hop when they are known.
 *
 * The IPv4 header checksum is always complete, so it is updated in place for both program
 * types. The UDP checksum goes through bpf_l4_csum_replace on skbs, which knows whether it is a
 * complete checksum or the pseudo-header seed of a CHECKSUM_PARTIAL packet (as sent by a local
 * socket through a veth); XDP sees frames from the wire, where it is always complete.
 */
#ifndef SIPALG_NAT_BPF_H
#define SIPALG_NAT_BPF_H

#include <linux/pkt_cls.h>
#include <stddef.h>

#include "csum.bpf.h"
#include "route.bpf.h"

struct sipalg_nat {
    __be32 old_ip, new_ip;
    __be16 old_port, new_port;
    __u8 snat; /* 1: rewrite the source (LAN->WAN), 0: the destination (WAN->LAN) */
};

/* WAN->LAN: the public destination (dst_ip:dst_port of the packet) becomes the phone's socket
 * that a binding or pinhole holds. */
static __always_inline void sipalg_nat_to_phone(struct sipalg_nat *n, __be32 dst_ip,
                                                __be16 dst_port, __be32 priv_ip, __be16 priv_port) {
    n->old_ip = dst_ip;
    n->new_ip = priv_ip;
    n->old_port = dst_port;
    n->new_port = priv_port;
    n->snat = 0;
}

/* LAN->WAN: the phone's socket (the packet's source) becomes public_ip:public_port. */
static __always_inline void sipalg_nat_to_public(struct sipalg_nat *n, __be32 src_ip,
                                                 __be16 src_port, __be32 public_ip,
                                                 __u16 public_port) {
    n->old_ip = src_ip;
    n->new_ip = public_ip;
    n->old_port = src_port;
    n->new_port = bpf_htons(public_port);
    n->snat = 1;
}

/* IPv4 header: the address `n` replaces; returns header checksum `check` updated for it. */
static __always_inline __u16 sipalg_nat_ip_addr(struct iphdr *ip, const struct sipalg_nat *n,
                                                __u16 check) {
    check = sipalg_csum_replace4(check, n->old_ip, n->new_ip);
    if (n->snat)
        ip->saddr = n->new_ip;
    else
        ip->daddr = n->new_ip;
    return check;
}

/* TTL-1; returns `check` updated for it. The caller has checked ttl > 1. */
static __always_inline __u16 sipalg_ip_ttl_dec(struct iphdr *ip, __u16 check) {
    /* TTL and protocol share a 16-bit word: TTL-1 changes it by 0x0100 (network order). */
    check = sipalg_csum_replace2(check, bpf_htons((__u16)ip->ttl << 8),
                                 bpf_htons((__u16)(ip->ttl - 1) << 8));
    ip->ttl--;
    return check;
}

/* IPv4 header: address + TTL, checksum updated in place. The caller has checked ttl > 1. */
static __always_inline void sipalg_nat_ip(struct iphdr *ip, const struct sipalg_nat *n) {
    ip->check = sipalg_ip_ttl_dec(ip, sipalg_nat_ip_addr(ip, n, ip->check));
}

static __always_inline void sipalg_nat_port(struct udphdr *udp, const struct sipalg_nat *n) {
    if (n->snat)
        udp->source = n->new_port;
    else
        udp->dest = n->new_port;
}

static __always_inline void sipalg_set_macs(struct ethhdr *eth, const struct sipalg_route *r) {
    __builtin_memcpy(eth->h_dest, r->dmac, 6);
    __builtin_memcpy(eth->h_source, r->smac, 6);
}

/* XDP: the whole NAT on a frame whose headers the caller has parsed into p. */
static __always_inline void sipalg_nat_xdp(const struct sipalg_pkt *p, const struct sipalg_nat *n,
                                           const struct sipalg_route *r) {
    struct udphdr *udp = p->l4;
    __u16 old = udp->check, check = old;

    check = sipalg_csum_replace4(check, n->old_ip, n->new_ip);
    check = sipalg_csum_replace2(check, n->old_port, n->new_port);
    udp->check = sipalg_udp_csum_fix(old, check);
    sipalg_nat_port(udp, n);
    sipalg_nat_ip(p->ip, n);
    if (r->have_macs)
        sipalg_set_macs(p->eth, r);
}

/* tc: the UDP checksum updated for what `n` replaces (pseudo-header address and port); 0, or -1
 * if a helper failed. */
static __always_inline int sipalg_nat_l4_csum(struct __sk_buff *skb, __u32 csum_off,
                                              const struct sipalg_nat *n) {
    /* BPF_F_MARK_MANGLED_0: a zero UDP checksum ("none") stays zero, a computed zero becomes
     * 0xffff. */
    if (bpf_l4_csum_replace(skb, csum_off, n->old_ip, n->new_ip,
                            BPF_F_PSEUDO_HDR | BPF_F_MARK_MANGLED_0 | sizeof(n->new_ip)))
        return -1;
    if (bpf_l4_csum_replace(skb, csum_off, n->old_port, n->new_port,
                            BPF_F_MARK_MANGLED_0 | sizeof(n->new_port)))
        return -1;
    return 0;
}

/*
 * tc: the whole NAT on an skb: `n`, and `n2` too unless NULL (a hairpin rewrites both source
 * and destination), one TTL-1 for both. The checksum helpers may move the packet data, so the
 * headers are looked up again afterwards; returns 0, or -1 if the packet can no longer be used
 * (the caller drops it: it may be half rewritten).
 */
static __always_inline int sipalg_nat_skb2(struct __sk_buff *skb, __u32 l4_off,
                                           const struct sipalg_nat *n, const struct sipalg_nat *n2,
                                           const struct sipalg_route *r) {
    __u32 csum_off = l4_off + offsetof(struct udphdr, check);
    struct sipalg_pkt p;
    __u16 check;

    if (sipalg_nat_l4_csum(skb, csum_off, n) || (n2 && sipalg_nat_l4_csum(skb, csum_off, n2)))
        return -1;
    if (sipalg_parse((void *)(long)skb->data, (void *)(long)skb->data_end, skb->len, &p) !=
                SIPALG_P_OK ||
        !p.l4 || p.l4_off != l4_off)
        return -1;
    sipalg_nat_port(p.l4, n);
    check = sipalg_nat_ip_addr(p.ip, n, p.ip->check);
    if (n2) {
        sipalg_nat_port(p.l4, n2);
        check = sipalg_nat_ip_addr(p.ip, n2, check);
    }
    p.ip->check = sipalg_ip_ttl_dec(p.ip, check);
    if (r->have_macs)
        sipalg_set_macs(p.eth, r);
    return 0;
}

/* tc: the NAT `n` on an skb (sipalg_nat_skb2 with nothing else to replace). */
static __always_inline int sipalg_nat_skb(struct __sk_buff *skb, __u32 l4_off,
                                          const struct sipalg_nat *n,
                                          const struct sipalg_route *r) {
    return sipalg_nat_skb2(skb, l4_off, n, NULL, r);
}

/* tc: send the NATed skb out of the route's interface. With the neighbour resolved the MACs
 * are already written and a plain redirect suffices; otherwise bpf_redirect_neigh resolves the
 * next hop (ARP) like the stack's output path would. */
static __always_inline long sipalg_redirect_skb(const struct sipalg_route *r) {
    struct bpf_redir_neigh nh = {.nh_family = AF_INET, .ipv4_nh = r->nh};

    if (r->have_macs)
        return bpf_redirect(r->ifindex, 0);
    return bpf_redirect_neigh(r->ifindex, &nh, sizeof(nh), 0);
}

#endif /* SIPALG_NAT_BPF_H */
