// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * WAN ingress (XDP): the earliest hook, an accelerator for established media. A UDP packet to
 * a pinhole's public port from the remote it is scoped to is routed (the pinhole's route cache
 * or a FIB lookup) and DNATed to the phone (TTL, checksums, MACs). When the route leads to a
 * LAN port that accepts XDP frames (learned from the phone's outbound media by
 * sipalg_lan_port_xdp.bpf.c), XDP redirects it there itself; otherwise it marks it in the XDP
 * metadata and the WAN tc ingress program only has to redirect it (XDP cannot transmit into a
 * bridge). Everything else, SIP included, passes untouched to the tc program, which owns every
 * other decision and all reason counters. If metadata cannot be added, XDP leaves the packet
 * alone and tc does the whole job: the outcome is the same either way.
 */
#include "media_in.bpf.h"
#include "xdp_meta.bpf.h"

static __always_inline int xdp_pass(void) {
    sipalg_count(SIPALG_CTR_XDP_PASS);
    return XDP_PASS;
}

static __always_inline int wan_xdp_main(struct xdp_md *ctx) {
    const struct sipalg_config *cfg = sipalg_cfg();
    struct sipalg_xdp_meta *meta;
    struct sipalg_media_verdict v;
    struct sipalg_state *st;
    struct sipalg_slot *s;
    struct sipalg_pkt p;
    void *data, *data_end;

    sipalg_count(SIPALG_CTR_XDP_SEEN);
    if (!cfg || !cfg->enabled) {
        sipalg_count(SIPALG_CTR_XDP_ALG_OFF);
        return xdp_pass();
    }
    st = sipalg_st();
    data = (void *)(long)ctx->data;
    data_end = (void *)(long)ctx->data_end;
    if (!st || !cfg->public_ip ||
        sipalg_parse(data, data_end, (__u32)(data_end - data), &p) != SIPALG_P_OK)
        return xdp_pass();
    if (p.ip->daddr != cfg->public_ip || p.proto != IPPROTO_UDP || p.frag != SIPALG_FRAG_NONE ||
        !p.l4)
        return xdp_pass();
    s = sipalg_port_slot(bpf_ntohs(p.l4->dest));
    if (!s || s->state != SIPALG_SLOT_PINHOLE)
        return xdp_pass();
    /* tc counts the reasons (it sees every packet XDP passes); a partial checksum is XDP's own. */
    if (sipalg_media_in_decide(ctx, cfg, st, &p, ctx->ingress_ifindex, s, 1, &v)) {
        if (v.why == SIPALG_CTR_CSUM_PARTIAL)
            sipalg_count(SIPALG_CTR_CSUM_PARTIAL);
        return xdp_pass();
    }
    if (v.route.xdp_xmit && v.route.have_macs) {
        sipalg_nat_xdp(&p, &v.nat, &v.route);
        sipalg_pinhole_seen(s, st->now_s);
        sipalg_count(SIPALG_CTR_MEDIA_IN);
        sipalg_count(SIPALG_CTR_XDP_IN_DIRECT);
        return (int)bpf_redirect(v.route.ifindex, 0);
    }

    /* Room for the metadata first: without it the packet must stay untouched for tc. */
    if (bpf_xdp_adjust_meta(ctx, -(int)sizeof(*meta)))
        return xdp_pass();
    data = (void *)(long)ctx->data;
    data_end = (void *)(long)ctx->data_end;
    meta = (void *)(long)ctx->data_meta;
    if ((void *)(meta + 1) > data)
        return xdp_pass();
    meta->magic = 0;
    if (sipalg_parse(data, data_end, (__u32)(data_end - data), &p) != SIPALG_P_OK || !p.l4)
        return xdp_pass();
    sipalg_nat_xdp(&p, &v.nat, &v.route);
    sipalg_pinhole_seen(s, st->now_s);
    meta->ifindex = v.route.ifindex;
    meta->nh = v.route.nh;
    meta->flags = v.route.have_macs ? SIPALG_META_MACS : 0;
    meta->magic = SIPALG_META_MAGIC;
    sipalg_count(SIPALG_CTR_XDP_FWD);
    return XDP_PASS;
}

/* The program is a thin wrapper so bench/ can include this file and run wan_xdp_main on a packet it
 * restores after each run (BPF_PROG_TEST_RUN repeats on one buffer). */
SEC("xdp")
int sipalg_wan_xdp(struct xdp_md *ctx) {
    return wan_xdp_main(ctx);
}
