/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Frame restoring wrappers for the bench BPF objects. BPF_PROG_TEST_RUN with repeat=N runs a
 * program N times on the SAME buffer: after the first run a NATed packet is no longer the
 * packet being measured. A wrapper saves the frame's headers, runs the real program body (the
 * very code the loader attaches: the bench object includes the datapath sources, before this
 * header) and puts the headers (and the XDP metadata area) back. The restore-only programs do
 * the save/restore alone, so that their cost can be subtracted.
 */
#pragma once

#define BENCH_HDR 48 /* Ethernet + IPv4 + UDP + a little: everything NAT touches */

static __always_inline int bench_xdp_hdr_save(struct xdp_md *ctx, __u64 *save) {
    void *data = (void *)(long)ctx->data;

    if (data + BENCH_HDR > (void *)(long)ctx->data_end)
        return -1;
    __builtin_memcpy(save, data, BENCH_HDR);
    return 0;
}

static __always_inline int bench_xdp_hdr_restore(struct xdp_md *ctx, const __u64 *save) {
    void *data;

    if (ctx->data_meta < ctx->data)
        bpf_xdp_adjust_meta(ctx, (int)(ctx->data - ctx->data_meta));
    data = (void *)(long)ctx->data;
    if (data + BENCH_HDR > (void *)(long)ctx->data_end)
        return -1;
    __builtin_memcpy(data, save, BENCH_HDR);
    return 0;
}

/* The bodies of the restore-only programs. */
static __always_inline int bench_xdp_pass(struct xdp_md *ctx) {
    return XDP_PASS;
}

static __always_inline int bench_tc_ok(struct __sk_buff *skb) {
    return TC_ACT_OK;
}

/* An XDP program NAME running MAIN(ctx) on the frame, then putting the headers back. */
#define BENCH_XDP_WRAPPER(name, main)                                                              \
    SEC("xdp")                                                                                     \
    int name(struct xdp_md *ctx) {                                                                 \
        __u64 save[BENCH_HDR / 8];                                                                 \
        int rc;                                                                                    \
                                                                                                   \
        if (bench_xdp_hdr_save(ctx, save))                                                         \
            return XDP_ABORTED;                                                                    \
        rc = main(ctx);                                                                            \
        return bench_xdp_hdr_restore(ctx, save) ? XDP_ABORTED : rc;                                \
    }

/* The restore-only program for a packet the program NATs: it adds metadata, and taking it off
 * again is the wrapper's cost. */
#define BENCH_XDP_RESTORE_META(name)                                                               \
    SEC("xdp")                                                                                     \
    int name(struct xdp_md *ctx) {                                                                 \
        __u64 save[BENCH_HDR / 8];                                                                 \
                                                                                                   \
        if (bench_xdp_hdr_save(ctx, save) || bpf_xdp_adjust_meta(ctx, -16))                        \
            return XDP_ABORTED;                                                                    \
        return bench_xdp_hdr_restore(ctx, save) ? XDP_ABORTED : XDP_PASS;                          \
    }

/* A tc program NAME running MAIN(skb) on the frame, then putting the headers back. */
#define BENCH_TC_WRAPPER(name, main)                                                               \
    SEC("tc")                                                                                      \
    int name(struct __sk_buff *skb) {                                                              \
        __u64 save[BENCH_HDR / 8];                                                                 \
        int rc;                                                                                    \
                                                                                                   \
        if (bpf_skb_load_bytes(skb, 0, save, BENCH_HDR))                                           \
            return TC_ACT_SHOT;                                                                    \
        rc = main(skb);                                                                            \
        bpf_skb_store_bytes(skb, 0, save, BENCH_HDR, 0);                                           \
        return rc;                                                                                 \
    }
