// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * WAN ingress (tc clsact), right after the WAN XDP program. The inbound fast path:
 *   - media the XDP program has already NATed (XDP metadata, see xdp_meta.bpf.h): redirect it
 *     to the LAN interface; XDP cannot transmit into a bridge, tc can;
 *   - SIP to a binding's public port: rewrite the payload (integration point), DNAT to the
 *     phone, route and redirect. SIP is done here rather than in XDP because the rewrite
 *     resizes the packet and needs the skb checksum helpers, and SIP rates are tiny;
 *   - media to a pinhole that XDP did not handle (no XDP, or no metadata support): the same
 *     checks and NAT as XDP, so the result never depends on which hook did it.
 * A packet to a pinhole from a source outside its scope, or to a port the ALG does not own,
 * passes to the stack untouched: conntrack/firewall decide (for new flows: dropped).
 * While disabled, nothing is modified; see handover.bpf.h for the packets held back then.
 * All inbound reason counters are kept here; the XDP program only accelerates.
 */
#include "handover.bpf.h"
#include "media_in.bpf.h"
#include "sip_finish.bpf.h"
#include "xdp_meta.bpf.h"

/* Packets XDP has NATed carry its metadata: only the redirect is left to do. */
static __always_inline int from_xdp(struct __sk_buff *skb, int *verdict) {
    struct sipalg_xdp_meta *meta = (void *)(long)skb->data_meta;
    struct bpf_redir_neigh nh = {.nh_family = AF_INET};

    if ((void *)(meta + 1) > (void *)(long)skb->data || meta->magic != SIPALG_META_MAGIC)
        return 0;
    sipalg_count(SIPALG_CTR_MEDIA_IN);
    if (meta->flags & SIPALG_META_MACS) {
        *verdict = (int)bpf_redirect(meta->ifindex, 0);
    } else {
        nh.ipv4_nh = meta->nh;
        *verdict = (int)bpf_redirect_neigh(meta->ifindex, &nh, sizeof(nh), 0);
    }
    return 1;
}

/* SIP to the phone: its route, owned only if that does not lead back out of the WAN. */
static __always_inline int wan_route(struct __sk_buff *skb, const struct sipalg_config *cfg,
                                     const struct sipalg_pkt *p, __be32 dst,
                                     struct sipalg_route *r) {
    int why;

    if (p->ip->ttl <= 1)
        return SIPALG_CTR_TTL_EXCEEDED;
    why = sipalg_route(skb, p, skb->ingress_ifindex, dst, r);
    if (why)
        return why;
    return r->ifindex == cfg->wan_ifindex ? SIPALG_CTR_NO_ROUTE : 0;
}

static __always_inline int media_in(struct __sk_buff *skb, const struct sipalg_config *cfg,
                                    struct sipalg_state *st, const struct sipalg_pkt *p,
                                    struct sipalg_slot *s) {
    struct sipalg_media_verdict v;

    if (sipalg_media_in_decide(skb, cfg, st, p, skb->ingress_ifindex, s, 0, &v))
        return sipalg_pass(v.why, SIPALG_DIR_IN);
    sipalg_pinhole_seen(s, st->now_s);
    sipalg_count(SIPALG_CTR_MEDIA_IN);
    if (sipalg_nat_skb(skb, p->l4_off, &v.nat, &v.route)) {
        sipalg_count(SIPALG_CTR_DROPPED);
        return TC_ACT_SHOT;
    }
    return (int)sipalg_redirect_skb(&v.route);
}

