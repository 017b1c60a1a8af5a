/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Inbound (WAN -> LAN) replacements and state: the inverse of sip_out.bpf.h.
 *   - public IP [: binding port] in a SIP URI / Via sent-by / rport (Request-URI, the top Via
 *     of a response, Contact, To, ...) -> that binding's phone ip:port; since the outbound
 *     mapping is a bijection on host:port, the top Via comes back byte for byte as the phone
 *     sent it. received= / maddr= naming the public IP -> the phone's IP. The public IP with a
 *     port that is no binding's is left alone. A Call-ID "x@<public IP>" -> "x@<phone IP>".
 *   - local media (policy local-media, off by default): an SDP whose media ports are all
 *     pinholes of one LAN phone (a call between two phones of this LAN through an outside
 *     server) gets that phone's address and ports instead of the public ones, so the two phones
 *     send their media to each other on the LAN. Nothing else in an inbound SDP is rewritten.
 *   - the peer's SDP is not rewritten; it goes to the message's dialog (dialog.bpf.h): an
 *     answer scopes the pinholes the phone's offer opened, an offer is remembered so that the
 *     phone's answer opens its pinholes already scoped.
 *   - 2xx to REGISTER, from the registrar the phone's REGISTER went to and matching its
 *     Call-ID and CSeq (signal_policy.bpf.h): the registration is confirmed, and the binding
 *     lives as long as the registrar granted (first Contact's expires=, else Expires:; 0 =
 *     un-REGISTER: the binding goes at the next sweep). Any other 2xx changes nothing.
 *   - before all that: a request, or anything not SIP, from outside the binding's confirmed
 *     registrars, its dialogs and the trusted prefixes is dropped (sig_unsolicited), and so is
 *     a REGISTER or INVITE over its source's rate.
 *   - BYE and its answer, CANCEL, a final non-2xx to the initial INVITE: the dialog ends and
 *     its pinholes close.
 */
#ifndef SIPALG_SIP_IN_BPF_H
#define SIPALG_SIP_IN_BPF_H

#include "binding.bpf.h"
#include "signal_policy.bpf.h"
#include "sip_msg.bpf.h"
#include "sip_rw_ctx.bpf.h"

/* Local media: the pinhole slot behind public port `port` if a phone of this LAN opened it. */
static __always_inline const struct sipalg_slot *sipalg_in_local_pin(__u32 port) {
    const struct sipalg_slot *s = port ? sipalg_port_slot(port) : NULL;

    return s && s->state == SIPALG_SLOT_PINHOLE && s->owner ? s : NULL;
}

/* Local media, first pass: every media and RTCP port of the SDP (only those sent to the public
 * address survive the scanner's settling) must be a pinhole of one and the same LAN phone; then
 * rw->local_ip is that phone, else 0 and the SDP is left as it is. */
static long sipalg_in_local_cb(__u32 i, void *vctx) {
    struct sipalg_rw_ctx *c = vctx;
    const struct sipalg_occ *o = &c->rw->w.sc.occ[SIPALG_SLOT(i, SIPALG_MAX_OCC)];
    const struct sipalg_slot *s;

    if ((o->kind != SIPALG_OCC_SDP_MEDIA_PORT && o->kind != SIPALG_OCC_SDP_RTCP_PORT) || !o->port)
        return 0;
    s = sipalg_in_local_pin(o->port);
    if (s && (!c->rw->local_ip || c->rw->local_ip == s->priv_ip)) {
        c->rw->local_ip = s->priv_ip;
        return 0;
    }
    c->rw->local_ip = 0;
    return 1;
}

/* Local media, second pass: the SDP's public address -> that phone, each port -> its socket's. */
static __always_inline void sipalg_in_local_set(struct sipalg_rw_ctx *c, struct sipalg_occ *o) {
    const struct sipalg_slot *s;

    if (o->kind == SIPALG_OCC_SDP_CONN || o->kind == SIPALG_OCC_SDP_RTCP_ADDR) {
        sipalg_rw_set(c->rw, o, bpf_ntohl(c->rw->local_ip), 0);
        return;
    }
    if (o->kind != SIPALG_OCC_SDP_MEDIA_PORT && o->kind != SIPALG_OCC_SDP_RTCP_PORT)
        return;
    s = sipalg_in_local_pin(o->port);
    if (s)
        sipalg_rw_set(c->rw, o, o->ip, bpf_ntohs(s->priv_port));
}

