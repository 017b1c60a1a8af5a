/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Which pinholes belong to which call. There is no dialog table: the binding's own port slot
 * (whose route[] and remote fields a binding does not otherwise use) remembers, per phone SIP
 * socket, the media of its latest SDP exchange:
 *   - route[0] / route[1]: the public ports of the RTP / RTCP pinholes the phone's last SDP
 *     opened, four 16-bit ports each (one per media line, SIPALG_MAX_MEDIA == 4);
 *   - remote_ip: the media address of the latest SDP offer that came in from the WAN (so that
 *     the phone's answer can open its pinholes already scoped).
 * Scoping an answer, and closing on BYE/CANCEL/final non-2xx, act on those. A phone with two
 * calls at once gets the right scope for the latest exchange; pinholes of an earlier call stay
 * as they were and age out on media inactivity.
 */
#ifndef SIPALG_SIP_MEDIA_BPF_H
#define SIPALG_SIP_MEDIA_BPF_H

#include "pinhole.bpf.h"
#include "sip_work.bpf.h"

_Static_assert(SIPALG_MAX_MEDIA == 4, "four 16-bit ports per route word");

union sipalg_media_ports {
    __u64 v;
    __u16 p[4];
};

/* The binding slot of public port `port`, if it still is that phone's binding. */
static __always_inline struct sipalg_port *sipalg_bind_slot(__u32 port, __be32 ip, __be16 sport) {
    struct sipalg_port *s = sipalg_port_slot(port);

    return s && sipalg_port_is(s, SIPALG_PORT_BINDING, ip, sport) ? s : NULL;
}

/* Remembers the pinholes an SDP opened: public RTP and RTCP port per media line (0: none). */
static __always_inline void sipalg_media_remember_ports(struct sipalg_port *b,
                                                        const __u16 *rtp_ports,
                                                        const __u16 *rtcp_ports) {
    union sipalg_media_ports rtp, rtcp;

#pragma unroll
    for (int i = 0; i < 4; i++) {
        rtp.p[i] = rtp_ports[i];
        rtcp.p[i] = rtcp_ports[i];
    }
    b->route[0] = rtp.v;
    b->route[1] = rtcp.v;
}

static __always_inline void sipalg_media_remember(struct sipalg_port *b,
                                                  const struct sipalg_rw_work *rw) {
    sipalg_media_remember_ports(b, rw->rtp, rw->rtcp);
}

/* The pinhole in slot `port` if it is one the phone's binding `owner` opened. */
static __always_inline struct sipalg_port *sipalg_media_pin(__u32 port, __u16 owner) {
    struct sipalg_port *s;

    if (!port)
        return NULL;
    s = sipalg_port_slot(port);
    return s && s->state == SIPALG_PORT_PINHOLE && s->owner == owner ? s : NULL;
}

/* Scopes the remembered pinholes of media line i to ip (RTP) / ip_c (RTCP); 0 keeps one. */
static __always_inline void sipalg_media_scope_line(struct sipalg_port *b, __u16 owner, int i,
                                                    __u32 ip, __u32 ip_c) {
    union sipalg_media_ports rtp = {.v = b->route[0]}, rtcp = {.v = b->route[1]};
    struct sipalg_port *s;

    s = sipalg_media_pin(rtp.p[i & 3], owner);
    if (s && ip) {
        s->remote_ip = bpf_htonl(ip);
        s->remote_port = 0;
    }
    s = sipalg_media_pin(rtcp.p[i & 3], owner);
    if (s && ip_c) {
        s->remote_ip = bpf_htonl(ip_c);
        s->remote_port = 0;
    }
}

/* The peer's answer: scope each remembered pinhole to the address of its media line (any
 * source port of it: RTP and RTCP senders need not use the ports they advertise). A rejected
 * line (port 0) or one without an IPv4 address leaves its pinholes as they are. */
static __always_inline void sipalg_media_scope(struct sipalg_port *b, __u16 owner,
                                               const struct sipalg_scan_result *sc) {
#pragma unroll
    for (int i = 0; i < 4; i++) {
        if (i >= sc->sdp.n_media || !sc->sdp.m[i].port)
            continue;
        sipalg_media_scope_line(b, owner, i, sipalg_sdp_media_ip(sc, i, 0),
                                sipalg_sdp_media_ip(sc, i, 1));
    }
}

/* The call is over (BYE, CANCEL, final non-2xx to INVITE): close the remembered pinholes. */
static __always_inline void sipalg_media_close(struct sipalg_state *st, struct sipalg_port *b,
                                               __u16 owner) {
    union sipalg_media_ports rtp = {.v = b->route[0]}, rtcp = {.v = b->route[1]};
    struct sipalg_port *s;

#pragma unroll
    for (int i = 0; i < 4; i++) {
        s = sipalg_media_pin(rtp.p[i], owner);
        if (s)
            sipalg_pinhole_remove(st, rtp.p[i], s);
        s = sipalg_media_pin(rtcp.p[i], owner);
        if (s)
            sipalg_pinhole_remove(st, rtcp.p[i], s);
    }
    b->route[0] = 0;
    b->route[1] = 0;
    b->remote_ip = 0;
}

/* Does this message end the call whose media the binding remembers? */
static __always_inline int sipalg_media_call_over(const struct sipalg_scan_result *sc) {
    if (sc->is_request)
        return sc->method == SIPALG_M_BYE || sc->method == SIPALG_M_CANCEL;
    return sc->cseq_method == SIPALG_M_INVITE && sc->status >= 300;
}

#endif /* SIPALG_SIP_MEDIA_BPF_H */
