/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Routing decisions for owned packets: a FIB lookup tells which interface and next hop the
 * kernel would use, so the fast path forwards exactly where the stack would have, honours the
 * routing table (policy, blackholes, MTU) and never needs its own copy of it.
 */
#ifndef SIPALG_ROUTE_BPF_H
#define SIPALG_ROUTE_BPF_H

#include "pkt.bpf.h"

struct sipalg_route {
    __u32 ifindex;  /* egress interface */
    __be32 nh;      /* next hop (for bpf_redirect_neigh when the MACs are unknown) */
    __u16 mtu;      /* egress MTU; 0: not known (cached route, or no neighbour entry yet) */
    __u8 have_macs; /* smac/dmac valid: the neighbour is resolved */
    __u8 xdp_xmit;  /* XDP may redirect to ifindex (SIPALG_IFACE_XDP_XMIT; routes with MACs) */
    unsigned char smac[6];
    unsigned char dmac[6];
};

/*
 * The route's MTU toward dst, for a SIP rewrite when sipalg_route() could not tell it: a lookup
 * that ends in NO_NEIGH has checked the packet against the MTU but returned before writing
 * mtu_result, which shares its place with tot_len. Asking again with the largest length makes
 * the MTU check fail, and that answer carries the MTU. Only SIP asks (media never grows), so
 * packets to a phone the router has not resolved yet pay one lookup, not two. A subprogram:
 * its lookup struct lives in its own frame.
 */
static __noinline __u32 sipalg_route_mtu(void *ctx, __u32 in_ifindex, __be32 src, __be32 dst,
                                         __u8 proto) {
    struct bpf_fib_lookup fib = {};
    long rc;

    if (!ctx)
        return 0;
    fib.family = AF_INET;
    fib.l4_protocol = proto;
    fib.tot_len = 0xffff;
    fib.ifindex = in_ifindex;
    fib.ipv4_src = src;
    fib.ipv4_dst = dst;
    rc = bpf_fib_lookup(ctx, &fib, sizeof(fib), 0);
    return rc == BPF_FIB_LKUP_RET_FRAG_NEEDED ? fib.mtu_result : 0xffff;
}

/*
 * Looks up the route of the packet as the stack would on `in_ifindex` (before any NAT: routing
 * happens before SNAT in the stack too). 0 on success, else the counter that says why the
 * packet is not forwarded by the fast path (it then passes to the stack untouched).
 */
static __always_inline int sipalg_route(void *ctx, const struct sipalg_pkt *p, __u32 in_ifindex,
                                        __be32 dst, struct sipalg_route *r) {
    struct bpf_fib_lookup fib = {};
    long rc;

    fib.family = AF_INET;
    fib.tos = p->ip->tos;
    fib.l4_protocol = p->proto;
    fib.sport = p->l4 ? p->l4->source : 0;
    fib.dport = p->l4 ? p->l4->dest : 0;
    fib.tot_len = (__u16)p->ip_len;
    fib.ifindex = in_ifindex;
    fib.ipv4_src = p->ip->saddr;
    fib.ipv4_dst = dst;
    rc = bpf_fib_lookup(ctx, &fib, sizeof(fib), 0);
    if (rc == BPF_FIB_LKUP_RET_FRAG_NEEDED)
        return SIPALG_CTR_SLOW_MTU;
    if (rc != BPF_FIB_LKUP_RET_SUCCESS && rc != BPF_FIB_LKUP_RET_NO_NEIGH)
        return SIPALG_CTR_NO_ROUTE;
    r->ifindex = fib.ifindex;
    r->nh = fib.ipv4_dst; /* the kernel replaced it with the gateway, if any */
    r->have_macs = rc == BPF_FIB_LKUP_RET_SUCCESS;
    r->xdp_xmit = 0;
    r->mtu = r->have_macs ? fib.mtu_result : 0;
    __builtin_memcpy(r->smac, fib.smac, 6);
    __builtin_memcpy(r->dmac, fib.dmac, 6);
    return 0;
}

/* The MTU a SIP rewrite of the packet routed by sipalg_route() to dst must fit. */
static __always_inline __u32 sipalg_route_sip_mtu(void *ctx, const struct sipalg_pkt *p,
                                                  __u32 in_ifindex, __be32 dst,
                                                  const struct sipalg_route *r) {
    return r->mtu ? r->mtu : sipalg_route_mtu(ctx, in_ifindex, p->ip->saddr, dst, p->proto);
}

/* ---- route cache (media only; SIP always asks the FIB, it is rare and needs the MTU) ---- */

/* Cached routes are used for packets up to this size only: the cache keeps no MTU, and 1280
 * bytes fit every link a router forwards IPv4 over; larger packets get the FIB's MTU check. */
#define SIPALG_ROUTE_CACHE_MAX_LEN 1280u

union sipalg_route_word {
    __u64 v;
    unsigned char b[8]; /* 0-5 next-hop MAC, 6 interface index, 7 generation */
};

/* Index of `ifindex` in sipalg_ifaces (added if new, MAC and flags kept current), or -1 if
 * full. */
static __always_inline int sipalg_iface_index(__u32 ifindex, const unsigned char *mac, __u8 flags) {
    for (__u32 i = 0; i < SIPALG_IFACES; i++) {
        __u32 key = i;
        struct sipalg_iface *e = bpf_map_lookup_elem(&sipalg_ifaces, &key);

        if (!e)
            return -1;
        if (e->ifindex != ifindex &&
            (e->ifindex != 0 || __sync_val_compare_and_swap(&e->ifindex, 0, ifindex) != 0))
            continue;
        if (!sipalg_mac_eq(e->mac, mac))
            __builtin_memcpy(e->mac, mac, 6);
        if (e->flags != flags)
            e->flags = flags;
        return (int)i;
    }
    return -1;
}

