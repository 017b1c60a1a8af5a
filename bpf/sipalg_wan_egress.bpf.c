// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * WAN egress (tc clsact): never modifies a packet. While the ALG is enabled it counts SIP that
 * leaves the WAN without having been NATed by the ALG (the N14 guard: such a message went
 * through the stack, e.g. SIP over TCP or a message too large for the kernel, so its payload
 * may still carry private LAN addresses). The ALG's own SIP leaves with the public address as
 * source and a binding's port, which is how it is told apart.
 */
#include <linux/pkt_cls.h>

#include "pkt.bpf.h"

static __always_inline int alg_sent(const struct sipalg_config *cfg, const struct sipalg_pkt *p) {
    const struct sipalg_slot *s;

    /* UDP from the fast path or the daemon, TCP from the daemon's proxy: both leave from a
     * binding's port. */
    if (p->ip->saddr != cfg->public_ip)
        return 0;
    s = sipalg_port_slot(bpf_ntohs(p->l4->source));
    return s && s->state == SIPALG_SLOT_BINDING;
}

SEC("tc")
int sipalg_wan_egress(struct __sk_buff *skb) {
    const struct sipalg_config *cfg = sipalg_cfg();
    struct sipalg_pkt p;

    sipalg_count(SIPALG_CTR_TC_SEEN);
    if (!cfg || !cfg->enabled) {
        sipalg_count(SIPALG_CTR_TC_ALG_OFF);
    } else if (sipalg_parse_skb(skb, &p) == SIPALG_P_OK && p.l4 &&
               (p.proto == IPPROTO_UDP || p.proto == IPPROTO_TCP) &&
               (sipalg_is_sip_port(cfg, p.l4->dest) || sipalg_is_sip_port(cfg, p.l4->source)) &&
               !alg_sent(cfg, &p)) {
        sipalg_count(SIPALG_CTR_WAN_SIP_UNOWNED);
    }
    sipalg_count(SIPALG_CTR_TC_PASS);
    return TC_ACT_OK;
}
