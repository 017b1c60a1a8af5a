/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The one definition of every map layout shared by the BPF programs and the C++ loader.
 *
 * Plain C, no BPF-only constructs: this header is included by bpf/<name>.bpf.c (clang -target bpf)
 * and by the loader and tests (host C++). The BTF map definitions themselves live in
 * sipalg_maps.bpf.h, next to this file, and only use what is declared here.
 *
 * Compatibility rules (pinned maps outlive the loader process, so a newer sipalg may read maps
 * created by an older one):
 *   - counters are append-only: never reorder or reuse an index, only add before
 *     SIPALG_CTR_COUNT; the counter map is sized to SIPALG_CTR_CAPACITY, not to the count,
 *     so adding a counter does not change the map's shape;
 *   - struct sipalg_config only grows by taking words out of `reserved`, so its size
 *     (the map's value_size) stays 64 bytes.
 */
#ifndef SIPALG_MAPS_H
#define SIPALG_MAPS_H

#include <linux/types.h>

/* Map names as the kernel sees them (at most 15 characters), and the file names of their pins
 * in the per-interface pin dir. */
#define SIPALG_MAP_CONFIG "sipalg_config"
#define SIPALG_MAP_COUNTERS "sipalg_counters"

/* Program names (the C function names in bpf/, as reported by bpftool) and their pins. */
#define SIPALG_PROG_XDP "sipalg_xdp"
#define SIPALG_PROG_TC "sipalg_tc"
#define SIPALG_PIN_PROG_XDP "prog_xdp"
#define SIPALG_PIN_PROG_TC "prog_tc"

/* ---- config: BPF_MAP_TYPE_ARRAY, 1 entry (key 0), written only by the loader ---- */

#define SIPALG_CONFIG_KEY 0

/* The NICC guidance asks for "disabled by default": a freshly created map is all zeroes, so
 * every field is chosen such that 0 is the safe, hands-off value. */
struct sipalg_config {
    __u32 enabled; /* 0: pass everything untouched (default); 1: ALG active */
    __u32 reserved[15];
};

/* ---- counters: BPF_MAP_TYPE_PERCPU_ARRAY of __u64, indexed by enum sipalg_counter ---- */

/* X(ENUM_SUFFIX, "json_name", "description"). One line per counter; the loader derives its
 * status output from this list, so adding a counter here is all it takes. Append only. */
#define SIPALG_COUNTERS(X)                                                                         \
    X(XDP_SEEN, "xdp_seen", "packets seen by the WAN ingress XDP program")                         \
    X(XDP_PASS, "xdp_pass", "packets XDP passed to the stack untouched")                           \
    X(XDP_ALG_OFF, "xdp_alg_off", "packets XDP saw while the ALG was disabled")                    \
    X(TC_SEEN, "tc_seen", "packets seen by the WAN egress tc program")                             \
    X(TC_PASS, "tc_pass", "packets tc passed on untouched")                                        \
    X(TC_ALG_OFF, "tc_alg_off", "packets tc saw while the ALG was disabled")

/* clang-format off */ /* it cannot tell that the X-macro expands to enumerators */
enum sipalg_counter {
#define SIPALG_X_ENUM(id, name, help) SIPALG_CTR_##id,
    SIPALG_COUNTERS(SIPALG_X_ENUM)
#undef SIPALG_X_ENUM
    SIPALG_CTR_COUNT
};
/* clang-format on */

/* Fixed size of the counter map; room to add counters without changing the map's shape. */
#define SIPALG_CTR_CAPACITY 64

#endif /* SIPALG_MAPS_H */
