/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The public port allocator: claiming, publishing and releasing slots of the slots map (see
 * struct sipalg_slot for the state machine). Used by the fast path (bindings), by the aging
 * sweep and by the admin program (pinholes), so every path follows the same rules.
 */
#ifndef SIPALG_PORTS_BPF_H
#define SIPALG_PORTS_BPF_H

#include "sipalg_common.bpf.h"

/* Random probes after the preferred port is taken: with the range 90% full an allocation
 * still fails only 0.9^32 = 3% of the time; the loop stays short for the verifier. */
#define SIPALG_ALLOC_PROBES 32

static __always_inline int sipalg_port_in_range(const struct sipalg_config *cfg, __u32 port) {
    return port && port >= cfg->port_min && port <= cfg->port_max;
}

/* FREE -> CLAIMED, atomically: of two CPUs claiming the same port only one gets it. */
static __always_inline struct sipalg_slot *sipalg_port_claim(__u32 port) {
    struct sipalg_slot *s = sipalg_port_slot(port);

    if (!s || s->state != SIPALG_SLOT_FREE) /* cheap test before the atomic */
        return NULL;
    if (__sync_val_compare_and_swap(&s->state, SIPALG_SLOT_FREE, SIPALG_SLOT_CLAIMED) !=
        SIPALG_SLOT_FREE)
        return NULL;
    return s;
}

/* Claims `want` if it is in the range and free (port preservation), else a random free port
 * of the range. Returns the CLAIMED slot and its port in *got, or NULL. */
static __always_inline struct sipalg_slot *sipalg_port_alloc(const struct sipalg_config *cfg,
                                                             __u32 want, __u32 *got) {
    struct sipalg_slot *s;
    __u32 span;

    if (sipalg_port_in_range(cfg, want)) {
        s = sipalg_port_claim(want);
        if (s) {
            *got = want;
            return s;
        }
    }
    if (!cfg->port_min || cfg->port_max < cfg->port_min)
        return NULL;
    span = (__u32)cfg->port_max - cfg->port_min + 1;
    for (int i = 0; i < SIPALG_ALLOC_PROBES; i++) {
        __u32 port = cfg->port_min + bpf_get_prandom_u32() % span;

        s = sipalg_port_claim(port);
        if (s) {
            *got = port;
            return s;
        }
    }
    return NULL;
}

/* CLAIMED -> kind, once every other field is written (xchg is a full barrier). */
static __always_inline void sipalg_slot_publish(struct sipalg_slot *s, __u32 kind) {
    __sync_lock_test_and_set(&s->state, kind);
}

/* kind -> FREE if the slot is still in that state; the other fields are left as they are
 * (readers look at state first) and overwritten by the next claimer. */
static __always_inline int sipalg_slot_release(struct sipalg_slot *s, __u32 kind) {
    return __sync_val_compare_and_swap(&s->state, kind, SIPALG_SLOT_FREE) == kind;
}

static __always_inline int sipalg_slot_is(const struct sipalg_slot *s, __u32 kind, __be32 ip,
                                          __be16 port) {
    return s->state == kind && s->priv_ip == ip && s->priv_port == port;
}

/* Signed difference of two ALG clock values: wrap-safe "a is before b". */
static __always_inline int sipalg_before(__u32 a, __u32 b) {
    return (__s32)(a - b) < 0;
}

#endif /* SIPALG_PORTS_BPF_H */
