/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Who may signal to a phone, and how fast anyone may signal at all.
 *   - Registrations (sipalg_regs, see maps/sipalg_maps.h): the phone's REGISTER names the
 *     registrar it went to; only that registrar's 2xx with the same Call-ID and CSeq confirms
 *     it and sets the binding's lifetime. Any other 2xx (another source, a stale or forged
 *     Call-ID/CSeq) changes nothing.
 *   - Direct signalling: a request (or anything that is not a SIP response) to a binding gets
 *     to the phone only from a confirmed registrar of that binding, inside one of the
 *     binding's live dialogs (the remote party's BYE or re-INVITE), or from a trusted prefix;
 *     `any_peer` turns the rule off. Responses go through from anyone: the phone matches them
 *     to its transactions, and they create nothing here.
 *   - Rates: REGISTER and INVITE per source address and direction, as GCRA buckets
 *     (sipalg_rates): a flood from one host is dropped before it creates any state.
 * The same functions run for the daemon through the admin program (SIPALG_OP_SIGNAL).
 */
#ifndef SIPALG_SIGNAL_POLICY_BPF_H
#define SIPALG_SIGNAL_POLICY_BPF_H

#include "dialog.bpf.h"

_Static_assert(SIPALG_CTR_BAD_LENGTH - SIPALG_CTR_BAD_EMPTY == SIPALG_R_MSG_LEN - SIPALG_R_EMPTY,
               "the bad_* counters follow enum sipalg_reason");

/* A registration outlives the lifetime its registrar granted by this much: the phone's
 * refresh may come a little late, and the answer to it later still. */
#define SIPALG_REG_GRACE_S 32u

/* Counts why the scanner refused (or did not recognise) a message. */
static __always_inline void sipalg_count_reason(__u32 reason) {
    if (reason >= SIPALG_R_MSG_LEN)
        sipalg_count(SIPALG_CTR_BAD_LENGTH);
    else if (reason >= SIPALG_R_EMPTY)
        sipalg_count((enum sipalg_counter)(SIPALG_CTR_BAD_EMPTY + reason - SIPALG_R_EMPTY));
}

static __always_inline int sipalg_trusted_peer(const struct sipalg_limits *lim, __be32 ip) {
    return sipalg_in_prefixes(lim->trusted_net, lim->trusted_plen, SIPALG_MAX_TRUSTED, ip);
}

/* One request of `kind` from `ip` against a limit of `rate` per second: 1 if it may go on. */
static __always_inline int sipalg_rate_take(__be32 ip, __u32 kind, __u32 rate) {
    struct sipalg_rate_key k = {.ip = ip, .kind = kind};
    __u64 now, step, t, *tat;

    if (!rate)
        return 1;
    now = bpf_ktime_get_ns();
    step = 1000000000ull / rate;
    tat = bpf_map_lookup_elem(&sipalg_rates, &k);
    if (!tat) {
        t = now + step;
        bpf_map_update_elem(&sipalg_rates, &k, &t, BPF_ANY);
        return 1;
    }
    t = *tat > now ? *tat : now;
    if (t + step - now > SIPALG_RATE_BURST_S * 1000000000ull)
        return 0;
    *tat = t + step; /* racing CPUs may lose an increment: the limit is then a little lax */
    return 1;
}

/* The rate limits for a request from `src` (inbound: an Internet source; else a LAN host):
 * 0, or the counter of the limit it is over. */
static __always_inline __u32 sipalg_rate_check(const struct sipalg_limits *lim,
                                               const struct sipalg_dialog_msg *dm, __be32 src,
                                               int inbound) {
    if (!lim || !dm->is_request)
        return 0;
    if (dm->method == SIPALG_M_REGISTER &&
        !sipalg_rate_take(src, inbound ? SIPALG_RATE_REGISTER_IN : SIPALG_RATE_REGISTER_OUT,
                          lim->register_rate))
        return SIPALG_CTR_RATE_REGISTER;
    if (dm->method == SIPALG_M_INVITE &&
        !sipalg_rate_take(src, inbound ? SIPALG_RATE_INVITE_IN : SIPALG_RATE_INVITE_OUT,
                          lim->invite_rate))
        return SIPALG_CTR_RATE_INVITE;
    return 0;
}

static __always_inline void sipalg_reg_key_of(struct sipalg_reg_key *k, __u16 bind_port,
                                              __be32 registrar) {
    k->registrar_ip = registrar;
    k->bind_port = bind_port;
    k->pad = 0;
}

