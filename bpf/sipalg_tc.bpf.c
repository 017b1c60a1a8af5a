// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * WAN egress (tc clsact). Later issues make this the outbound path: SNAT, rewriting of outbound
 * SIP/SDP and pinhole creation. tc rather than XDP because XDP has no egress hook and because
 * rewriting may need to grow or shrink the packet (bpf_skb_change_tail). At this stage it reads
 * the enable flag, counts, and lets every packet go unmodified.
 */
#include <linux/pkt_cls.h>

#include "sipalg_common.bpf.h"

SEC("tc")
int sipalg_tc(struct __sk_buff *skb) {
    (void)skb;
    sipalg_count(SIPALG_CTR_TC_SEEN);
    if (!sipalg_enabled())
        sipalg_count(SIPALG_CTR_TC_ALG_OFF);

    /* Enabled or not, nothing is rewritten yet. */
    sipalg_count(SIPALG_CTR_TC_PASS);
    return TC_ACT_OK;
}
