/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Byte loops in chunks: one loop callback handles SIPALG_CHUNK consecutive bytes.
 *
 * Why: on BPF every bpf_loop iteration is a BPF-to-BPF call, and on a kernel with call-depth
 * tracking / return-stack mitigations (our 6.18 test machines) a call costs ~10 ns while a
 * plain loop iteration costs < 1 ns (measured with BPF_PROG_TEST_RUN, tests/verifier/README.md).
 * Unrolling SIPALG_CHUNK steps inside the callback divides the calls by SIPALG_CHUNK. A compiler
 * barrier between steps makes every step re-read its state from the map value, so the verifier
 * checks each step once with unknown state: its cost grows linearly with the chunk, not
 * exponentially.
 *
 * A step is `int step(struct sipalg_ctx *ctx, sa_u32 pos)`, returning 1 to stop the loop.
 */
#ifndef SIPALG_BYTE_LOOP_H
#define SIPALG_BYTE_LOOP_H

#include "sipalg/sip_types.h"

#ifndef SIPALG_CHUNK
#define SIPALG_CHUNK 8u
#endif

/* Define callback `name` running `step` on up to SIPALG_CHUNK bytes of [feed_base, feed_end). */
#define SIPALG_DEFINE_BYTE_LOOP(name, step)                                                        \
    SIPALG_CB name(sa_u32 i, void *vctx) {                                                         \
        struct sipalg_ctx *ctx = (struct sipalg_ctx *)vctx;                                        \
        sa_u32 k;                                                                                  \
                                                                                                   \
        SIPALG_UNROLL                                                                              \
        for (k = 0; k < SIPALG_CHUNK; k++) {                                                       \
            sa_u32 pos = ctx->sc->st.feed_base + i * SIPALG_CHUNK + k;                             \
                                                                                                   \
            if (pos >= ctx->sc->st.feed_end || step(ctx, pos))                                     \
                return 1;                                                                          \
            SIPALG_BARRIER();                                                                      \
        }                                                                                          \
        return 0;                                                                                  \
    }

/* Run a callback defined with SIPALG_DEFINE_BYTE_LOOP over msg[from .. to). */
#define SIPALG_BYTE_LOOP(ctx, from, to, cb)                                                        \
    do {                                                                                           \
        sa_u32 from_ = (from), to_ = (to);                                                         \
                                                                                                   \
        if (to_ > from_) {                                                                         \
            (ctx)->sc->st.feed_base = (sa_u16)from_;                                               \
            (ctx)->sc->st.feed_end = (sa_u16)to_;                                                  \
            SIPALG_LOOP((to_ - from_ + SIPALG_CHUNK - 1) / SIPALG_CHUNK, cb, (ctx));               \
        }                                                                                          \
    } while (0)

#endif /* SIPALG_BYTE_LOOP_H */
