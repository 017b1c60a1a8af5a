/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Helpers around the SIP rewriter's per-CPU scratch (sipalg_scratch.bpf.h). */
#ifndef SIPALG_SIP_WORK_BPF_H
#define SIPALG_SIP_WORK_BPF_H

#include "sipalg/sender_rule.h"
#include "sipalg_scratch.bpf.h"

/* Outbound match set: the configured LAN prefixes (host byte order, as the scanner wants), and
 * the special addresses of sipalg/sender_rule.h and the public address, which are only looked
 * at (4 + 3 + 1 = SIPALG_MAX_PREFIXES). */
static __always_inline void sipalg_match_lan(struct sipalg_match *mt,
                                             const struct sipalg_config *cfg) {
#pragma unroll
    for (int i = 0; i < SIPALG_MAX_LAN_PREFIXES; i++)
        if (cfg->lan_plen[i])
            sipalg_match_add(mt, bpf_ntohl(cfg->lan_net[i]), cfg->lan_plen[i]);
    sipalg_match_special(mt);
    sipalg_match_add(mt, bpf_ntohl(cfg->public_ip), 32);
}

#endif /* SIPALG_SIP_WORK_BPF_H */
