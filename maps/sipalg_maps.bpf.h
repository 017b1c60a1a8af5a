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
/* A pinhole's memory is held to <= 128 bytes (bench/scale measures it against that): keep these
 * as small as they are. */
_Static_assert(sizeof(struct sipalg_slot) == 40, "port slot layout");
_Static_assert(sizeof(struct sipalg_endpoint) == 8, "endpoint key layout");
_Static_assert(sizeof(struct sipalg_binding) == 8, "binding value layout");
_Static_assert(sizeof(struct sipalg_pinhole) == 8, "pinhole value layout");
_Static_assert(sizeof(struct sipalg_iface) == 12, "iface layout");
_Static_assert(sizeof(struct sipalg_bridge_port) == 12, "bridge port layout");
_Static_assert(sizeof(struct sipalg_dialog_key) == 16, "dialog key layout");
_Static_assert(sizeof(struct sipalg_dialog) == 80,
               "dialog value layout (152 B per entry with key and header)");
_Static_assert(sizeof(struct sipalg_limits) == 64, "limits value_size is part of the pin ABI");
_Static_assert(sizeof(struct sipalg_reg_key) == 8, "registration key layout");
_Static_assert(sizeof(struct sipalg_reg) == 24, "registration value layout");

/* One BTF map definition of SIPALG_MAPS. */
#define SIPALG_BTF_MAP(name, map_type, entries, flags, key_type, value_type)                       \
    struct {                                                                                       \
        __uint(type, map_type);                                                                    \
        __uint(max_entries, entries);                                                              \
        __uint(map_flags, flags);                                                                  \
        __type(key, key_type);                                                                     \
        __type(value, value_type);                                                                 \
    } name SEC(".maps") __weak;

/* The pinned maps; the unpinned scratch is defined with its BPF-only value type. */
#define SIPALG_X_BTF(name, type, entries, flags, key, value, pin)                                  \
    SIPALG_IF_##pin(SIPALG_BTF_MAP(name, type, entries, flags, key, value))
SIPALG_MAPS(SIPALG_X_BTF)
#undef SIPALG_X_BTF

#endif /* SIPALG_MAPS_BPF_H */
