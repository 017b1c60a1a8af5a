/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The last step of a SIP message on either tc program: payload rewrite, header NAT, redirect.
 *
 * Why a separate step: the rewriter's chain of frames (its global function, the scanner's loop
 * callbacks, their nested byte loops) needs ~400 of the 512 bytes of BPF stack, and the
 * programs' main logic needs ~220 on its own. So the main logic runs as a subprogram that
 * returns SIPALG_TC_SIP_FINISH after leaving the message, the NAT and the route in the per-CPU
 * work area, and the program's entry calls this step from its own small frame.
 */
#ifndef SIPALG_SIP_FINISH_BPF_H
#define SIPALG_SIP_FINISH_BPF_H

#include "sip_rewrite.bpf.h"
#include "tc_pass.bpf.h"

/* Not a TC_ACT_* value: "the message is staged, finish it". */
#define SIPALG_TC_SIP_FINISH 0x51f

/* Leaves SIP message `p` (direction `dir`, a constant) for sipalg_sip_finish: what the rewriter
 * needs to know of it, its header NAT `n` (the phone's socket is the source going out, the
 * destination coming in) and its route `r`, with the egress MTU if the route did not give it. */
static __always_inline int sipalg_sip_stage(struct __sk_buff *skb, struct sipalg_sip_scratch *rw,
                                            const struct sipalg_config *cfg,
                                            const struct sipalg_pkt *p, __u32 dir, __u32 fresh,
                                            __u32 public_port, const struct sipalg_nat *n,
                                            const struct sipalg_route *r) {
    struct sipalg_sip_msg *m = &rw->msg;
    const int out = dir == SIPALG_DIR_OUT;

    m->l4_off = p->l4_off;
    m->payload_len = p->payload_len;
    m->mtu = sipalg_route_sip_mtu(skb, p, skb->ingress_ifindex, out ? p->ip->daddr : n->new_ip, r);
    m->dir = (__u8)dir;
    m->fresh = (__u8)fresh;
    m->public_port = (__u16)public_port;
    m->priv_ip = out ? n->old_ip : n->new_ip;
    m->priv_port = out ? n->old_port : n->new_port;
    m->public_ip = cfg->public_ip;
    m->peer_ip = out ? p->ip->daddr : p->ip->saddr;
    m->peer_port = out ? p->l4->dest : p->l4->source;
    rw->nat = *n;
    rw->route = *r;
    return SIPALG_TC_SIP_FINISH;
}

/* Untouched to the stack; messages over an in-kernel limit also to the slow-path daemon (a
 * malformed one would be malformed there too). */
static __always_inline int sipalg_sip_pass(struct __sk_buff *skb, const struct sipalg_state *st,
                                           const struct sipalg_sip_msg *m, __u32 why) {
    if (why == SIPALG_CTR_SIP_MALFORMED)
        return sipalg_pass(why, m->dir);
    return sipalg_pass_slow(skb, st, (enum sipalg_counter)why, m->dir);
}

static __noinline int sipalg_sip_finish(struct __sk_buff *skb) {
    struct sipalg_sip_scratch *rw = sipalg_sip_scratch();
    const struct sipalg_config *cfg = sipalg_cfg();
    struct sipalg_state *st = sipalg_st();
    __u32 reason = SIPALG_CTR_SLOW_TOO_COMPLEX;
    int r;

    if (!rw || !cfg || !st)
        return TC_ACT_OK; /* cannot happen: the main step found them */
    r = sipalg_sip_rewrite(skb, cfg, st, &rw->msg, &reason);
    if (r == SIPALG_RW_SLOW)
        return sipalg_sip_pass(skb, st, &rw->msg, reason);
    if (r == SIPALG_RW_REFUSE || r == SIPALG_RW_PASS) {
        sipalg_count((enum sipalg_counter)reason);
        /* A message a rule stopped leaves no state behind. */
        if (rw->msg.fresh)
            sipalg_binding_undo(st, rw->msg.public_port);
        if (r == SIPALG_RW_REFUSE)
            return TC_ACT_SHOT;
        return sipalg_pass(0, rw->msg.dir);
    }
    if (r == SIPALG_RW_DROP) {
        sipalg_count(SIPALG_CTR_DROPPED);
        return TC_ACT_SHOT;
    }
    sipalg_count(r == SIPALG_RW_REWRITTEN ? SIPALG_CTR_SIP_REWRITTEN : SIPALG_CTR_SIP_UNCHANGED);
    sipalg_count(rw->msg.dir == SIPALG_DIR_OUT ? SIPALG_CTR_SIP_OUT : SIPALG_CTR_SIP_IN);
    if (sipalg_nat_skb(skb, rw->msg.l4_off, &rw->nat, &rw->route)) {
        sipalg_count(SIPALG_CTR_DROPPED);
        return TC_ACT_SHOT;
    }
    return (int)sipalg_redirect_skb(&rw->route);
}

#endif /* SIPALG_SIP_FINISH_BPF_H */
