/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * ===========================================================================================
 *  INTEGRATION POINT: SIP/SDP payload rewriting (include/sipalg/ scanner + rewriter).
 * ===========================================================================================
 *
 * The datapath (bpf/sipalg_lan.bpf.c outbound, bpf/sipalg_wan_in.bpf.c inbound) calls
 * sipalg_sip_rewrite() once per SIP message it forwards, AFTER it has decided to own the packet
 * (binding found or created, route known) and BEFORE it NATs the IP/UDP headers. Both
 * directions run on an skb (tc), so there is one function, and bpf_skb_change_tail /
 * bpf_skb_store_bytes / bpf_l4_csum_replace are available for resizing and checksums.
 *
 * Contract:
 *   - return SIPALG_RW_UNCHANGED: the packet has not been touched (nothing to rewrite, not SIP,
 *     or no rewriter yet). The caller NATs the headers and forwards it.
 *   - return SIPALG_RW_REWRITTEN: the UDP payload was replaced; the IPv4 total length, the
 *     IPv4 checksum, the UDP length and the UDP checksum are consistent with the new payload
 *     and with the (still un-NATed) addresses and ports. The caller then NATs the headers
 *     with incremental checksum updates and forwards it; it re-reads every header pointer.
 *   - return SIPALG_RW_SLOW and set *reason to a SIPALG_CTR_SLOW_* counter: the message cannot
 *     be finished in the kernel (too complex, rewritten size over m->mtu, ...). The packet
 *     MUST be untouched: the caller passes it to the stack as it is.
 *   - return SIPALG_RW_DROP: the packet was modified and then a helper failed; the caller
 *     drops it (never forward a half-rewritten message).
 *
 * What the rewriter will do here (issue 3): copy the payload (bpf_skb_load_bytes) into a
 * per-CPU scratch map value (struct sipalg_work), sipalg_scan() it with the LAN prefixes
 * (outbound, from cfg->lan_net/lan_plen) or the public address (inbound) as match set, fill in
 * the replacements from the binding (m->public_ip/public_port or m->priv_ip/priv_port) and from
 * pinholes it opens with sipalg_pinhole_open() (owner = m->public_port) or re-scopes (remote
 * from the peer's SDP), sipalg_apply() into the second buffer, resize with
 * bpf_skb_change_tail, write back with bpf_skb_store_bytes, and fix lengths and checksums. A
 * registrar's answer to REGISTER sets the binding's lifetime with
 * sipalg_binding_set_lifetime(st, m->public_port, expires).
 */
#ifndef SIPALG_SIP_REWRITE_BPF_H
#define SIPALG_SIP_REWRITE_BPF_H

#include "binding.bpf.h"
#include "pinhole.bpf.h"

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
};

struct sipalg_sip_msg {
    __u32 l4_off;      /* offset of the UDP header in the skb */
    __u32 payload_len; /* UDP payload bytes, <= SIPALG_KERNEL_SIP_MAX */
    __u32 mtu;         /* egress MTU: the rewritten IPv4 packet must not be larger */
    __u8 dir;          /* enum sipalg_dir */
    __u8 pad;
    __u16 public_port; /* the binding's public port (host order) */
    __be32 priv_ip;    /* the phone's SIP socket */
    __be32 public_ip;  /* the router's public address */
    __be32 peer_ip;    /* the far end (registrar, proxy, other UA) */
    __be16 priv_port;
    __be16 peer_port;
};

static __always_inline int sipalg_sip_rewrite(struct __sk_buff *skb,
                                              const struct sipalg_config *cfg,
                                              struct sipalg_state *st,
                                              const struct sipalg_sip_msg *m, __u32 *reason) {
    /* Not plugged in yet: the payload is forwarded as it is (headers are still NATed). */
    (void)skb;
    (void)cfg;
    (void)st;
    (void)m;
    (void)reason;
    return SIPALG_RW_UNCHANGED;
}

#endif /* SIPALG_SIP_REWRITE_BPF_H */
