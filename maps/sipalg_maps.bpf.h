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
/* Memory per pinhole (issue 5: <= 128 bytes): keep these as small as they are. */
_Static_assert(sizeof(struct sipalg_port) == 40, "port slot layout");
_Static_assert(sizeof(struct sipalg_endpoint) == 8, "endpoint key layout");
_Static_assert(sizeof(struct sipalg_binding) == 8, "binding value layout");
_Static_assert(sizeof(struct sipalg_pinhole) == 8, "pinhole value layout");
_Static_assert(sizeof(struct sipalg_iface) == 12, "iface layout");
_Static_assert(sizeof(struct sipalg_lan_port) == 12, "lan port layout");
_Static_assert(sizeof(struct sipalg_dialog_key) == 16, "dialog key layout");
_Static_assert(sizeof(struct sipalg_dialog) == 80,
               "dialog value layout (152 B per entry with key and header)");
_Static_assert(sizeof(struct sipalg_limits) == 64, "limits value_size is part of the pin ABI");
_Static_assert(sizeof(struct sipalg_reg_key) == 8, "registration key layout");
_Static_assert(sizeof(struct sipalg_reg) == 24, "registration value layout");

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

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, SIPALG_PORTS_ENTRIES);
    __type(key, __u32);
    __type(value, struct sipalg_port);
} sipalg_ports SEC(".maps") __weak;

/* Not preallocated: memory follows the number of live entries, not the maximum. */
struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, SIPALG_BINDINGS_ENTRIES);
    __uint(map_flags, BPF_F_NO_PREALLOC);
    __type(key, struct sipalg_endpoint);
    __type(value, struct sipalg_binding);
} sipalg_binds SEC(".maps") __weak;

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, SIPALG_PINHOLES_ENTRIES);
    __uint(map_flags, BPF_F_NO_PREALLOC);
    __type(key, struct sipalg_endpoint);
    __type(value, struct sipalg_pinhole);
} sipalg_pins SEC(".maps") __weak;

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, SIPALG_PHONES_ENTRIES);
    __uint(map_flags, BPF_F_NO_PREALLOC);
    __type(key, __be32);
    __type(value, struct sipalg_phone);
} sipalg_phones SEC(".maps") __weak;

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct sipalg_state);
} sipalg_state SEC(".maps") __weak;

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, SIPALG_MAX_LAN_IFS);
    __type(key, __u32);
    __type(value, __u32);
} sipalg_lanifs SEC(".maps") __weak;

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, SIPALG_IFACES);
    __type(key, __u32);
    __type(value, struct sipalg_iface);
} sipalg_ifaces SEC(".maps") __weak;

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, SIPALG_MAX_LAN_PORTS);
    __type(key, __u32);
    __type(value, struct sipalg_lan_port);
} sipalg_xports SEC(".maps") __weak;

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, SIPALG_DIALOGS_ENTRIES);
    __uint(map_flags, BPF_F_NO_PREALLOC);
    __type(key, struct sipalg_dialog_key);
    __type(value, struct sipalg_dialog);
} sipalg_dialogs SEC(".maps") __weak;

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct sipalg_limits);
} sipalg_limits SEC(".maps") __weak;

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, SIPALG_REGS_ENTRIES);
    __uint(map_flags, BPF_F_NO_PREALLOC);
    __type(key, struct sipalg_reg_key);
    __type(value, struct sipalg_reg);
} sipalg_regs SEC(".maps") __weak;

struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __uint(max_entries, SIPALG_RATES_ENTRIES);
    __type(key, struct sipalg_rate_key);
    __type(value, __u64);
} sipalg_rates SEC(".maps") __weak;

#endif /* SIPALG_MAPS_BPF_H */
