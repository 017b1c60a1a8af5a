// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * LAN port ingress (XDP), on every port of the LAN bridge (or on the LAN interface itself when
 * it is not a bridge): the outbound media fast path at the earliest hook. A phone's RTP/RTCP
 * through a pinhole, sent to the router's MAC, is routed (the pinhole's route cache), SNATed to
 * the pinhole's public port and redirected from the port straight out of the WAN interface:
 * no bridge, no skb, no stack. It also learns where the phone is (this port, its MAC) for the
 * pinhole's inbound route, so that inbound media goes straight back to this port
 * (sipalg_wan_xdp.bpf.c).
 *
 * Only loaded when the WAN interface accepts XDP frames (the loader checks the driver's
 * ndo_xdp_xmit, SIPALG_XDP_WAN_XMIT). Anything it does not take (SIP, first packets whose
 * route is not cached yet, packets a local sender left with a partial checksum, anything
 * else) passes untouched to the bridge, where the LAN tc program (sipalg_lan_ingress.bpf.c) does
 * the whole job as it does without this program: the outcome never depends on which hook did it.
 */
#include "nat.bpf.h"
#include "pinhole.bpf.h"

static __always_inline int lan_port_xdp_main(struct xdp_md *ctx) {
    const struct sipalg_config *cfg = sipalg_cfg();
    const struct sipalg_bridge_port *lp;
    struct sipalg_endpoint ep = {};
    struct sipalg_state *st;
    struct sipalg_route r;
    struct sipalg_slot *s;
    struct sipalg_nat n;
    struct sipalg_pkt p;
    __u32 public_port = 0, in_ifindex = ctx->ingress_ifindex;
    void *data = (void *)(long)ctx->data;
    void *data_end = (void *)(long)ctx->data_end;

    sipalg_count(SIPALG_CTR_XDP_LAN_SEEN);
    if (!cfg || !cfg->enabled || !(cfg->xdp_flags & SIPALG_XDP_WAN_XMIT) || !cfg->public_ip)
        return XDP_PASS;
    st = sipalg_st();
    lp = bpf_map_lookup_elem(&sipalg_brports, &in_ifindex);
    if (!st || !lp || sipalg_parse(data, data_end, (__u32)(data_end - data), &p) != SIPALG_P_OK)
        return XDP_PASS;
    if (p.proto != IPPROTO_UDP || p.frag != SIPALG_FRAG_NONE || !p.l4 ||
        !sipalg_mac_eq(p.eth->h_dest, lp->router_mac) || !sipalg_is_lan(cfg, p.ip->saddr) ||
        sipalg_is_lan(cfg, p.ip->daddr) || p.ip->ttl <= 1)
        return XDP_PASS;
    ep.ip = p.ip->saddr;
    ep.port = p.l4->source;
    s = sipalg_pinhole_out(&ep, &public_port);
    if (!s)
        return XDP_PASS;
    /* Where the phone is, whichever hook forwards this packet. */
    sipalg_route_learn(s, in_ifindex, p.eth->h_source, lp->router_mac, lp->flags, st->route_gen);
    if (sipalg_udp_csum_is_seed(p.ip, p.l4)) {
        sipalg_count(SIPALG_CTR_CSUM_PARTIAL);
        return XDP_PASS;
    }
    /* To the router's own public address: the LAN tc program hairpins it. The pinhole's route
     * cache holds where this socket's media to the Internet goes, not this. */
    if (p.ip->daddr == cfg->public_ip)
        return XDP_PASS;
    /* Routed as if it had arrived on the bridge, where the stack would route it. */
    if (sipalg_route_cached(ctx, &p, lp->l3_ifindex, p.ip->daddr, s, SIPALG_TO_WAN, st->route_gen,
                            &r) ||
        !r.have_macs || r.ifindex != cfg->wan_ifindex)
        return XDP_PASS;
    sipalg_pinhole_seen(s, st->now_s);
    sipalg_nat_to_public(&n, p.ip->saddr, p.l4->source, cfg->public_ip, (__u16)public_port);
    sipalg_nat_xdp(&p, &n, &r);
    sipalg_count(SIPALG_CTR_MEDIA_OUT);
    sipalg_count(SIPALG_CTR_XDP_OUT);
    return (int)bpf_redirect(r.ifindex, 0);
}

/* Thin wrapper: see sipalg_wan_xdp.bpf.c. */
SEC("xdp")
int sipalg_lan_port_xdp(struct xdp_md *ctx) {
    return lan_port_xdp_main(ctx);
}
