/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Inbound (WAN -> LAN) replacements and state: the inverse of sip_out.bpf.h.
 *   - public IP [: binding port] in a SIP URI / Via sent-by / rport (Request-URI, the top Via
 *     of a response, Contact, To, ...) -> that binding's phone ip:port; since the outbound
 *     mapping is a bijection on host:port, the top Via comes back byte for byte as the phone
 *     sent it. received= / maddr= naming the public IP -> the phone's IP. The public IP with a
 *     port that is no binding's is left alone. A Call-ID "x@<public IP>" -> "x@<phone IP>".
 *   - the peer's SDP is not rewritten. An answer (a response with SDP, or an ACK with SDP)
 *     scopes the pinholes the phone's offer opened; an offer (other requests with SDP) is
 *     remembered, so that the phone's answer opens its pinholes already scoped.
 *   - 2xx to REGISTER: the binding lives as long as the registrar granted (first Contact's
 *     expires=, else Expires:; 0 = un-REGISTER: the binding goes at the next sweep).
 *   - BYE, CANCEL, a final non-2xx to INVITE: the call's remembered pinholes are closed.
 */
#ifndef SIPALG_SIP_IN_BPF_H
#define SIPALG_SIP_IN_BPF_H

#include "binding.bpf.h"
#include "sip_media.bpf.h"
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
    struct sipalg_scan_result *sc = &c->rw->w.sc;
    struct sipalg_port *b = c->bind;
    __s32 expires;
    __u32 ip;

    bpf_loop(sc->n_occ & (2 * SIPALG_MAX_OCC - 1), sipalg_in_occ_cb, c, 0);
    expires = sipalg_in_reg_expires(sc);
    if (expires >= 0)
        sipalg_binding_set_lifetime(c->st, c->m->public_port, (__u32)expires);
    if (!b)
        return;
    if (sipalg_media_call_over(sc)) {
        sipalg_media_close(c->st, b, c->m->public_port);
        return;
    }
    if (!(sc->sdp.flags & SIPALG_SF_PRESENT) || !sc->sdp.n_media)
        return;
    if (!sc->is_request || sc->method == SIPALG_M_ACK) {
        sipalg_media_scope(b, c->m->public_port, sc);
        return;
    }
    ip = sipalg_sdp_media_ip(sc, 0, 0);
    if (ip)
        b->remote_ip = bpf_htonl(ip);
}

#endif /* SIPALG_SIP_IN_BPF_H */
