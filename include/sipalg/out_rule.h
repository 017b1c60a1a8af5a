/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * What an outbound message's occurrences become: the one decision the fast path, the slow-path
 * daemon and the differential test's model all make, written once so that they cannot drift.
 * The callers differ only in where the public ports come from (the fast path's maps, the
 * daemon's own tables, the model's replay of the fast path's state).
 */
#ifndef SIPALG_OUT_RULE_H
#define SIPALG_OUT_RULE_H

#include "sipalg/sender_rule.h"

/* A SIP URI or Via without a port means this one. */
#define SIPALG_SIP_DEFAULT_PORT 5060u

enum sipalg_out_action {
    SIPALG_OUT_KEEP = 0,  /* left as written */
    SIPALG_OUT_ADDR,      /* the public address, the port as written */
    SIPALG_OUT_SIP,       /* the public address and the SIP socket's public port */
    SIPALG_OUT_MEDIA,     /* the public address and the media socket's pinhole */
    SIPALG_OUT_CAND_PORT, /* an ICE candidate's port: its media line's pinhole, if it has one */
};

/* The action for occurrence o of a message sent by sender_ip (host order). */
SIPALG_FN int sipalg_out_action(const struct sipalg_occ *o, sa_u32 public_ip, sa_u32 sender_ip) {
    if (sipalg_ip_not_ours(o->ip, public_ip)) /* only looked for (the REGISTER sender rule) */
        return SIPALG_OUT_KEEP;
    switch (o->kind) {
    case SIPALG_OCC_SIP_HOST:
    case SIPALG_OCC_SIP_RPORT:
        return SIPALG_OUT_SIP;
    case SIPALG_OCC_SIP_ADDR:
    case SIPALG_OCC_SDP_ORIGIN:
    case SIPALG_OCC_SDP_CONN:
    case SIPALG_OCC_SDP_RTCP_ADDR:
    case SIPALG_OCC_SDP_CAND_ADDR:
        return SIPALG_OUT_ADDR;
    case SIPALG_OCC_SDP_CAND_PORT:
        return SIPALG_OUT_CAND_PORT;
    case SIPALG_OCC_SDP_MEDIA_PORT:
    case SIPALG_OCC_SDP_RTCP_PORT:
        return SIPALG_OUT_MEDIA;
    case SIPALG_OCC_CALLID_HOST:
        /* Only the sender's own address: that is what inbound maps back (to the binding's
         * phone), so the dialog's Call-ID is the same on both sides of the router. */
        return o->ip == sender_ip ? SIPALG_OUT_ADDR : SIPALG_OUT_KEEP;
    default:
        return SIPALG_OUT_KEEP;
    }
}

/* The port to write for a SIP_HOST/SIP_RPORT occurrence whose socket has public port pub (0: no
 * binding): 1 with *port set (0 writes no port), or 0 to leave the occurrence as written. */
SIPALG_FN int sipalg_out_sip_port(const struct sipalg_occ *o, sa_u32 pub, sa_u32 *port) {
    if (o->kind == SIPALG_OCC_SIP_RPORT) {
        *port = pub;
        return pub != 0;
    }
    if (!pub) {
        *port = o->port;
        return 1;
    }
    /* Keep "no port" meaning 5060 only when it still does. */
    *port = (o->port || pub != SIPALG_SIP_DEFAULT_PORT) ? pub : 0;
    return 1;
}

/* The public port for ICE candidate port cand of media line md, whose RTP and RTCP sockets got
 * public ports rtp_pub and rtcp_pub (0: none); 0 leaves the candidate as written. */
SIPALG_FN sa_u32 sipalg_out_candidate_port(sa_u32 cand, const struct sipalg_sdp_media *md,
                                           sa_u32 rtp_pub, sa_u32 rtcp_pub) {
    sa_u32 rtcp = (md->flags & SIPALG_MF_RTCP) ? md->rtcp_port : md->port + 1u;

    if (cand == md->port && rtp_pub)
        return rtp_pub;
    if (cand == rtcp && rtcp_pub)
        return rtcp_pub;
    return 0;
}

#endif /* SIPALG_OUT_RULE_H */
