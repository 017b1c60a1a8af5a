/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The interface between the datapath and the SIP rewriter (contract: sip_rewrite.bpf.h). */
#ifndef SIPALG_SIP_MSG_BPF_H
#define SIPALG_SIP_MSG_BPF_H

#include <linux/types.h>

/* Longest UDP payload handled in the kernel; larger messages take the slow path. Must match
 * the rewriter's buffers (SIPALG_MSG_MAX in include/sipalg/limits.h). */
#define SIPALG_KERNEL_SIP_MAX 2048u
#if __has_include("sipalg/limits.h")
#include "sipalg/limits.h"
_Static_assert(SIPALG_KERNEL_SIP_MAX == SIPALG_MSG_MAX, "the datapath and the rewriter disagree");
#endif

enum sipalg_dir {
    SIPALG_DIR_OUT = 0, /* LAN -> WAN: from the phone */
    SIPALG_DIR_IN = 1,  /* WAN -> LAN: to the phone */
};

enum sipalg_rw {
    SIPALG_RW_UNCHANGED = 0,
    SIPALG_RW_REWRITTEN = 1,
    SIPALG_RW_SLOW = 2,
    SIPALG_RW_DROP = 3,
    SIPALG_RW_REFUSE = 4, /* untouched, and refused by a rule: dropped, counted by *reason */
    SIPALG_RW_PASS = 5,   /* untouched, and not the ALG's to handle: to the stack (never to the
                           * daemon), counted by *reason */
};

struct sipalg_sip_msg {
    __u32 l4_off;      /* offset of the UDP header in the skb */
    __u32 payload_len; /* UDP payload bytes, <= SIPALG_KERNEL_SIP_MAX */
    __u32 mtu;         /* egress MTU: the rewritten IPv4 packet must not be larger */
    __u8 dir;          /* enum sipalg_dir */
    __u8 fresh;        /* outbound: this message created the binding (undone if refused) */
    __u16 public_port; /* the binding's public port (host order) */
    __be32 priv_ip;    /* the phone's SIP socket */
    __be32 public_ip;  /* the router's public address */
    __be32 peer_ip;    /* the far end (registrar, proxy, other UA) */
    __be16 priv_port;
    __be16 peer_port;
};

#endif /* SIPALG_SIP_MSG_BPF_H */