static __always_inline int stage_sip_in(struct __sk_buff *skb, const struct sipalg_config *cfg,
                                        struct sipalg_state *st, const struct sipalg_pkt *p,
                                        const struct sipalg_slot *s, __u32 public_port) {
    struct sipalg_sip_scratch *rw = sipalg_sip_scratch();
    struct sipalg_route r;
    struct sipalg_nat n;
    int why;

    if (!rw)
        return sipalg_pass(0, SIPALG_DIR_IN);
    if (p->payload_len > SIPALG_KERNEL_SIP_MAX)
        return sipalg_pass_slow(skb, st, SIPALG_CTR_SLOW_TOO_LARGE, SIPALG_DIR_IN);
    sipalg_nat_to_phone(&n, p->ip->daddr, p->l4->dest, s->priv_ip, s->priv_port);
    why = wan_route(skb, cfg, p, n.new_ip, &r);
    if (why == SIPALG_CTR_SLOW_MTU) /* whole, but over the LAN's MTU: the daemon fragments */
        return sipalg_pass_slow(skb, st, why, SIPALG_DIR_IN);
    if (why)
        return sipalg_pass(why, SIPALG_DIR_IN);
    return sipalg_sip_stage(skb, rw, cfg, p, SIPALG_DIR_IN, 0, public_port, &n, &r);
}

/* Disabled: nothing is modified, some packets are held (handover.bpf.h). A subprogram of its
 * own, so the disabled path adds no state to the enabled one's verification. */
static __noinline int wan_off(struct __sk_buff *skb, const struct sipalg_config *cfg) {
    struct sipalg_pkt p;

    if (!skb || !cfg)
        return TC_ACT_OK;
    if (sipalg_parse_skb(skb, &p) == SIPALG_P_OK && sipalg_hold_while_off(skb, cfg, &p)) {
        sipalg_count(SIPALG_CTR_HELD_OFF);
        return TC_ACT_SHOT;
    }
    return sipalg_pass(0, SIPALG_DIR_IN);
}

/* A subprogram, not inlined: see sip_finish.bpf.h. */
static __noinline int wan_ingress_main(struct __sk_buff *skb) {
    const struct sipalg_config *cfg;
    struct sipalg_state *st;
    struct sipalg_slot *s;
    struct sipalg_pkt p;
    __u32 port;
    int rc, verdict = TC_ACT_OK;

    sipalg_count(SIPALG_CTR_WAN_IN_SEEN);
    if (from_xdp(skb, &verdict))
        return verdict;
    cfg = sipalg_cfg();
    st = sipalg_st();
    if (!cfg || !cfg->public_ip || !st)
        return sipalg_pass(0, SIPALG_DIR_IN);
    if (!cfg->enabled)
        return wan_off(skb, cfg);
    rc = sipalg_parse_skb(skb, &p);
    if (rc == SIPALG_P_MALFORMED)
        return sipalg_pass(SIPALG_CTR_MALFORMED, SIPALG_DIR_IN);
    if (rc != SIPALG_P_OK || p.ip->daddr != cfg->public_ip || !p.l4)
        return sipalg_pass(0, SIPALG_DIR_IN);
    port = bpf_ntohs(p.l4->dest);
    if (p.proto == IPPROTO_TCP) {
        if (sipalg_is_sip_port(cfg, p.l4->dest))
            return sipalg_pass(SIPALG_CTR_SLOW_TCP, SIPALG_DIR_IN);
        return sipalg_pass(0, SIPALG_DIR_IN);
    }
    if (p.proto != IPPROTO_UDP)
        return sipalg_pass(0, SIPALG_DIR_IN);
    s = sipalg_port_slot(port);
    if (!s || (s->state != SIPALG_SLOT_BINDING && s->state != SIPALG_SLOT_PINHOLE))
        return sipalg_pass(0, SIPALG_DIR_IN);
    if (p.frag == SIPALG_FRAG_FIRST) {
        if (s->state != SIPALG_SLOT_BINDING) /* media: no slow path, just counted */
            return sipalg_pass(SIPALG_CTR_SLOW_FRAGMENT, SIPALG_DIR_IN);
        return sipalg_pass_slow(skb, st, SIPALG_CTR_SLOW_FRAGMENT, SIPALG_DIR_IN);
    }
    if (s->state == SIPALG_SLOT_PINHOLE)
        return media_in(skb, cfg, st, &p, s);
    return stage_sip_in(skb, cfg, st, &p, s, port);
}

/* Thin wrapper: see sipalg_wan_xdp.bpf.c. */
SEC("tc")
int sipalg_wan_ingress(struct __sk_buff *skb) {
    int rc = wan_ingress_main(skb);

    return rc == SIPALG_TC_SIP_FINISH ? sipalg_sip_finish(skb) : rc;
}
