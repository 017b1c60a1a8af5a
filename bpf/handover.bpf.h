/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Handing the ALG's flows back to plain NAT when it is disabled.
 *
 * While enabled, the flows the ALG owns bypass netfilter, so conntrack never hears of them.
 * After `sipalg disable`, plain NAT takes them over as soon as the phone's next outbound
 * packet creates a masquerade mapping — port-preserving, so the public port the peer already
 * uses stays valid. But if an inbound packet of the flow arrives first, the stack sees a
 * packet for the router itself: conntrack confirms a local flow on that public port, the
 * phone's next packet then clashes with it and masquerade picks another port, and the call
 * loses its inbound audio for as long as the ALG stays off.
 *
 * So, while disabled, an inbound packet to a port the ALG still owns (a binding, or a
 * pinhole from its scoped remote) that conntrack does not know yet is dropped and counted
 * (`held_while_off`); it is never modified. Once conntrack knows the flow the packets pass
 * as plain NAT would pass them. A port the ALG never owned — everything, if it was never
 * enabled — is not looked at.
 */
#ifndef SIPALG_HANDOVER_BPF_H
#define SIPALG_HANDOVER_BPF_H

#include "pinhole.bpf.h"
#include "pkt.bpf.h"

/* The kernel's conntrack kfuncs (net/netfilter/nf_conntrack_bpf.c). Only pointers to
 * struct nf_conn are handled, but it must be a struct, not a forward declaration: libbpf
 * (1.1) checks the kfunc prototypes against the kernel's BTF kind by kind. */
struct nf_conn {
    __u64 opaque;
};
struct bpf_ct_opts {
    __s32 netns_id;
    __s32 error;
    __u8 l4proto;
    __u8 dir;
    __u16 ct_zone_id;
    __u8 ct_zone_dir;
    __u8 reserved[3];
};
extern struct nf_conn *bpf_skb_ct_lookup(struct __sk_buff *skb, struct bpf_sock_tuple *tuple,
                                         __u32 tuple_sz, struct bpf_ct_opts *opts,
                                         __u32 opts_sz) __ksym;
extern void bpf_ct_release(struct nf_conn *ct) __ksym;

#ifndef BPF_F_CURRENT_NETNS
#define BPF_F_CURRENT_NETNS (-1)
#endif

static __always_inline int sipalg_conntrack_knows(struct __sk_buff *skb,
                                                  const struct sipalg_pkt *p) {
    struct bpf_ct_opts opts = {.netns_id = BPF_F_CURRENT_NETNS, .l4proto = IPPROTO_UDP};
    struct bpf_sock_tuple t = {};
    struct nf_conn *ct;

    t.ipv4.saddr = p->ip->saddr;
    t.ipv4.daddr = p->ip->daddr;
    t.ipv4.sport = p->l4->source;
    t.ipv4.dport = p->l4->dest;
    ct = bpf_skb_ct_lookup(skb, &t, sizeof(t.ipv4), &opts, sizeof(opts));
    if (!ct)
        return 0;
    bpf_ct_release(ct);
    return 1;
}

/* 1 if the disabled ALG must hold (drop) this inbound packet, see above. */
static __always_inline int sipalg_hold_while_off(struct __sk_buff *skb,
                                                 const struct sipalg_config *cfg,
                                                 const struct sipalg_pkt *p) {
    struct sipalg_slot *s;

    if (p->proto != IPPROTO_UDP || !p->l4 || p->ip->daddr != cfg->public_ip)
        return 0;
    s = sipalg_port_slot(bpf_ntohs(p->l4->dest));
    if (!s)
        return 0;
    if (s->state == SIPALG_SLOT_PINHOLE) {
        if (sipalg_pinhole_admits(s, p->ip->saddr, p->l4->source) != SIPALG_ADMIT_OK)
            return 0;
    } else if (s->state != SIPALG_SLOT_BINDING) {
        return 0;
    }
    return !sipalg_conntrack_knows(skb, p);
}

#endif /* SIPALG_HANDOVER_BPF_H */
