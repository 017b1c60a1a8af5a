/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Outbound (LAN -> WAN) replacements, one occurrence per bpf_loop call:
 *   - SIP host[:port] / rport of the phone's own socket -> public IP : binding port;
 *   - another LAN ip:port that has a binding -> public IP : that binding's port;
 *   - any other LAN address -> the public IP, port kept (nothing to map it to; the address
 *     still must not leak);
 *   - received= / maddr=, SDP o= / c= / a=rtcp address -> the public IP;
 *   - a Call-ID "x@<the phone's address>" -> "x@<public IP>" (else the LAN address leaks);
 *   - SDP m= port -> a pinhole (RTP) for the media address and port, and one for RTCP on port+1
 *     when the line has no a=rtcp (asked for public RTP port + 1, as the peer will send there);
 *     a=rtcp port -> its own pinhole. The pinholes are scoped to the peer's media address of
 *     that line when the dialog knows it (an offer that came in, or an earlier exchange), else
 *     pending until the answer comes back; the dialog (dialog.bpf.h) records which exchange
 *     they belong to. Without a dialog (no Call-ID, limits) no pinhole is opened.
 *   - ICE a=candidate (and raddr/rport) naming a LAN socket: address -> the public IP; port ->
 *     the public port of the pinhole this SDP opened for that socket (the RTP or RTCP port of
 *     the same media line), else kept. A host candidate then names the pinhole, which is where
 *     the peer's media must go anyway; no pinhole is opened for a candidate alone.
 * A media line naming another host than the sender, or a port below 1024, opens nothing
 * (sipalg/sender_rule.h; counted pin_not_sender): its address is hidden, its port kept.
 * A pinhole that cannot be opened (limits, no port) leaves that port as it was: the call's
 * signalling still works, its media does not, and the limit counters say why.
 * Before any of that (signal_policy.bpf.h): a REGISTER or INVITE over its sender's rate is
 * dropped; a REGISTER whose Contact names another LAN host than the sender (a neighbour, the
 * router) is passed untouched and binds nothing (reg_not_sender); any other REGISTER records
 * the registrar it goes to, whose matching 2xx will let its requests in.
 */
#ifndef SIPALG_SIP_OUT_BPF_H
#define SIPALG_SIP_OUT_BPF_H

#include "signal_policy.bpf.h"
#include "sipalg/out_rule.h"
#include "sip_rw_ctx.bpf.h"
#include "sip_msg.bpf.h"

/* Public port for the LAN SIP socket ip:port (host order), or 0 if it has no binding. */
static __always_inline __u32 sipalg_out_sip_lookup(const struct sipalg_sip_msg *m, __u32 ip,
                                                   __u32 port) {
    struct sipalg_endpoint ep = {.ip = bpf_htonl(ip), .port = bpf_htons((__u16)port)};
    struct sipalg_binding *b;

    if (ep.ip == m->priv_ip && ep.port == m->priv_port)
        return m->public_port;
    b = bpf_map_lookup_elem(&sipalg_binds, &ep);
    return b ? b->public_port : 0;
}

static __always_inline void sipalg_out_sip(struct sipalg_rw_ctx *c, struct sipalg_occ *o,
                                           __u32 pub_ip) {
    __u32 eff = o->port ? o->port : SIPALG_SIP_DEFAULT_PORT;
    __u32 port;

    if (sipalg_out_sip_port(o, sipalg_out_sip_lookup(c->m, o->ip, eff), &port))
        sipalg_rw_set(c->rw, o, pub_ip, port);
}

/* Opens (or refreshes) the pinhole of LAN media socket ip:port of media line `line`, scoped to
 * the peer's address of that line if the dialog knows it; its public port or 0. */
static __always_inline __u32 sipalg_out_pin(struct sipalg_rw_ctx *c, __u32 line, __u32 ip,
                                            __u32 port, __u32 want) {
    const struct sipalg_dialog *d = c->dlg;
    struct sipalg_pinhole_req rq = {};
    __u32 got = 0;

    if (!d)
        return 0;
    rq.priv.ip = bpf_htonl(ip);
    rq.priv.port = bpf_htons((__u16)port);
    rq.want_port = (__u16)want;
    rq.owner = c->m->public_port;
    rq.remote_ip = d->peer_ip[line & (SIPALG_MAX_LINES_DLG - 1)];
    if (sipalg_pinhole_open(c->cfg, c->st, &rq, &got))
        return 0;
    c->rw->n_pin++;
    return got;
}

static __always_inline void sipalg_out_media(struct sipalg_rw_ctx *c, struct sipalg_occ *o,
                                             __u32 pub_ip) {
    struct sipalg_sip_scratch *rw = c->rw;
    __u32 i = o->media & (SIPALG_MAX_MEDIA - 1);
    const struct sipalg_sdp_media *md = &rw->w.sc.sdp.m[i];
    __u32 pub, pub_c;

    if (!o->port) /* rejected stream: no media */
        return;
    if (!sipalg_media_for_sender(o->ip, o->port, bpf_ntohl(c->m->priv_ip))) {
        sipalg_count(SIPALG_CTR_PIN_NOT_SENDER);
        return;
    }
    if (o->kind == SIPALG_OCC_SDP_RTCP_PORT) {
        pub_c = sipalg_out_pin(c, i, o->ip, o->port, rw->rtp[i] ? rw->rtp[i] + 1 : 0);
        if (pub_c) {
            rw->rtcp[i] = (__u16)pub_c;
            sipalg_rw_set(rw, o, pub_ip, pub_c);
        }
        return;
    }
    pub = sipalg_out_pin(c, i, o->ip, o->port, 0);
    if (!pub)
        return;
    rw->rtp[i] = (__u16)pub;
    sipalg_rw_set(rw, o, pub_ip, pub);
    if ((md->flags & SIPALG_MF_RTP) && !(md->flags & SIPALG_MF_RTCP) && o->port < 65535) {
        pub_c = sipalg_out_pin(c, i, o->ip, o->port + 1, pub + 1);
        rw->rtcp[i] = (__u16)pub_c;
    }
}

