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

#include "sipalg/ip_match.h"

#define SIPALG_MEDIA_PORT_MIN 1024u

/* May media line address media_ip:media_port (host order) get a pinhole for sender_ip? */
SIPALG_FN int sipalg_media_for_sender(sa_u32 media_ip, sa_u32 media_port, sa_u32 sender_ip) {
    return media_ip == sender_ip && media_port >= SIPALG_MEDIA_PORT_MIN;
}

/* Addresses that are nobody's to register or to send media from: loopback, 0.0.0.0/8 (0.0.0.0
 * itself is never matched: SDP holds with it), multicast, reserved and broadcast. Outbound they
 * are looked for next to the LAN prefixes, so that a REGISTER naming one is caught, and never
 * rewritten. Host order. */
SIPALG_FN int sipalg_ip_special(sa_u32 ip) {
    return (ip >> 24) == 0 || (ip >> 24) == 127 || (ip >> 29) == 7;
}

SIPALG_FN void sipalg_match_special(struct sipalg_match *mt) {
    sipalg_match_add(mt, 0x00000000u, 8);
    sipalg_match_add(mt, 0x7f000000u, 8);
    sipalg_match_add(mt, 0xe0000000u, 3);
}

/* May REGISTER occurrence o stand in a REGISTER of sender_ip whose binding is public_ip :
 * bind_port (host order)? Outbound the occurrences are the LAN addresses, the special ones and
 * the public address. A Contact may name the sender itself, or the public address with the
 * sender's own binding port (a phone that learned its mapping by STUN or rport); another public
 * host or a domain is no LAN host's and is left as written. */
SIPALG_FN int sipalg_contact_for_sender(const struct sipalg_occ *o, sa_u32 sender_ip,
                                        sa_u32 public_ip, sa_u32 bind_port) {
    if (o->kind != SIPALG_OCC_SIP_HOST || o->hdr != SIPALG_H_CONTACT || o->ip == sender_ip)
        return 1;
    return o->ip == public_ip && (o->port ? o->port : 5060u) == bind_port;
}

/* Outbound addresses the ALG only looks at, never rewrites: the special ones and the public
 * address (the phone's own NAT traversal already wrote it). */
SIPALG_FN int sipalg_ip_not_ours(sa_u32 ip, sa_u32 public_ip) {
    return ip == public_ip || sipalg_ip_special(ip);
}

#endif /* SIPALG_SENDER_RULE_H */
