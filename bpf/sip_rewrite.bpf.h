/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * ===========================================================================================
 *  INTEGRATION POINT: SIP/SDP payload rewriting (include/sipalg/ scanner + rewriter).
 * ===========================================================================================
 *
 * The datapath (bpf/sipalg_lan_ingress.bpf.c outbound, bpf/sipalg_wan_ingress.bpf.c inbound) calls
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
 *   - return SIPALG_RW_REFUSE or SIPALG_RW_PASS and set *reason to the counter of the rule
 *     (signal_policy.bpf.h, the REGISTER sender rule): the packet is untouched; the caller
 *     drops it (REFUSE) or passes it to the stack, never to the daemon (PASS), and undoes a
 *     binding the message created.
 *
 * What it does: copies the payload (bpf_skb_load_bytes) into the per-CPU work area
 * (sip_work.bpf.h), sipalg_scan()s it with the LAN prefixes (outbound) or the public address
 * /32 with SIPALG_SCAN_NO_SDP_EDITS (inbound), decides every occurrence (sip_out.bpf.h,
 * sip_in.bpf.h: bindings, pinholes opened/scoped/closed per dialog via dialog.bpf.h, registration
 * lifetimes), sipalg_apply()s, checks the MTU, and writes back (sip_payload.bpf.h). Verdicts:
 * NOT_SIP (keepalives) -> unchanged; MALFORMED -> slow, sip_malformed; TOO_BIG -> slow,
 * slow_too_large; TOO_COMPLEX -> slow, slow_too_complex; over the MTU -> slow, slow_mtu.
 * It runs as a global function called from a small frame (sip_finish.bpf.h): BPF stack.
 */
#ifndef SIPALG_SIP_REWRITE_BPF_H
#define SIPALG_SIP_REWRITE_BPF_H

#include "sip_in.bpf.h"
#include "sip_msg.bpf.h"
#include "sip_out.bpf.h"
#include "sip_payload.bpf.h"

/* Scanner verdict -> what the datapath does with the packet. */
static __always_inline int sipalg_rw_verdict(int v, __u32 *reason) {
    switch (v) {
    case SIPALG_NOT_SIP: /* keepalives (CRLF), STUN, junk: forwarded through the binding */
        return SIPALG_RW_UNCHANGED;
    case SIPALG_MALFORMED: /* truncated or broken: never half understood, never rewritten */
        *reason = SIPALG_CTR_SIP_MALFORMED;
        return SIPALG_RW_SLOW;
    case SIPALG_TOO_BIG:
        *reason = SIPALG_CTR_SLOW_TOO_LARGE;
        return SIPALG_RW_SLOW;
    default:
        *reason = SIPALG_CTR_SLOW_TOO_COMPLEX;
        return SIPALG_RW_SLOW;
    }
}

