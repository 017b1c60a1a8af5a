/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * State only for the sender: an SDP media line may open a pinhole only for a socket of the phone
 * that sent the message, on an unprivileged port. A line naming another host (a LAN neighbour,
 * the router, a NAT Slipstreaming payload) or a port below 1024 opens nothing: the rewrite still
 * hides the address, the port stays as written, and nobody is let in. Likewise a REGISTER may
 * only register the sender: a Contact naming another LAN host (a neighbour, the router) makes
 * the whole REGISTER the ALG's to leave alone. Written once for the fast path and the daemon.
 */
#ifndef SIPALG_SENDER_RULE_H
#define SIPALG_SENDER_RULE_H

#include "sipalg/sip_types.h"

#define SIPALG_MEDIA_PORT_MIN 1024u

/* May media line address media_ip:media_port (host order) get a pinhole for sender_ip? */
SIPALG_FN int sipalg_media_for_sender(sa_u32 media_ip, sa_u32 media_port, sa_u32 sender_ip) {
    return media_ip == sender_ip && media_port >= SIPALG_MEDIA_PORT_MIN;
}

/* May REGISTER occurrence o stand in a REGISTER of sender_ip (host order)? Only LAN addresses
 * are occurrences: a Contact naming a public host, a domain or 127.0.0.1 is no LAN host's and
 * is left as written. */
SIPALG_FN int sipalg_contact_for_sender(const struct sipalg_occ *o, sa_u32 sender_ip) {
    return o->kind != SIPALG_OCC_SIP_HOST || o->hdr != SIPALG_H_CONTACT || o->ip == sender_ip;
}

#endif /* SIPALG_SENDER_RULE_H */
