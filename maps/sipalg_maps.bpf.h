/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * BTF definitions of the maps declared in sipalg_maps.h. BPF side only.
 *
 * Every bpf/<name>.bpf.c includes this header; the per-file objects are then linked into one object
 * (bpftool gen object). The definitions are weak so that the linker merges the identical copies
 * into a single map shared by all programs, instead of rejecting duplicate symbols.
 */
#ifndef SIPALG_MAPS_BPF_H
#define SIPALG_MAPS_BPF_H

#ifndef __bpf__
#error "sipalg_maps.bpf.h is for BPF programs; host code uses sipalg_maps.h"
#endif

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "sipalg_maps.h"

_Static_assert(sizeof(struct sipalg_config) == 64, "config value_size is part of the pin ABI");
_Static_assert(SIPALG_CTR_COUNT <= SIPALG_CTR_CAPACITY, "raise SIPALG_CTR_CAPACITY");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct sipalg_config);
} sipalg_config SEC(".maps") __weak;

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, SIPALG_CTR_CAPACITY);
    __type(key, __u32);
    __type(value, __u64);
} sipalg_counters SEC(".maps") __weak;

#endif /* SIPALG_MAPS_BPF_H */