static __always_inline int sipalg_sip_rewrite_body(struct __sk_buff *skb,
                                                   const struct sipalg_config *cfg,
                                                   struct sipalg_state *st,
                                                   const struct sipalg_sip_msg *m, __u32 *reason) {
    struct sipalg_sip_scratch *rw = sipalg_sip_scratch();
    struct sipalg_match *mt;
    struct sipalg_rw_ctx c;
    __u32 len = m->payload_len, out_len = 0, hdr_len;
    int v;

    if (!rw)
        return SIPALG_RW_UNCHANGED;
    if (len > SIPALG_KERNEL_SIP_MAX) {
        *reason = SIPALG_CTR_SLOW_TOO_LARGE;
        return SIPALG_RW_SLOW;
    }
    rw->stop = 0;
    rw->stop_why = 0;
    if (len == 0) {
        v = SIPALG_NOT_SIP;
        rw->w.sc.reason = SIPALG_R_EMPTY;
    } else {
        if (bpf_skb_load_bytes(skb, m->l4_off + sizeof(struct udphdr), rw->w.msg, len))
            return SIPALG_RW_UNCHANGED; /* cannot happen: the caller checked the length */
        /* The match set lives in the map value: the stack is shared with the loop callbacks. */
        mt = &rw->mt;
        __builtin_memset(mt, 0, sizeof(*mt));
        if (m->dir == SIPALG_DIR_OUT)
            sipalg_match_lan(mt, cfg);
        else
            sipalg_match_add(mt, bpf_ntohl(m->public_ip), 32);
        /* inbound SDP is only read, unless local media may rewrite its public address */
        v = sipalg_scan(
                rw->w.msg, len, mt,
                m->dir == SIPALG_DIR_OUT || sipalg_local_media_on() ? 0 : SIPALG_SCAN_NO_SDP_EDITS,
                &rw->w.sc);
    }
    if (v != SIPALG_OK) {
        sipalg_count_reason(rw->w.sc.reason);
        /* Junk, or SIP too broken to read, gets to a phone only from whom SIP would. */
        if (m->dir == SIPALG_DIR_IN) {
            *reason = sipalg_in_other_refused(rw, st, m);
            if (*reason)
                return SIPALG_RW_REFUSE;
        }
        return sipalg_rw_verdict(v, reason);
    }

    rw->n_set = 0;
    rw->n_pin = 0;
    __builtin_memset(rw->rtp, 0, sizeof(rw->rtp));
    __builtin_memset(rw->rtcp, 0, sizeof(rw->rtcp));
    c.rw = rw;
    c.cfg = cfg;
    c.st = st;
    c.m = m;
    c.dlg = NULL;
    if (m->dir == SIPALG_DIR_OUT)
        sipalg_out_decide(&c);
    else
        sipalg_in_decide(&c);
    if (rw->stop) {
        *reason = rw->stop_why;
        return (int)rw->stop;
    }
    if (!rw->n_set)
        return SIPALG_RW_UNCHANGED;

    v = sipalg_apply(rw->w.msg, &rw->w.sc, rw->w.out, &out_len);
    if (v != SIPALG_OK || out_len == 0 || out_len > SIPALG_KERNEL_SIP_MAX)
        return sipalg_rw_verdict(v == SIPALG_OK ? SIPALG_TOO_BIG : v, reason);
    /* IPv4 header + UDP header + new payload must fit the egress MTU: checked before the first
     * byte is written, so a refused packet is still untouched. */
    hdr_len = m->l4_off - SIPALG_IP_OFF + sizeof(struct udphdr);
    if (hdr_len + out_len > m->mtu) {
        *reason = SIPALG_CTR_SLOW_MTU;
        return SIPALG_RW_SLOW;
    }
    if (sipalg_payload_store(skb, rw, m->l4_off, len, out_len))
        return SIPALG_RW_DROP;
    return SIPALG_RW_REWRITTEN;
}

/*
 * The rewriter as a global function: the verifier checks it once, on its own, instead of once
 * per path through the caller (the scanner alone is ~175k instructions processed), and its
 * stack is not added to the caller's. __weak: both tc programs include it and the linker keeps
 * one copy. Returns enum sipalg_rw | reason << 8.
 */
__weak __noinline int sipalg_sip_rewrite_fn(struct __sk_buff *skb, const struct sipalg_sip_msg *m) {
    const struct sipalg_config *cfg = sipalg_cfg();
    struct sipalg_state *st = sipalg_st();
    __u32 reason = SIPALG_CTR_SLOW_TOO_COMPLEX;
    int rw;

    if (!skb || !m || !cfg || !st)
        return SIPALG_RW_UNCHANGED;
    rw = sipalg_sip_rewrite_body(skb, cfg, st, m, &reason);
    return rw | (int)(reason << 8);
}

/* The datapath's entry point; see the contract at the top. cfg and st are looked up again by
 * the global function (pointers to map values cannot be passed to it). */
static __always_inline int sipalg_sip_rewrite(struct __sk_buff *skb,
                                              const struct sipalg_config *cfg,
                                              struct sipalg_state *st,
                                              const struct sipalg_sip_msg *m, __u32 *reason) {
    int r;

    (void)cfg;
    (void)st;
    r = sipalg_sip_rewrite_fn(skb, m);
    *reason = (__u32)r >> 8;
    return r & 0xff;
}

#endif /* SIPALG_SIP_REWRITE_BPF_H */