/* The phone (priv_ip:priv_port, binding bind_port) sends REGISTER dm to `registrar`. */
static __always_inline void sipalg_reg_sent(const struct sipalg_config *cfg,
                                            const struct sipalg_state *st, __u16 bind_port,
                                            __be32 priv_ip, __be16 priv_port, __be32 registrar,
                                            const struct sipalg_dialog_msg *dm) {
    __u32 expiry = st->now_s + cfg->reg_lifetime_s + SIPALG_REG_GRACE_S;
    struct sipalg_reg_key k;
    struct sipalg_reg v = {};
    struct sipalg_reg *r;

    if (!dm->call)
        return;
    sipalg_reg_key_of(&k, bind_port, registrar);
    r = bpf_map_lookup_elem(&sipalg_regs, &k);
    if (r && r->priv_ip == priv_ip && r->priv_port == priv_port) {
        /* A refresh: it stays confirmed until its answer says otherwise, but a new REGISTER
         * (not a retransmission) waits for its own answer. */
        if (r->call != dm->call || r->cseq != dm->cseq)
            r->flags &= (__u8)~SIPALG_REG_ANSWERED;
        r->call = dm->call;
        r->cseq = dm->cseq;
        if (sipalg_before(r->expiry_s, expiry))
            r->expiry_s = expiry;
        return;
    }
    v.call = dm->call;
    v.cseq = dm->cseq;
    v.expiry_s = expiry;
    v.priv_ip = priv_ip;
    v.priv_port = priv_port;
    bpf_map_update_elem(&sipalg_regs, &k, &v, BPF_ANY);
}

/* A 2xx to REGISTER from `src` to the phone of binding bind_port (slot s): 1 if it answers
 * the phone's latest REGISTER to that registrar (the registration is then confirmed for the
 * lifetime granted, and the caller applies it to the binding), else 0 (counted). */
static __always_inline int sipalg_reg_answered(const struct sipalg_state *st, __u16 bind_port,
                                               const struct sipalg_slot *s, __be32 src,
                                               const struct sipalg_dialog_msg *dm) {
    struct sipalg_reg_key k;
    struct sipalg_reg *r;

    sipalg_reg_key_of(&k, bind_port, src);
    r = bpf_map_lookup_elem(&sipalg_regs, &k);
    if (!r || r->call != dm->call || r->cseq != dm->cseq || r->priv_ip != s->priv_ip ||
        r->priv_port != s->priv_port) {
        sipalg_count(SIPALG_CTR_REG_ANSWER_MISMATCH);
        return 0;
    }
    if (dm->expires == 0) {
        bpf_map_delete_elem(&sipalg_regs, &k);
        return 1;
    }
    r->flags |= SIPALG_REG_CONFIRMED | SIPALG_REG_ANSWERED;
    if (dm->expires > 0)
        r->expiry_s = st->now_s + (__u32)dm->expires + SIPALG_REG_GRACE_S;
    return 1;
}

/* Is `src` a confirmed, unexpired registrar of the phone in slot s (binding bind_port)? */
static __always_inline int sipalg_reg_confirmed(const struct sipalg_state *st, __u16 bind_port,
                                                const struct sipalg_slot *s, __be32 src) {
    struct sipalg_reg_key k;
    struct sipalg_reg *r;

    sipalg_reg_key_of(&k, bind_port, src);
    r = bpf_map_lookup_elem(&sipalg_regs, &k);
    return r && (r->flags & SIPALG_REG_CONFIRMED) && r->priv_ip == s->priv_ip &&
           r->priv_port == s->priv_port && sipalg_before(st->now_s, r->expiry_s);
}

/* May message dm from `src` reach the phone of binding bind_port (slot s)? 0, or the counter
 * of why not. Something that is not SIP is passed as a request without a Call-ID. `dkey` is
 * scratch for the dialog lookup. */
static __always_inline __u32 sipalg_sig_admits(const struct sipalg_state *st, __u16 bind_port,
                                               const struct sipalg_slot *s, __be32 src,
                                               const struct sipalg_dialog_msg *dm,
                                               struct sipalg_dialog_key *dkey) {
    const struct sipalg_limits *lim = sipalg_lim();

    if (!lim || lim->any_peer || !dm->is_request || sipalg_trusted_peer(lim, src) ||
        sipalg_reg_confirmed(st, bind_port, s, src))
        return 0;
    if (dm->call) {
        sipalg_dialog_key_of(dkey, dm, bind_port);
        if (sipalg_dialog_find(dkey))
            return 0;
    }
    return SIPALG_CTR_SIG_UNSOLICITED;
}

struct sipalg_reg_sweep_ctx {
    __u32 now;
};

static long sipalg_reg_sweep_cb(void *map, struct sipalg_reg_key *k, struct sipalg_reg *r,
                                struct sipalg_reg_sweep_ctx *c) {
    const struct sipalg_slot *s = sipalg_port_slot(k->bind_port);

    if (!sipalg_before(c->now, r->expiry_s) || !s ||
        !sipalg_slot_is(s, SIPALG_SLOT_BINDING, r->priv_ip, r->priv_port))
        bpf_map_delete_elem(map, k);
    return 0;
}

/* Forgets registrations that expired or whose binding is gone: one pass over the table. */
static __always_inline void sipalg_reg_sweep(__u32 now) {
    struct sipalg_reg_sweep_ctx c = {.now = now};

    bpf_for_each_map_elem(&sipalg_regs, sipalg_reg_sweep_cb, &c, 0);
}

#endif /* SIPALG_SIGNAL_POLICY_BPF_H */
