// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * LAN ingress (tc clsact, on each interface facing the LAN; on a bridge, the bridge device
 * itself: its ingress sees exactly the frames the bridge passes up to be routed). The outbound
 * fast path:
 *   - SIP from a LAN phone (UDP to a SIP port, or from a socket that has a binding): create or
 *     refresh the phone's binding, rewrite the payload (integration point), SNAT to the public
 *     address and the binding's port;
 *   - RTP/RTCP from a phone's media socket that has a pinhole: SNAT to the pinhole's port;
 *     to the router's own public address, hairpinned back into the LAN (media_hairpin);
 * then route (FIB lookup) and redirect straight out of the WAN interface. Netfilter never sees
 * these packets: no double NAT by the masquerade rule, no drop by the forward firewall.
 * Everything else passes to the stack untouched (plain NAT router).
 */
#include "media_in.bpf.h"
#include "nat.bpf.h"
#include "sip_finish.bpf.h"

/* Route the packet as the stack would; owned only if it leaves by the WAN interface. Media
 * (`pin` set) uses the pinhole's route cache. */
static __always_inline int lan_route(struct __sk_buff *skb, const struct sipalg_config *cfg,
                                     const struct sipalg_state *st, const struct sipalg_pkt *p,
                                     struct sipalg_slot *pin, struct sipalg_route *r) {
    int why;

    if (p->ip->ttl <= 1)
        return SIPALG_CTR_TTL_EXCEEDED;
    if (pin)
        why = sipalg_route_cached(skb, p, skb->ingress_ifindex, p->ip->daddr, pin, SIPALG_TO_WAN,
                                  st->route_gen, r);
    else
        why = sipalg_route(skb, p, skb->ingress_ifindex, p->ip->daddr, r);
    if (why)
        return why;
    return r->ifindex == cfg->wan_ifindex ? 0 : SIPALG_CTR_NO_ROUTE;
}

static __always_inline int lan_forward(struct __sk_buff *skb, const struct sipalg_pkt *p,
                                       const struct sipalg_nat *n, const struct sipalg_route *r) {
    if (sipalg_nat_skb(skb, p->l4_off, n, r)) {
        sipalg_count(SIPALG_CTR_DROPPED);
        return TC_ACT_SHOT;
    }
    return (int)sipalg_redirect_skb(r);
}

/*
 * Media from a pinholed LAN socket (slot `from`, public port `public_port`) to the router's own
 * public address: a phone calling another phone behind this router through an outside server
 * (RFC 4787 REQ-9, hairpinning). The slot at the destination port takes it exactly as it would
 * from the Internet from the sender's public address and port: a pinhole whose scope admits
 * that, or nothing (the packet goes to the stack, as without the ALG). Both NATs, so the
 * receiver sees the address its SDP named, and back into the LAN. State is never created here.
 */
static __always_inline int media_hairpin(struct __sk_buff *skb, const struct sipalg_config *cfg,
                                         struct sipalg_state *st, const struct sipalg_pkt *p,
                                         struct sipalg_slot *from, __u32 public_port) {
    struct sipalg_slot *to = sipalg_port_slot(bpf_ntohs(p->l4->dest));
    struct sipalg_media_verdict v;
    struct sipalg_nat n;

    if (!to || to->state != SIPALG_SLOT_PINHOLE)
        return sipalg_pass(0, SIPALG_DIR_OUT);
    if (sipalg_media_in_decide_from(skb, cfg, st, p, cfg->public_ip, bpf_htons((__u16)public_port),
                                    skb->ingress_ifindex, to, 0, &v))
        return sipalg_pass(v.why, SIPALG_DIR_OUT);
    sipalg_pinhole_seen(from, st->now_s);
    sipalg_pinhole_seen(to, st->now_s);
    sipalg_nat_to_public(&n, p->ip->saddr, p->l4->source, cfg->public_ip, (__u16)public_port);
    sipalg_count(SIPALG_CTR_MEDIA_HAIRPIN);
    if (sipalg_nat_skb2(skb, p->l4_off, &n, &v.nat, &v.route)) {
        sipalg_count(SIPALG_CTR_DROPPED);
        return TC_ACT_SHOT;
    }
    return (int)sipalg_redirect_skb(&v.route);
}

static __always_inline int media_out(struct __sk_buff *skb, const struct sipalg_config *cfg,
                                     struct sipalg_state *st, const struct sipalg_pkt *p,
                                     struct sipalg_slot *s, __u32 public_port) {
    struct sipalg_route r;
    struct sipalg_nat n;
    int why;

    if (p->ip->daddr == cfg->public_ip)
        return media_hairpin(skb, cfg, st, p, s, public_port);
    why = lan_route(skb, cfg, st, p, s, &r);
    if (why)
        return sipalg_pass(why, SIPALG_DIR_OUT);
    sipalg_pinhole_seen(s, st->now_s);
    sipalg_nat_to_public(&n, p->ip->saddr, p->l4->source, cfg->public_ip, (__u16)public_port);
    sipalg_count(SIPALG_CTR_MEDIA_OUT);
    return lan_forward(skb, p, &n, &r);
}

/* "REGISTER " at the start of the payload: the binding then lives as long as a registration. */
static __always_inline int is_register(struct __sk_buff *skb, const struct sipalg_pkt *p) {
    char m[9];

    if (p->payload_len < sizeof(m) ||
        bpf_skb_load_bytes(skb, p->l4_off + sizeof(struct udphdr), m, sizeof(m)))
        return 0;
    return m[0] == 'R' && m[1] == 'E' && m[2] == 'G' && m[3] == 'I' && m[4] == 'S' && m[5] == 'T' &&
           m[6] == 'E' && m[7] == 'R' && m[8] == ' ';
}

