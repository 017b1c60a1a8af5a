/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Compile-time bounds of the scanner/rewriter. Every loop and array is sized by one of these, which
 * is what lets the BPF verifier prove termination and memory safety. A message that needs more
 * gets SIPALG_TOO_COMPLEX / SIPALG_TOO_BIG (slow path), never a partial rewrite.
 *
 * They can be raised with -D for a host build (the userspace slow path); the BPF build uses the
 * defaults. SIPALG_MSG_MAX, SIPALG_MAX_LINES and SIPALG_MAX_OCC must stay powers of two.
 */
#ifndef SIPALG_LIMITS_H
#define SIPALG_LIMITS_H

/* Longest SIP message (UDP payload) handled, and the size of the in/out buffers. */
#ifndef SIPALG_MSG_MAX
#define SIPALG_MSG_MAX 2048u
#endif
/* Slack after MSG_MAX so that 8-byte loads/stores at a masked offset (and the 32-byte text
 * writes of the rewriter) stay inside the buffer. */
#define SIPALG_BUF_PAD 64u
#define SIPALG_BUF_SIZE (SIPALG_MSG_MAX + SIPALG_BUF_PAD)

/* Lines (start line + headers + SDP) indexed per message. */
#ifndef SIPALG_MAX_LINES
#define SIPALG_MAX_LINES 128u
#endif
/* Header fields (not counting continuation lines). */
#ifndef SIPALG_MAX_HDRS
#define SIPALG_MAX_HDRS 64u
#endif
/* Address occurrences (rewrite candidates), Content-Length included. */
#ifndef SIPALG_MAX_OCC
#define SIPALG_MAX_OCC 32u
#endif
/* SDP m= lines. */
#ifndef SIPALG_MAX_MEDIA
#define SIPALG_MAX_MEDIA 4u
#endif
/* LAN prefixes in a match set. */
#define SIPALG_MAX_PREFIXES 8u
/* SDP tokens remembered per line (o= has 6, a=candidate up to "rport <port>" has 12). */
#define SIPALG_MAX_TOKENS 16u
/* Replacement text of one occurrence: "255.255.255.255:65535" is 21 bytes. */
#define SIPALG_TEXT_MAX 32u

#if SIPALG_MSG_MAX > 32768u
#error "offsets are 16-bit: SIPALG_MSG_MAX must be <= 32768"
#endif
#if (SIPALG_MSG_MAX & (SIPALG_MSG_MAX - 1)) || (SIPALG_MAX_LINES & (SIPALG_MAX_LINES - 1)) ||      \
        (SIPALG_MAX_OCC & (SIPALG_MAX_OCC - 1)) || (SIPALG_MAX_HDRS & (SIPALG_MAX_HDRS - 1)) ||    \
        (SIPALG_MAX_MEDIA & (SIPALG_MAX_MEDIA - 1))
#error "sipalg limits used as masks must be powers of two"
#endif

#endif /* SIPALG_LIMITS_H */
