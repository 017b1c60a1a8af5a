/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * State only for the sender: an SDP media line may open a pinhole only for a socket of the phone
 * that sent the message, on an unprivileged port. A line naming another host (a LAN neighbour,
 * the router, a NAT Slipstreaming payload) or a port below 1024 opens nothing: the rewrite still
 * hides the address, the port stays as written, and nobody is let in. Written once for the fast
 * path and the daemon.
 */
#ifndef SIPALG_SENDER_RULE_H
#define SIPALG_SENDER_RULE_H

#include "sipalg/portable.h"

#define SIPALG_MEDIA_PORT_MIN 1024u

/* May media line address media_ip:media_port (host order) get a pinhole for sender_ip? */
SIPALG_FN int sipalg_media_for_sender(sa_u32 media_ip, sa_u32 media_port, sa_u32 sender_ip) {
    return media_ip == sender_ip && media_port >= SIPALG_MEDIA_PORT_MIN;
}

#endif /* SIPALG_SENDER_RULE_H */