static long sipalg_in_occ_cb(__u32 i, void *vctx) {
    struct sipalg_rw_ctx *c = vctx;
    struct sipalg_occ *o = &c->rw->w.sc.occ[SIPALG_SLOT(i, SIPALG_MAX_OCC)];
    const struct sipalg_sip_msg *m = c->m;
    __u32 eff = o->port ? o->port : SIPALG_SIP_DEFAULT_PORT, priv_port;
    const struct sipalg_slot *s;

    if (o->flags & SIPALG_OF_BODY) {
        if (c->rw->local_ip)
            sipalg_in_local_set(c, o);
        return 0;
    }
    if (o->kind == SIPALG_OCC_SIP_ADDR || o->kind == SIPALG_OCC_CALLID_HOST) {
        sipalg_rw_set(c->rw, o, bpf_ntohl(m->priv_ip), 0);
        return 0;
    }
    if (o->kind != SIPALG_OCC_SIP_HOST && o->kind != SIPALG_OCC_SIP_RPORT)
        return 0;
    s = sipalg_port_slot(eff);
    if (!s || s->state != SIPALG_SLOT_BINDING)
        return 0;
    priv_port = bpf_ntohs(s->priv_port);
    if (o->kind == SIPALG_OCC_SIP_HOST && !o->port && priv_port == SIPALG_SIP_DEFAULT_PORT)
        priv_port = 0; /* it had no port, and none is needed to mean the same */
    sipalg_rw_set(c->rw, o, bpf_ntohl(s->priv_ip), priv_port);
    return 0;
}

static __always_inline int sipalg_is_reg_ok(const struct sipalg_dialog_msg *dm) {
    return !dm->is_request && dm->cseq_method == SIPALG_M_REGISTER && dm->status >= 200 &&
           dm->status < 300;
}

/* Something that is not SIP (or SIP the scanner refused) for the phone of binding
 * m->public_port: 0 if its source may send it, else the counter of why not. */
static __always_inline __u32 sipalg_in_other_refused(struct sipalg_sip_scratch *rw,
                                                     const struct sipalg_state *st,
                                                     const struct sipalg_sip_msg *m) {
    const struct sipalg_slot *s = sipalg_port_slot(m->public_port);

    __builtin_memset(&rw->dm, 0, sizeof(rw->dm));
    rw->dm.is_request = 1;
    return s ? sipalg_sig_admits(st, m->public_port, s, m->peer_ip, &rw->dm, &rw->dkey) : 0;
}

static __always_inline void sipalg_in_decide(struct sipalg_rw_ctx *c) {
    struct sipalg_sip_scratch *rw = c->rw;
    struct sipalg_scan_result *sc = &rw->w.sc;
    __u16 owner = c->m->public_port;
    const struct sipalg_slot *s = sipalg_port_slot(owner);
    struct sipalg_dialog *d;
    __u32 why;

    sipalg_dialog_msg_of(&rw->dm, sc, rw->w.msg, bpf_ntohl(c->m->priv_ip),
                         bpf_ntohl(c->m->public_ip));
    if (!s)
        return;
    why = sipalg_sig_admits(c->st, owner, s, c->m->peer_ip, &rw->dm, &rw->dkey);
    if (!why)
        why = sipalg_rate_check(sipalg_lim(), &rw->dm, c->m->peer_ip, 1);
    if (why) {
        rw->stop = SIPALG_RW_REFUSE;
        rw->stop_why = why;
        return;
    }
    rw->local_ip = 0;
    /* the scan recorded SDP occurrences exactly when local media was on (sip_rewrite.bpf.h) */
    if (!(sc->opts & SIPALG_SCAN_NO_SDP_EDITS))
        bpf_loop(sc->n_occ & (2 * SIPALG_MAX_OCC - 1), sipalg_in_local_cb, c, 0);
    if (rw->local_ip)
        sipalg_count(SIPALG_CTR_MEDIA_LOCAL);
    bpf_loop(sc->n_occ & (2 * SIPALG_MAX_OCC - 1), sipalg_in_occ_cb, c, 0);
    if (sipalg_is_reg_ok(&rw->dm) && sipalg_reg_answered(c->st, owner, s, c->m->peer_ip, &rw->dm) &&
        rw->dm.expires >= 0)
        sipalg_binding_set_lifetime(c->st, owner, (__u32)rw->dm.expires);
    sipalg_dialog_key_of(&rw->dkey, &rw->dm, owner);
    d = sipalg_dialog_get(c->st, &rw->dkey, &rw->dm, c->m->priv_ip, 1, &rw->dfresh);
    if (!d || sipalg_dialog_signal(c->st, &rw->dkey, d, &rw->dm, 0))
        return;
    sipalg_dialog_sdp_in(c->st, d, &rw->dm, owner);
}

#endif /* SIPALG_SIP_IN_BPF_H */
