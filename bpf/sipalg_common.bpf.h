/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Helpers shared by the sipalg BPF programs. BPF side only. */
#ifndef SIPALG_COMMON_BPF_H
#define SIPALG_COMMON_BPF_H

#include <linux/if_ether.h>
#include <linux/in.h>
#include <bpf/bpf_endian.h>

#include "sipalg_maps.bpf.h"

/* Every program source includes this header, and bpftool gen object links them into one
 * object: weak, so the identical copies merge instead of clashing. GPL-compatible because the
 * libxdp dispatcher we attach to via freplace is GPL (and bpf_timer/fib helpers are GPL-only). */
char LICENSE[] SEC("license") __weak = "Dual BSD/GPL";

#ifndef AF_INET
#define AF_INET 2
#endif

/* Per-CPU counters: no atomics needed, the loader sums over CPUs. */
static __always_inline void sipalg_count(enum sipalg_counter ctr) {
    __u32 key = ctr;
    __u64 *val = bpf_map_lookup_elem(&sipalg_counters, &key);

    if (val)
        *val += 1;
}

/* The config, or NULL (cannot happen for an ARRAY map, but the verifier needs the check). */
static __always_inline const struct sipalg_config *sipalg_cfg(void) {
    __u32 key = SIPALG_CONFIG_KEY;

    return bpf_map_lookup_elem(&sipalg_config, &key);
}

/* A missing config entry is treated as "disabled", the safe default. */
static __always_inline int sipalg_enabled(void) {
    const struct sipalg_config *cfg = sipalg_cfg();

    return cfg && cfg->enabled;
}

static __always_inline const struct sipalg_limits *sipalg_lim(void) {
    __u32 key = SIPALG_LIMITS_KEY;

    return bpf_map_lookup_elem(&sipalg_limits, &key);
}

/* The daemon's WAN failover redirect is in force (struct sipalg_failover). */
static __always_inline int sipalg_failover_active(void) {
    __u32 key = SIPALG_FAILOVER_KEY;
    const struct sipalg_failover *f = bpf_map_lookup_elem(&sipalg_failover, &key);

    return f && f->active;
}

/* Is an optional behaviour (SIPALG_POLICY_*) switched on? */
static __always_inline int sipalg_policy_on(__u32 bit) {
    const struct sipalg_limits *lim = sipalg_lim();

    return lim && (lim->policy & bit);
}

static __always_inline int sipalg_local_media_on(void) {
    return sipalg_policy_on(SIPALG_POLICY_LOCAL_MEDIA);
}

static __always_inline struct sipalg_state *sipalg_st(void) {
    __u32 key = SIPALG_STATE_KEY;

    return bpf_map_lookup_elem(&sipalg_state, &key);
}

/* The ALG clock in seconds (see struct sipalg_state): advanced by the aging timer. */
static __always_inline __u32 sipalg_now(void) {
    const struct sipalg_state *st = sipalg_st();

    return st ? st->now_s : 0;
}

static __always_inline struct sipalg_slot *sipalg_port_slot(__u32 public_port) {
    __u32 key = public_port & (SIPALG_SLOTS_ENTRIES - 1);

    return bpf_map_lookup_elem(&sipalg_slots, &key);
}

/* Is `ip` inside one of the n prefixes net[i]/plen[i] (network order, already masked; plen 0
 * marks an unused slot)? n is a constant: the loop unrolls. */
static __always_inline int sipalg_in_prefixes(const __be32 *net, const __u8 *plen, int n,
                                              __be32 ip) {
    int hit = 0;

#pragma unroll
    for (int i = 0; i < n; i++) {
        __u32 len = plen[i];
        __u32 mask = len >= 32 ? 0xffffffffu : ~(0xffffffffu >> len);

        if (len && (ip & bpf_htonl(mask)) == net[i])
            hit = 1;
    }
    return hit;
}

/* Is `ip` (network order) inside one of the configured LAN prefixes? */
static __always_inline int sipalg_is_lan(const struct sipalg_config *cfg, __be32 ip) {
    return sipalg_in_prefixes(cfg->lan_net, cfg->lan_plen, SIPALG_MAX_LAN_PREFIXES, ip);
}

/* Is `port` (network order) one of the configured SIP ports? */
static __always_inline int sipalg_is_sip_port(const struct sipalg_config *cfg, __be16 port) {
    __u16 p = bpf_ntohs(port);

    return p && (p == cfg->sip_port[0] || p == cfg->sip_port[1]);
}

#endif /* SIPALG_COMMON_BPF_H */