/* A LAN candidate's port: the pinhole its media line opened for the same socket, or kept. */
static __always_inline void sipalg_out_cand(struct sipalg_rw_ctx *c, struct sipalg_occ *o,
                                            __u32 pub_ip) {
    struct sipalg_sip_scratch *rw = c->rw;
    __u32 i = o->media & (SIPALG_MAX_MEDIA - 1);
    __u32 pub;

    if (o->media >= SIPALG_MAX_MEDIA)
        return;
    pub = sipalg_out_candidate_port(o->port, &rw->w.sc.sdp.m[i], rw->rtp[i], rw->rtcp[i]);
    if (pub)
        sipalg_rw_set(rw, o, pub_ip, pub);
}

static long sipalg_out_occ_cb(__u32 i, void *vctx) {
    struct sipalg_rw_ctx *c = vctx;
    struct sipalg_occ *o = &c->rw->w.sc.occ[SIPALG_SLOT(i, SIPALG_MAX_OCC)];
    __u32 pub_ip = bpf_ntohl(c->m->public_ip);

    switch (sipalg_out_action(o, pub_ip, bpf_ntohl(c->m->priv_ip))) {
    case SIPALG_OUT_SIP:
        sipalg_out_sip(c, o, pub_ip);
        break;
    case SIPALG_OUT_ADDR:
        sipalg_rw_set(c->rw, o, pub_ip, 0);
        break;
    case SIPALG_OUT_CAND_PORT:
        sipalg_out_cand(c, o, pub_ip);
        break;
    case SIPALG_OUT_MEDIA:
        sipalg_out_media(c, o, pub_ip);
        break;
    default:
        break;
    }
    return 0;
}

static long sipalg_out_contact_cb(__u32 i, void *vctx) {
    struct sipalg_rw_ctx *c = vctx;
    const struct sipalg_occ *o = &c->rw->w.sc.occ[SIPALG_SLOT(i, SIPALG_MAX_OCC)];

    if (sipalg_contact_for_sender(o, bpf_ntohl(c->m->priv_ip), bpf_ntohl(c->m->public_ip),
                                  c->m->public_port))
        return 0;
    c->rw->stop = SIPALG_RW_PASS;
    c->rw->stop_why = SIPALG_CTR_REG_NOT_SENDER;
    return 1;
}

/* The rules that may end a message before anything is decided for it (see the top). */
static __always_inline void sipalg_out_policy(struct sipalg_rw_ctx *c) {
    struct sipalg_sip_scratch *rw = c->rw;
    const struct sipalg_sip_msg *m = c->m;
    __u32 why = sipalg_rate_check(sipalg_lim(), &rw->dm, m->priv_ip, 0);

    if (why) {
        rw->stop = SIPALG_RW_REFUSE;
        rw->stop_why = why;
        return;
    }
    if (!rw->dm.is_request || rw->dm.method != SIPALG_M_REGISTER)
        return;
    if (rw->w.sc.contact_unspec) {
        rw->stop = SIPALG_RW_PASS;
        rw->stop_why = SIPALG_CTR_REG_NOT_SENDER;
        return;
    }
    bpf_loop(rw->w.sc.n_occ & (2 * SIPALG_MAX_OCC - 1), sipalg_out_contact_cb, c, 0);
    if (!rw->stop)
        sipalg_reg_sent(c->cfg, c->st, m->public_port, m->priv_ip, m->priv_port, m->peer_ip,
                        &rw->dm);
}

/* All outbound decisions for a scanned message in c->rw->w.sc. */
static __always_inline void sipalg_out_decide(struct sipalg_rw_ctx *c) {
    struct sipalg_sip_scratch *rw = c->rw;
    __u16 owner = c->m->public_port;

    sipalg_dialog_msg_of(&rw->dm, &rw->w.sc, rw->w.msg, bpf_ntohl(c->m->priv_ip),
                         bpf_ntohl(c->m->public_ip));
    sipalg_out_policy(c);
    if (rw->stop)
        return;
    sipalg_dialog_key_of(&rw->dkey, &rw->dm, owner);
    c->dlg = sipalg_dialog_get(c->st, &rw->dkey, &rw->dm, c->m->priv_ip, 0, &rw->dfresh);
    bpf_loop(rw->w.sc.n_occ & (2 * SIPALG_MAX_OCC - 1), sipalg_out_occ_cb, c, 0);
    if (!c->dlg || sipalg_dialog_signal(c->st, &rw->dkey, c->dlg, &rw->dm, 1))
        return;
    sipalg_dialog_sdp_out(c->st, c->dlg, &rw->dm, owner, rw->rtp, rw->rtcp);
}

#endif /* SIPALG_SIP_OUT_BPF_H */
