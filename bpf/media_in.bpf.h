/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Inbound media (WAN -> LAN through a pinhole): the one decision both hooks take, the WAN XDP
 * program and the WAN tc ingress program when XDP did not handle the packet, so that the
 * outcome never depends on which hook took it. Admit (the pinhole's scope), NAT target (the
 * phone's socket), route (the pinhole's cache or the FIB); the hook then applies it its way.
 */
#ifndef SIPALG_MEDIA_IN_BPF_H
#define SIPALG_MEDIA_IN_BPF_H

#include "nat.bpf.h"
#include "pinhole.bpf.h"

struct sipalg_media_verdict {
    __u32 why; /* 0: forward it with nat and route; else the counter of why it passes */
    struct sipalg_nat nat;
    struct sipalg_route route;
};

/* The decision for UDP `p` to pinhole slot `s` arriving on `in_ifindex`, admitted as if it came
 * from saddr:sport (a packet from the Internet: its own source; a hairpin: the sender's public
 * address and port). `xdp` (a constant): the caller is XDP, which cannot finish a partial UDP
 * checksum a local sender left (tc can): such a packet is SIPALG_CTR_CSUM_PARTIAL there.
 * Returns v->why. */
static __always_inline __u32 sipalg_media_in_decide_from(void *ctx, const struct sipalg_config *cfg,
                                                         const struct sipalg_state *st,
                                                         const struct sipalg_pkt *p, __be32 saddr,
                                                         __be16 sport, __u32 in_ifindex,
                                                         struct sipalg_slot *s, int xdp,
                                                         struct sipalg_media_verdict *v) {
    int why = sipalg_pinhole_admits(s, saddr, sport);

    if (why == SIPALG_ADMIT_PENDING)
        return v->why = SIPALG_CTR_PIN_PENDING;
    if (why != SIPALG_ADMIT_OK)
        return v->why = SIPALG_CTR_SCOPE_MISS;
    if (p->ip->ttl <= 1)
        return v->why = SIPALG_CTR_TTL_EXCEEDED;
    if (xdp && sipalg_udp_csum_is_seed(p->ip, p->l4))
        return v->why = SIPALG_CTR_CSUM_PARTIAL;
    sipalg_nat_to_phone(&v->nat, p->ip->daddr, p->l4->dest, s->priv_ip, s->priv_port);
    why = sipalg_route_cached(ctx, p, in_ifindex, v->nat.new_ip, s, SIPALG_TO_LAN, st->route_gen,
                              &v->route);
    if (why)
        return v->why = (__u32)why;
    /* Owned only if the route does not lead back out of the WAN. */
    return v->why = v->route.ifindex == cfg->wan_ifindex ? SIPALG_CTR_NO_ROUTE : 0;
}

/* The decision for media from the Internet: admitted by its own source. */
static __always_inline __u32 sipalg_media_in_decide(void *ctx, const struct sipalg_config *cfg,
                                                    const struct sipalg_state *st,
                                                    const struct sipalg_pkt *p, __u32 in_ifindex,
                                                    struct sipalg_slot *s, int xdp,
                                                    struct sipalg_media_verdict *v) {
    return sipalg_media_in_decide_from(ctx, cfg, st, p, p->ip->saddr, p->l4->source, in_ifindex, s,
                                       xdp, v);
}

#endif /* SIPALG_MEDIA_IN_BPF_H */
