/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Per-phone counts (struct sipalg_phone, keyed by the phone's private address): how many
 * bindings, pinholes and dialogs each LAN host holds, so that one host can never take what the
 * others need. An entry lives while any of its counts is non-zero.
 */
#ifndef SIPALG_PHONE_BPF_H
#define SIPALG_PHONE_BPF_H

#include <asm-generic/errno.h>

#include "sipalg_common.bpf.h"

/* The phone's entry, created empty if it has none yet (NULL: the map is full). */
static __always_inline struct sipalg_phone *sipalg_phone_entry(__be32 ip) {
    struct sipalg_phone *ph = bpf_map_lookup_elem(&sipalg_phones, &ip);
    struct sipalg_phone fresh = {};

    if (ph)
        return ph;
    bpf_map_update_elem(&sipalg_phones, &ip, &fresh, BPF_NOEXIST);
    return bpf_map_lookup_elem(&sipalg_phones, &ip);
}

/* Counts one more against a per-phone limit; 0 or -EDQUOT (counted in `hits` and ctr). */
static __always_inline int sipalg_phone_take(__u32 *count, __u32 limit, __u32 *hits,
                                             enum sipalg_counter ctr) {
    if (__sync_fetch_and_add(count, 1) >= limit) {
        __sync_fetch_and_add(count, -1);
        __sync_fetch_and_add(hits, 1);
        sipalg_count(ctr);
        return -EDQUOT;
    }
    return 0;
}

#define SIPALG_PHONE_PINHOLES __builtin_offsetof(struct sipalg_phone, pinholes)
#define SIPALG_PHONE_DIALOGS __builtin_offsetof(struct sipalg_phone, dialogs)
#define SIPALG_PHONE_BINDINGS __builtin_offsetof(struct sipalg_phone, bindings)

/* The count at byte offset `which` of the phone's entry goes down (never below 0); the entry
 * goes with the phone's last binding, pinhole and dialog. A CPU that looked it up just before
 * may still count on the removed entry: the per-phone limits are then one too lax, never
 * stuck. */
static __always_inline void sipalg_phone_drop(__be32 ip, __u32 which) {
    struct sipalg_phone *ph = bpf_map_lookup_elem(&sipalg_phones, &ip);
    __u32 *count;

    if (!ph)
        return;
    count = which == SIPALG_PHONE_BINDINGS  ? &ph->bindings
            : which == SIPALG_PHONE_DIALOGS ? &ph->dialogs
                                            : &ph->pinholes;
    if (*count == 0)
        return;
    __sync_fetch_and_add(count, -1);
    if (ph->pinholes == 0 && ph->dialogs == 0 && ph->bindings == 0)
        bpf_map_delete_elem(&sipalg_phones, &ip);
}

#endif /* SIPALG_PHONE_BPF_H */
