/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Inbound (WAN -> LAN) replacements and state: the inverse of sip_out.bpf.h.
 *   - public IP [: binding port] in a SIP URI / Via sent-by / rport (Request-URI, the top Via
 *     of a response, Contact, To, ...) -> that binding's phone ip:port; since the outbound
 *     mapping is a bijection on host:port, the top Via comes back byte for byte as the phone
 *     sent it. received= / maddr= naming the public IP -> the phone's IP. The public IP with a
 *     port that is no binding's is left alone. A Call-ID "x@<public IP>" -> "x@<phone IP>".
 *   - the peer's SDP is not rewritten; it goes to the message's dialog (dialog.bpf.h): an
 *     answer scopes the pinholes the phone's offer opened, an offer is remembered so that the
 *     phone's answer opens its pinholes already scoped.
 *   - 2xx to REGISTER: the binding lives as long as the registrar granted (first Contact's
 *     expires=, else Expires:; 0 = un-REGISTER: the binding goes at the next sweep).
 *   - BYE and its answer, CANCEL, a final non-2xx to the initial INVITE: the dialog ends and
 *     its pinholes close.
 */
#ifndef SIPALG_SIP_IN_BPF_H
#define SIPALG_SIP_IN_BPF_H

#include "binding.bpf.h"
#include "dialog.bpf.h"
#include "sip_msg.bpf.h"
#include "sip_rw_ctx.bpf.h"

static long sipalg_in_occ_cb(__u32 i, void *vctx) {
    struct sipalg_rw_ctx *c = vctx;
    struct sipalg_occ *o = &c->rw->w.sc.occ[SIPALG_SLOT(i, SIPALG_MAX_OCC)];
    const struct sipalg_sip_msg *m = c->m;
    __u32 eff = o->port ? o->port : SIPALG_SIP_DEFAULT_PORT, priv_port;
    const struct sipalg_port *s;

    if (o->kind == SIPALG_OCC_SIP_ADDR || o->kind == SIPALG_OCC_CALLID_HOST) {
        sipalg_rw_set(c->rw, o, bpf_ntohl(m->priv_ip), 0);
        return 0;
    }
    if (o->kind != SIPALG_OCC_SIP_HOST && o->kind != SIPALG_OCC_SIP_RPORT)
        return 0;
    s = sipalg_port_slot(eff);
    if (!s || s->state != SIPALG_PORT_BINDING)
        return 0;
    priv_port = bpf_ntohs(s->priv_port);
    if (o->kind == SIPALG_OCC_SIP_HOST && !o->port && priv_port == SIPALG_SIP_DEFAULT_PORT)
        priv_port = 0; /* it had no port, and none is needed to mean the same */
    sipalg_rw_set(c->rw, o, bpf_ntohl(s->priv_ip), priv_port);
    return 0;
}

/* Registrar's answer: the lifetime it granted, or -1 if it says none. */
static __always_inline __s32 sipalg_in_reg_expires(const struct sipalg_scan_result *sc) {
    if (sc->is_request || sc->cseq_method != SIPALG_M_REGISTER || sc->status < 200 ||
        sc->status >= 300)
        return -1;
    return sc->contact_expires >= 0 ? sc->contact_expires : sc->expires;
}

static __always_inline void sipalg_in_decide(struct sipalg_rw_ctx *c) {
    struct sipalg_rw_work *rw = c->rw;
    struct sipalg_scan_result *sc = &rw->w.sc;
    __u16 owner = c->m->public_port;
    struct sipalg_dialog *d;
    __s32 expires;

    bpf_loop(sc->n_occ & (2 * SIPALG_MAX_OCC - 1), sipalg_in_occ_cb, c, 0);
    expires = sipalg_in_reg_expires(sc);
    if (expires >= 0)
        sipalg_binding_set_lifetime(c->st, owner, (__u32)expires);
    sipalg_dialog_msg_of(&rw->dm, sc, rw->w.msg, bpf_ntohl(c->m->priv_ip),
                         bpf_ntohl(c->m->public_ip));
    sipalg_dialog_key_of(&rw->dkey, &rw->dm, owner);
    d = sipalg_dialog_get(c->st, &rw->dkey, &rw->dm, c->m->priv_ip, 1, &rw->dfresh);
    if (!d || sipalg_dialog_signal(c->st, &rw->dkey, d, &rw->dm, 0))
        return;
    sipalg_dialog_sdp_in(c->st, d, &rw->dm, owner);
}

#endif /* SIPALG_SIP_IN_BPF_H */
