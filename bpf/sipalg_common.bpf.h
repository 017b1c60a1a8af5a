/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Helpers shared by the sipalg BPF programs. BPF side only. */
#ifndef SIPALG_COMMON_BPF_H
#define SIPALG_COMMON_BPF_H

#include "sipalg_maps.bpf.h"

/* Every program source includes this header, and bpftool gen object links them into one
 * object: weak, so the identical copies merge instead of clashing. GPL-compatible because the
 * libxdp dispatcher we attach to via freplace is GPL. */
char LICENSE[] SEC("license") __weak = "Dual BSD/GPL";

/* Per-CPU counters: no atomics needed, the loader sums over CPUs. */
static __always_inline void sipalg_count(enum sipalg_counter ctr) {
    __u32 key = ctr;
    __u64 *val = bpf_map_lookup_elem(&sipalg_counters, &key);

    if (val)
        *val += 1;
}

/* A missing config entry cannot happen for an ARRAY map, but the verifier needs the NULL check;
 * treat it as "disabled", the safe default. */
static __always_inline int sipalg_enabled(void) {
    __u32 key = SIPALG_CONFIG_KEY;
    const struct sipalg_config *cfg = bpf_map_lookup_elem(&sipalg_config, &key);

    return cfg && cfg->enabled;
}

#endif /* SIPALG_COMMON_BPF_H */
