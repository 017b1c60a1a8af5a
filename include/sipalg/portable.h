/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The few things that differ between the BPF build (clang -target bpf, no libc, verifier) and the
 * host build (C or C++, unit tests, libFuzzer, the userspace slow path). Everything else in
 * include/sipalg/ is plain C written once against these macros.
 *
 * Bounds discipline (why every byte access goes through sipalg_at()/sipalg_ld64()):
 *   The message lives in a buffer of SIPALG_BUF_SIZE = SIPALG_MSG_MAX + SIPALG_BUF_PAD bytes
 *   (in BPF: a per-CPU array map value). Every index is masked with SIPALG_MSG_MAX - 1 (a power
 *   of two) right before use, so the verifier sees an offset in [0, MSG_MAX - 1] whatever it knows
 *   about the index; 8-byte loads and stores at a masked offset stay below MSG_MAX + 8 <= BUF_SIZE.
 *   For any legitimate index (< len <= MSG_MAX) the mask is a no-op, so the host build behaves
 *   exactly like the BPF one. An empty asm hides the index from clang right before the mask, so
 *   the optimiser cannot drop the mask because of a range check it did earlier (which the verifier
 *   may not be able to follow).
 */
#ifndef SIPALG_PORTABLE_H
#define SIPALG_PORTABLE_H

#include "sipalg/limits.h"

#if defined(__bpf__)
#define SIPALG_BPF 1
#include <linux/types.h>
#include <bpf/bpf_helpers.h>
typedef __u8 sa_u8;
typedef __u16 sa_u16;
typedef __u32 sa_u32;
typedef __u64 sa_u64;
typedef __s32 sa_s32;
#else
#include <stdint.h>
#include <string.h>
typedef uint8_t sa_u8;
typedef uint16_t sa_u16;
typedef uint32_t sa_u32;
typedef uint64_t sa_u64;
typedef int32_t sa_s32;
#endif

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
/* The SWAR newline search maps bit 8k of a loaded word to byte k. */
#error "sipalg scanner assumes a little-endian target (x86-64, arm64, bpfel)"
#endif

/* Helpers are always inlined: on BPF this keeps each loop body one verifier subprogram. */
#define SIPALG_FN static inline __attribute__((always_inline))

/* A loop body the BPF verifier checks once, on its own, as a global function, instead of once per
 * state it can be entered with: kernels that verify bpf_loop callbacks as loops (strongly
 * connected components, 6.19 and its stable backports) otherwise explore a big callback body for
 * every combination of its branches and stop at the 1M instruction limit. __weak because the
 * header is compiled into several objects linked into one. On the host: an ordinary inline
 * function. Its pointer arguments must point to structs (the verifier checks their size). */
#if defined(SIPALG_BPF)
#define SIPALG_GLOBAL_FN __attribute__((weak, noinline))
#else
#define SIPALG_GLOBAL_FN SIPALG_FN
#endif

/* Loop bodies: called once per iteration by SIPALG_LOOP. Return 0 to go on, 1 to stop. */
#define SIPALG_CB static inline long

#if defined(__clang__)
#define SIPALG_UNROLL _Pragma("unroll")
#elif defined(__GNUC__)
#define SIPALG_UNROLL _Pragma("GCC unroll 32")
#else
#define SIPALG_UNROLL
#endif

/*
 * SIPALG_LOOP(n, cb, ctx): run cb(i, ctx) for i = 0 .. n-1, stop early when cb returns 1.
 * BPF: bpf_loop() (kernel >= 5.17). The verifier checks the callback once per distinct state
 * instead of walking every iteration, so a 2048-iteration loop costs the verifier about what one
 * iteration costs; the kernel inlines bpf_loop into a counted loop with a direct BPF-to-BPF call
 * per iteration (which is why loop bodies handle 8 or 32 bytes each: byte_loop.h).
 * ctx must point to the caller's stack (struct sipalg_ctx): pointers spilled there keep their
 * verifier type (map value of known size), all mutable state lives in the map value.
 * Host: a plain for loop; the compiler inlines the callback.
 */
#if defined(SIPALG_LOOP)
/* provided by the includer (instrumented host builds, e.g. counting loop calls) */
#elif defined(SIPALG_BPF) && defined(SIPALG_BPF_PLAIN_LOOPS)
/* For measurement only (tests/verifier): the same loops as bounded for loops, which the verifier
 * has to walk iteration by iteration. With them the probe does not load (see the report in
 * tests/verifier/README.md). */
#define SIPALG_LOOP(n, cb, ctx)                                                                    \
    ({                                                                                             \
        sa_u32 i_, n_ = (n);                                                                       \
        for (i_ = 0; i_ < SIPALG_MSG_MAX && i_ < n_; i_++)                                         \
            if (cb(i_, ctx))                                                                       \
                break;                                                                             \
        i_;                                                                                        \
    })
#elif defined(SIPALG_BPF)
#define SIPALG_LOOP(n, cb, ctx) bpf_loop((n), (void *)(cb), (ctx), 0)
#else
SIPALG_FN long sipalg_host_loop(sa_u32 n, long (*cb)(sa_u32, void *), void *ctx) {
    sa_u32 i;

    for (i = 0; i < n; i++) {
        if (cb(i, ctx)) {
            i++;
            break;
        }
    }
    return (long)i;
}
#define SIPALG_LOOP(n, cb, ctx) sipalg_host_loop((n), (cb), (ctx))
#endif

/*
 * Compiler barrier between the unrolled steps of a chunked loop body (byte_loop.h): state is
 * re-read from memory at each step, so on BPF the verifier sees unknown values there instead of
 * tracking them across steps (which would multiply its paths).
 */
#if defined(SIPALG_BPF)
#define SIPALG_BARRIER() asm volatile("" ::: "memory")
#else
#define SIPALG_BARRIER() ((void)0)
#endif

/* Opaque to the optimiser: the value is whatever the register holds (see the header comment). */
#if defined(SIPALG_BPF)
#define SIPALG_OPAQUE(v) asm volatile("" : "+r"(v))
#else
#define SIPALG_OPAQUE(v) ((void)0)
#endif

/* Masked message offset: in range for the verifier, a no-op for valid offsets. */
SIPALG_FN sa_u32 sipalg_idx(sa_u32 i) {
    sa_u64 v = i;

    SIPALG_OPAQUE(v);
    return (sa_u32)(v & (SIPALG_MSG_MAX - 1));
}

/* Masked index into a small power-of-two array of n entries. */
#define SIPALG_SLOT(i, n) (sipalg_idx(i) & ((n)-1))

SIPALG_FN sa_u8 sipalg_at(const sa_u8 *buf, sa_u32 i) {
    return buf[sipalg_idx(i)];
}

/* Unaligned 8-byte load/store at a masked offset (x86-64 and arm64 JITs allow unaligned access to
 * map values; on the host memcpy keeps it defined behaviour). */
SIPALG_FN sa_u64 sipalg_ld64(const sa_u8 *buf, sa_u32 off) {
#if defined(SIPALG_BPF)
    return *(const sa_u64 *)(buf + sipalg_idx(off));
#else
    sa_u64 v;

    memcpy(&v, buf + sipalg_idx(off), sizeof(v));
    return v;
#endif
}

SIPALG_FN void sipalg_st64(sa_u8 *buf, sa_u32 off, sa_u64 v) {
#if defined(SIPALG_BPF)
    *(sa_u64 *)(buf + sipalg_idx(off)) = v;
#else
    memcpy(buf + sipalg_idx(off), &v, sizeof(v));
#endif
}

#endif /* SIPALG_PORTABLE_H */