/* SIPALG_IFACE_* of a LAN port the loader hooked with XDP (a plain LAN interface can be both
 * the FIB's answer and a port), 0 for any other interface. */
static __always_inline __u8 sipalg_brport_flags(__u32 ifindex) {
    const struct sipalg_bridge_port *lp = bpf_map_lookup_elem(&sipalg_brports, &ifindex);

    return lp ? lp->flags | SIPALG_IFACE_LAN_PORT : 0;
}

static __always_inline __u64 sipalg_route_word(const unsigned char *dmac, int idx, __u32 gen) {
    union sipalg_route_word w;

    __builtin_memcpy(w.b, dmac, 6);
    w.b[6] = (__u8)idx;
    w.b[7] = (__u8)gen;
    return w.v;
}

/*
 * sipalg_route for a pinhole's packet in direction `dir`, from the slot's cache when it holds a
 * route of the current generation `gen`; a FIB answer with a resolved neighbour is cached.
 */
static __always_inline int sipalg_route_cached(void *ctx, const struct sipalg_pkt *p,
                                               __u32 in_ifindex, __be32 dst, struct sipalg_slot *s,
                                               __u32 dir, __u32 gen, struct sipalg_route *r) {
    union sipalg_route_word w;
    __u8 prev = (__u8)(gen > 1 ? gen - 1 : 255), flags;
    int why, idx;

    dir &= 1;
    w.v = s->route[dir];
    if (gen && (w.b[7] == (__u8)gen || w.b[7] == prev) && p->ip_len <= SIPALG_ROUTE_CACHE_MAX_LEN) {
        __u32 key = w.b[6];
        const struct sipalg_iface *e = bpf_map_lookup_elem(&sipalg_ifaces, &key);

        /* A learned LAN port route also from the previous generation (SIPALG_IFACE_LAN_PORT). */
        if (e && e->ifindex && (w.b[7] == (__u8)gen || (e->flags & SIPALG_IFACE_LAN_PORT))) {
            r->ifindex = e->ifindex;
            r->nh = 0;
            r->mtu = 0;
            r->have_macs = 1;
            r->xdp_xmit = e->flags & SIPALG_IFACE_XDP_XMIT;
            __builtin_memcpy(r->smac, e->mac, 6);
            __builtin_memcpy(r->dmac, w.b, 6);
            return 0;
        }
    }
    why = sipalg_route(ctx, p, in_ifindex, dst, r);
    if (why || !r->have_macs || !gen)
        return why;
    flags = sipalg_brport_flags(r->ifindex);
    r->xdp_xmit = flags & SIPALG_IFACE_XDP_XMIT;
    idx = sipalg_iface_index(r->ifindex, r->smac, flags);
    if (idx >= 0)
        s->route[dir] = sipalg_route_word(r->dmac, idx, gen); /* one 8-byte store: readers
                                                               * never see half an entry */
    return 0;
}

/*
 * The route toward the phone, learned from its outbound media on a LAN port (sipalg_lan_port_xdp):
 * out of that port, to the phone's MAC, from the router's. It replaces what the FIB says
 * (the bridge), so inbound media skips the bridge; XDP sends it to the port itself when the
 * port accepts XDP frames. Written only when it differs, so a busy flow does not keep dirtying
 * the slot's cache line.
 */
static __always_inline void sipalg_route_learn(struct sipalg_slot *s, __u32 port_ifindex,
                                               const unsigned char *phone_mac,
                                               const unsigned char *router_mac, __u8 flags,
                                               __u32 gen) {
    union sipalg_route_word w = {.v = s->route[SIPALG_TO_LAN]};
    const struct sipalg_iface *e;
    __u32 key = w.b[6];
    int idx;

    flags |= SIPALG_IFACE_LAN_PORT;
    if (!gen)
        return;
    /* The common case, the route already learned: one array lookup instead of a search. */
    if (w.b[7] == (__u8)gen && sipalg_mac_eq(w.b, phone_mac)) {
        e = bpf_map_lookup_elem(&sipalg_ifaces, &key);
        if (e && e->ifindex == port_ifindex && e->flags == flags)
            return;
    }
    idx = sipalg_iface_index(port_ifindex, router_mac, flags);
    if (idx >= 0)
        s->route[SIPALG_TO_LAN] = sipalg_route_word(phone_mac, idx, gen);
}

/* The aging sweep drops entries older than the previous generation, so that a generation
 * number coming round again (every 255 s) can never revive a stale route. */
static __always_inline void sipalg_route_expire(struct sipalg_slot *s, __u32 gen) {
    __u32 prev = gen > 1 ? gen - 1 : 255;

#pragma unroll
    for (int d = 0; d < 2; d++) {
        union sipalg_route_word w = {.v = s->route[d]};

        if (w.b[7] && w.b[7] != (__u8)gen && w.b[7] != (__u8)prev)
            s->route[d] = 0;
    }
}

/* Next generation: 1..255, never 0. */
static __always_inline __u32 sipalg_route_gen_next(__u32 gen) {
    return gen >= 255 ? 1 : gen + 1;
}

#endif /* SIPALG_ROUTE_BPF_H */
