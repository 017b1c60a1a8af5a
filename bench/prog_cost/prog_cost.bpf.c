// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Benchmark wrappers around the datapath programs, restoring the frame after each run (see
 * bench/lib/frame_restore.bpf.h); the *_restore programs do only the save/restore, so their
 * cost can be subtracted.
 */
#include "sipalg_admin.bpf.c"
#include "sipalg_lan_ingress.bpf.c"
#include "sipalg_lan_port_xdp.bpf.c"
#include "sipalg_wan_ingress.bpf.c"
#include "sipalg_wan_xdp.bpf.c"

#include "frame_restore.bpf.h"

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

/* The tc program bodies, with the SIP finishing step as the program's entry runs it. */
static __always_inline int bench_finish(struct __sk_buff *skb, int rc) {
    return rc == SIPALG_TC_SIP_FINISH ? bench_sip_finish(skb) : rc;
}

static __always_inline int bench_lan_main(struct __sk_buff *skb) {
    return bench_finish(skb, lan_ingress_main(skb));
}

static __always_inline int bench_wan_in_main(struct __sk_buff *skb) {
    return bench_finish(skb, wan_ingress_main(skb));
}

BENCH_XDP_WRAPPER(bench_xdp, wan_xdp_main)
BENCH_XDP_WRAPPER(bench_lan_xdp, lan_port_xdp_main)
BENCH_XDP_WRAPPER(bench_xdp_restore, bench_xdp_pass)
BENCH_XDP_RESTORE_META(bench_xdp_restore_meta)
BENCH_TC_WRAPPER(bench_lan, bench_lan_main)
BENCH_TC_WRAPPER(bench_wan_in, bench_wan_in_main)
BENCH_TC_WRAPPER(bench_tc_restore, bench_tc_ok)
