// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * WAN ingress (XDP). Later issues make this the inbound fast path: DNAT of SIP and media to the
 * right phone and rewriting of inbound SIP. At this stage it only proves the plumbing: it reads
 * the enable flag, counts, and passes every packet to the stack unmodified.
 *
 * Attached through libxdp's dispatcher, so it coexists with other XDP programs. It uses the
 * libxdp defaults (run priority 50, continue the chain on XDP_PASS): the ALG does not drop.
 */
#include "sipalg_common.bpf.h"

SEC("xdp")
int sipalg_xdp(struct xdp_md *ctx) {
    (void)ctx;
    sipalg_count(SIPALG_CTR_XDP_SEEN);
    if (!sipalg_enabled())
        sipalg_count(SIPALG_CTR_XDP_ALG_OFF);

    /* Enabled or not, nothing is rewritten yet. */
    sipalg_count(SIPALG_CTR_XDP_PASS);
    return XDP_PASS;
}
