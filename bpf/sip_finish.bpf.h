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
#include "slow_path.bpf.h"

/* Not a TC_ACT_* value: "the message is staged, finish it". */
#define SIPALG_TC_SIP_FINISH 0x51f

/* Untouched to the stack; messages over an in-kernel limit also to the slow-path daemon (a
 * malformed one would be malformed there too). */
static __always_inline int sipalg_sip_pass(struct __sk_buff *skb, const struct sipalg_state *st,
                                           const struct sipalg_sip_msg *m, __u32 why) {
    if (why == SIPALG_CTR_SIP_MALFORMED)
        sipalg_count(why);
    else
        sipalg_to_slow_path(skb, st, (enum sipalg_counter)why);
    sipalg_count(m->dir == SIPALG_DIR_OUT ? SIPALG_CTR_LAN_PASS : SIPALG_CTR_WAN_IN_PASS);
    return TC_ACT_OK;
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
        sipalg_count(rw->msg.dir == SIPALG_DIR_OUT ? SIPALG_CTR_LAN_PASS : SIPALG_CTR_WAN_IN_PASS);
        return TC_ACT_OK;
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
