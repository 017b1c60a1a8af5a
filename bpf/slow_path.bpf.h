/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Handing a packet to the userspace slow path (`sipalg daemon`, loader/slow/).
 *
 * The packet is left untouched and passed to the stack, as before; if the daemon is attached
 * (heartbeat fresh, see SIPALG_DAEMON_STALE_S) it also gets the daemon's skb mark. The daemon's
 * nftables rule steers marked packets to its transparent socket (tproxy) after netfilter's
 * defragmentation: the first fragment carries the ports and the mark, and the reassembled
 * datagram inherits the first fragment's mark, so later fragments need no mark of their own.
 * Without a daemon, nothing is marked: the packet is forwarded untouched and counted by its
 * reason, exactly as when there is no slow path at all.
 */
#ifndef SIPALG_SLOW_PATH_BPF_H
#define SIPALG_SLOW_PATH_BPF_H

#include "sipalg_common.bpf.h"

/* Counts `why` and marks the packet for the daemon if one is attached. */
static __always_inline void
sipalg_to_slow_path(struct __sk_buff *skb, const struct sipalg_state *st, enum sipalg_counter why) {
    sipalg_count(why);
    if (!st || !sipalg_daemon_fresh(st))
        return;
    skb->mark = st->slow_mark;
    sipalg_count(SIPALG_CTR_DAEMON_HANDED);
}

#endif /* SIPALG_SLOW_PATH_BPF_H */
