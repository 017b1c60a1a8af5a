// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The scale benchmark's BPF object (bench/scale/). It includes the real datapath sources, so
 * sipalg_lan_ingress / sipalg_wan_xdp / sipalg_admin here are the very programs the loader
 * attaches; the benchmark only raises max_entries of sipalg_binds / sipalg_pins before loading
 * (bpf_map__set_max_entries) and fills them from user space.
 *
 * Two kinds of measurement programs:
 *   - scale_lan / scale_xdp: the datapath entry on one packet, restoring the frame after each
 *     run (plain BPF_PROG_TEST_RUN repeat would measure an already-NATed packet after the
 *     first run; bench/lib/frame_restore.bpf.h). The same packet every run: the lookup is
 *     cache-hot, as for a busy flow.
 *   - scale_{pins,binds}_{hit,miss}: SCALE_K lookups per run of uniformly random endpoints of
 *     the populated set (hit: an endpoint that is in the map; miss: one that is not), each
 *     followed by the port-slot read and check the datapath does after the hash lookup
 *     (sipalg_pinhole_out, sipalg_binding_touch). With 1M entries the tables are far larger
 *     than the CPU caches, so this is the cost of a lookup for a packet of a flow that is not
 *     hot in the cache. scale_keys does the same loop without the map lookups (baseline).
 */
#include "sipalg_admin.bpf.c"
#include "sipalg_lan_ingress.bpf.c"
#include "sipalg_wan_xdp.bpf.c"

#include "frame_restore.bpf.h"

#define SCALE_K 8 /* random lookups per program run */

/* Set by user space before a run: the number of populated endpoints (scale_key(0..n-1)). */
__u32 scale_n = 1;
/* Results, read back by user space: hash hits, and a sink for the keys so that the compiler
 * keeps the key computation of the baseline program. */
__u64 scale_hits = 0;
__u64 scale_sink = 0;

/* The i-th populated endpoint: 16 media (or SIP) sockets per phone, phones 192.168.0.0/16.
 * The user-space twin is scale_key() in scale.cpp; miss = 1 gives an odd port, never
 * populated. */
static __always_inline void scale_key(__u32 i, int miss, struct sipalg_endpoint *ep) {
    ep->ip = bpf_htonl(0xc0a80000u | ((i >> 4) & 0xffffu));
    ep->port = bpf_htons((__u16)(20000u + 2u * (i & 15u) + (miss ? 1u : 0u)));
    ep->pad = 0;
}

/* One datapath-style lookup: the forward index, then the port slot it names, checked as the
 * datapath checks it (state and private endpoint). Both value structs start with public_port. */
static __always_inline int scale_lookup(void *map, __u32 kind, const struct sipalg_endpoint *ep,
                                        __u64 *hits) {
    const __u16 *pub = bpf_map_lookup_elem(map, ep);
    struct sipalg_slot *s;

    if (!pub)
        return 0;
    (*hits)++;
    s = sipalg_port_slot(*pub);
    return s && sipalg_slot_is(s, kind, ep->ip, ep->port);
}

static __always_inline int scale_loop(void *map, __u32 kind, int miss, int lookup) {
    __u32 n = scale_n ? scale_n : 1;
    __u64 hits = 0, sink = 0;

    for (int k = 0; k < SCALE_K; k++) {
        struct sipalg_endpoint ep;

        scale_key(bpf_get_prandom_u32() % n, miss, &ep);
        sink += ep.ip ^ ep.port;
        if (lookup)
            sink += scale_lookup(map, kind, &ep, &hits);
    }
    __sync_fetch_and_add(&scale_hits, hits);
    scale_sink += sink;
    return XDP_PASS;
}

SEC("xdp")
int scale_keys(struct xdp_md *ctx) {
    return scale_loop(&sipalg_pins, SIPALG_SLOT_PINHOLE, 0, 0);
}

SEC("xdp")
int scale_pins_hit(struct xdp_md *ctx) {
    return scale_loop(&sipalg_pins, SIPALG_SLOT_PINHOLE, 0, 1);
}

SEC("xdp")
int scale_pins_miss(struct xdp_md *ctx) {
    return scale_loop(&sipalg_pins, SIPALG_SLOT_PINHOLE, 1, 1);
}

SEC("xdp")
int scale_binds_hit(struct xdp_md *ctx) {
    return scale_loop(&sipalg_binds, SIPALG_SLOT_BINDING, 0, 1);
}

SEC("xdp")
int scale_binds_miss(struct xdp_md *ctx) {
    return scale_loop(&sipalg_binds, SIPALG_SLOT_BINDING, 1, 1);
}

/* ---- the datapath entries, restoring the frame after each run (frame_restore.bpf.h) ---- */

BENCH_XDP_WRAPPER(scale_xdp, wan_xdp_main)
/* Baseline of scale_xdp for a packet the program NATs. */
BENCH_XDP_RESTORE_META(scale_xdp_restore_meta)
/* Media and non-SIP packets only (no SIP finish step): what this benchmark sends. */
BENCH_TC_WRAPPER(scale_lan, lan_ingress_main)
BENCH_TC_WRAPPER(scale_tc_restore, bench_tc_ok)
