/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The one way the tc programs let a packet go untouched to the stack: its reason counted (if
 * any), then the pass counter of its direction (LAN ingress: lan_pass, WAN ingress:
 * wan_in_pass), and optionally a hand-over to the slow-path daemon.
 */
#ifndef SIPALG_TC_PASS_BPF_H
#define SIPALG_TC_PASS_BPF_H

#include <linux/pkt_cls.h>

#include "sip_msg.bpf.h"
#include "slow_path.bpf.h"

/* `why`: the counter of the reason, 0 for none; `dir`: enum sipalg_dir of the program. */
static __always_inline int sipalg_pass(__u32 why, __u32 dir) {
    if (why)
        sipalg_count((enum sipalg_counter)why);
    sipalg_count(dir == SIPALG_DIR_OUT ? SIPALG_CTR_LAN_PASS : SIPALG_CTR_WAN_IN_PASS);
    return TC_ACT_OK;
}

/* Untouched to the stack, and to the slow-path daemon if one is attached. */
static __always_inline int sipalg_pass_slow(struct __sk_buff *skb, const struct sipalg_state *st,
                                            enum sipalg_counter why, __u32 dir) {
    sipalg_to_slow_path(skb, st, why);
    return sipalg_pass(0, dir);
}

#endif /* SIPALG_TC_PASS_BPF_H */
