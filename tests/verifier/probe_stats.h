/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* What scan_probe.bpf.c leaves for its runner (value of the probe_stats map). */
#ifndef SIPALG_PROBE_STATS_H
#define SIPALG_PROBE_STATS_H

#include <linux/types.h>

struct probe_stats {
    __u32 bench; /* set by the runner: 1 = do not write back (the frame stays the same across
                  * BPF_PROG_TEST_RUN repetitions, so every run rewrites the original) */
    __u32 scan_verdict;
    __u32 verdict;
    __u32 n_occ;
    __u32 out_len;
    __u64 rewritten;
};

#endif