static __always_inline int stage_sip_out(struct __sk_buff *skb, const struct sipalg_config *cfg,
                                         struct sipalg_state *st, const struct sipalg_pkt *p,
                                         const struct sipalg_endpoint *ep) {
    struct sipalg_sip_scratch *rw = sipalg_sip_scratch();
    struct sipalg_route r;
    struct sipalg_nat n;
    __u32 public_port;
    int why, fresh = 0;

    if (!rw)
        return sipalg_pass(0, SIPALG_DIR_OUT);
    /* The WAN is down and the failover policy redirects the phones' requests to the internal
     * SIP server: that redirect is the daemon's nftables DNAT, so the stack must see them. */
    if (sipalg_failover_active() && sipalg_is_sip_port(cfg, p->l4->dest))
        return sipalg_pass(SIPALG_CTR_FAILOVER_PASSED, SIPALG_DIR_OUT);
    if (p->payload_len > SIPALG_KERNEL_SIP_MAX)
        return sipalg_pass_slow(skb, st, SIPALG_CTR_SLOW_TOO_LARGE, SIPALG_DIR_OUT);
    why = lan_route(skb, cfg, st, p, NULL, &r);
    if (why == SIPALG_CTR_SLOW_MTU) /* whole, but over the egress MTU: the daemon fragments */
        return sipalg_pass_slow(skb, st, why, SIPALG_DIR_OUT);
    if (why)
        return sipalg_pass(why, SIPALG_DIR_OUT);
    public_port = sipalg_binding_touch(cfg, st, ep, is_register(skb, p), &fresh);
    if (!public_port)
        return sipalg_pass(0, SIPALG_DIR_OUT);

    sipalg_nat_to_public(&n, ep->ip, ep->port, cfg->public_ip, (__u16)public_port);
    return sipalg_sip_stage(skb, rw, cfg, p, SIPALG_DIR_OUT, (__u32)fresh, public_port, &n, &r);
}

/* A subprogram, not inlined: see sip_finish.bpf.h. */
static __noinline int lan_ingress_main(struct __sk_buff *skb) {
    const struct sipalg_config *cfg = sipalg_cfg();
    struct sipalg_endpoint ep = {};
    struct sipalg_state *st;
    struct sipalg_slot *s;
    struct sipalg_pkt p;
    __u32 public_port = 0;
    int rc;

    sipalg_count(SIPALG_CTR_LAN_SEEN);
    if (!cfg || !cfg->enabled)
        return sipalg_pass(SIPALG_CTR_LAN_ALG_OFF, SIPALG_DIR_OUT);
    st = sipalg_st();
    if (!st || !cfg->public_ip)
        return sipalg_pass(0, SIPALG_DIR_OUT);
    rc = sipalg_parse_skb(skb, &p);
    if (rc == SIPALG_P_MALFORMED)
        return sipalg_pass(SIPALG_CTR_MALFORMED, SIPALG_DIR_OUT);
    if (rc != SIPALG_P_OK)
        return sipalg_pass(0, SIPALG_DIR_OUT);
    /* Only traffic from a LAN address to somewhere outside the LAN can be ours. */
    if (!sipalg_is_lan(cfg, p.ip->saddr) || sipalg_is_lan(cfg, p.ip->daddr) || !p.l4)
        return sipalg_pass(0, SIPALG_DIR_OUT);
    if (p.proto == IPPROTO_TCP) {
        /* A phone's connection to a SIP server: the daemon proxies it (loader/slow/tcp_proxy). */
        if (sipalg_is_sip_port(cfg, p.l4->dest))
            return sipalg_pass_slow(skb, st, SIPALG_CTR_SLOW_TCP, SIPALG_DIR_OUT);
        if (sipalg_is_sip_port(cfg, p.l4->source))
            return sipalg_pass(SIPALG_CTR_SLOW_TCP, SIPALG_DIR_OUT);
        return sipalg_pass(0, SIPALG_DIR_OUT);
    }
    if (p.proto != IPPROTO_UDP)
        return sipalg_pass(0, SIPALG_DIR_OUT);

    ep.ip = p.ip->saddr;
    ep.port = p.l4->source;
    if (p.frag == SIPALG_FRAG_FIRST) {
        /* Only the first fragment has the ports; the datagram must be reassembled first. */
        if (sipalg_is_sip_port(cfg, p.l4->dest) || bpf_map_lookup_elem(&sipalg_binds, &ep))
            return sipalg_pass_slow(skb, st, SIPALG_CTR_SLOW_FRAGMENT, SIPALG_DIR_OUT);
        if (bpf_map_lookup_elem(&sipalg_pins, &ep)) /* media: no slow path, just counted */
            return sipalg_pass(SIPALG_CTR_SLOW_FRAGMENT, SIPALG_DIR_OUT);
        return sipalg_pass(0, SIPALG_DIR_OUT);
    }
    s = sipalg_pinhole_out(&ep, &public_port);
    if (s)
        return media_out(skb, cfg, st, &p, s, public_port);
    if (sipalg_is_sip_port(cfg, p.l4->dest) || bpf_map_lookup_elem(&sipalg_binds, &ep))
        return stage_sip_out(skb, cfg, st, &p, &ep);
    return sipalg_pass(0, SIPALG_DIR_OUT);
}

/* Thin wrapper: see sipalg_wan_xdp.bpf.c. */
SEC("tc")
int sipalg_lan_ingress(struct __sk_buff *skb) {
    int rc = lan_ingress_main(skb);

    return rc == SIPALG_TC_SIP_FINISH ? sipalg_sip_finish(skb) : rc;
}
