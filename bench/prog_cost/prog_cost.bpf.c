// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Benchmark wrappers around the datapath programs. BPF_PROG_TEST_RUN with repeat=N runs a
 * program N times on the SAME buffer: after the first run a NATed packet is no longer the
 * packet being measured. Each wrapper saves the frame's headers, runs the real program body
 * (the very code the loader attaches: the sources are included), and puts the headers (and the
 * XDP metadata area) back. The *_restore programs do only the save/restore, so their cost can
 * be subtracted.
 */
#include "sipalg_admin.bpf.c"
#include "sipalg_lan_ingress.bpf.c"
#include "sipalg_lan_port_xdp.bpf.c"
#include "sipalg_wan_ingress.bpf.c"
#include "sipalg_wan_xdp.bpf.c"

#define BENCH_HDR 48 /* Ethernet + IPv4 + UDP + a little: everything NAT touches */
#define BENCH_FRAME 2048u

/* A SIP message the rewriter changed (payload and length) needs the whole frame put back. */
struct bench_frame {
    __u8 b[BENCH_FRAME];
};

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct bench_frame);
} bench_frames SEC(".maps");

/* Runs the SIP finishing step (as the program entry does) on a copy-restored frame. */
static __always_inline int bench_sip_finish(struct __sk_buff *skb) {
    __u32 key = 0, len = skb->len;
    struct bench_frame *f = bpf_map_lookup_elem(&bench_frames, &key);
    int rc;

    if (!f || len > BENCH_FRAME || len < BENCH_HDR || bpf_skb_load_bytes(skb, 0, f->b, len))
        return TC_ACT_SHOT;
    rc = sipalg_sip_finish(skb);
    if (bpf_skb_change_tail(skb, len, 0) || bpf_skb_store_bytes(skb, 0, f->b, len, 0))
        return TC_ACT_SHOT;
    return rc;
}

static __always_inline int xdp_save(struct xdp_md *ctx, __u64 *save) {
    void *data = (void *)(long)ctx->data;

    if (data + BENCH_HDR > (void *)(long)ctx->data_end)
        return -1;
    __builtin_memcpy(save, data, BENCH_HDR);
    return 0;
}

static __always_inline int xdp_restore(struct xdp_md *ctx, const __u64 *save) {
    void *data;

    if (ctx->data_meta < ctx->data)
        bpf_xdp_adjust_meta(ctx, (int)(ctx->data - ctx->data_meta));
    data = (void *)(long)ctx->data;
    if (data + BENCH_HDR > (void *)(long)ctx->data_end)
        return -1;
    __builtin_memcpy(data, save, BENCH_HDR);
    return 0;
}

SEC("xdp")
int bench_xdp(struct xdp_md *ctx) {
    __u64 save[BENCH_HDR / 8];
    int rc;

    if (xdp_save(ctx, save))
        return XDP_ABORTED;
    rc = wan_xdp_main(ctx);
    return xdp_restore(ctx, save) ? XDP_ABORTED : rc;
}

SEC("xdp")
int bench_lan_xdp(struct xdp_md *ctx) {
    __u64 save[BENCH_HDR / 8];
    int rc;

    if (xdp_save(ctx, save))
        return XDP_ABORTED;
    rc = lan_port_xdp_main(ctx);
    return xdp_restore(ctx, save) ? XDP_ABORTED : rc;
}

SEC("xdp")
int bench_xdp_restore(struct xdp_md *ctx) {
    __u64 save[BENCH_HDR / 8];

    if (xdp_save(ctx, save))
        return XDP_ABORTED;
    return xdp_restore(ctx, save) ? XDP_ABORTED : XDP_PASS;
}

/* For cases where the program adds metadata: taking it off again is the wrapper's cost. */
SEC("xdp")
int bench_xdp_restore_meta(struct xdp_md *ctx) {
    __u64 save[BENCH_HDR / 8];

    if (xdp_save(ctx, save) || bpf_xdp_adjust_meta(ctx, -16))
        return XDP_ABORTED;
    return xdp_restore(ctx, save) ? XDP_ABORTED : XDP_PASS;
}

SEC("tc")
int bench_lan(struct __sk_buff *skb) {
    __u64 save[BENCH_HDR / 8];
    int rc;

    if (bpf_skb_load_bytes(skb, 0, save, BENCH_HDR))
        return TC_ACT_SHOT;
    rc = lan_ingress_main(skb);
    if (rc == SIPALG_TC_SIP_FINISH) /* as the program's entry does */
        rc = bench_sip_finish(skb);
    bpf_skb_store_bytes(skb, 0, save, BENCH_HDR, 0);
    return rc;
}

SEC("tc")
int bench_wan_in(struct __sk_buff *skb) {
    __u64 save[BENCH_HDR / 8];
    int rc;

    if (bpf_skb_load_bytes(skb, 0, save, BENCH_HDR))
        return TC_ACT_SHOT;
    rc = wan_ingress_main(skb);
    if (rc == SIPALG_TC_SIP_FINISH) /* as the program's entry does */
        rc = bench_sip_finish(skb);
    bpf_skb_store_bytes(skb, 0, save, BENCH_HDR, 0);
    return rc;
}

SEC("tc")
int bench_tc_restore(struct __sk_buff *skb) {
    __u64 save[BENCH_HDR / 8];

    if (bpf_skb_load_bytes(skb, 0, save, BENCH_HDR))
        return TC_ACT_SHOT;
    bpf_skb_store_bytes(skb, 0, save, BENCH_HDR, 0);
    return TC_ACT_OK;
}
