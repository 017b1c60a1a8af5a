/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* What the occurrence callbacks of both directions get: pointers only (see SIPALG_LOOP). */
#ifndef SIPALG_SIP_RW_CTX_BPF_H
#define SIPALG_SIP_RW_CTX_BPF_H

#include "sip_work.bpf.h"
#include "sipalg/out_rule.h"

struct sipalg_sip_msg;

struct sipalg_rw_ctx {
    struct sipalg_sip_scratch *rw;
    const struct sipalg_config *cfg;
    struct sipalg_state *st;
    const struct sipalg_sip_msg *m;
    struct sipalg_dialog *dlg; /* the message's dialog, or NULL (then no pinholes open) */
};

static __always_inline void sipalg_rw_set(struct sipalg_sip_scratch *rw, struct sipalg_occ *o,
                                          __u32 ip, __u32 port) {
    sipalg_occ_set(o, ip, port);
    rw->n_set++;
}

#endif /* SIPALG_SIP_RW_CTX_BPF_H */
