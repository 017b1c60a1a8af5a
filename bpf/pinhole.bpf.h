/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Pinholes: a phone's media socket (private ip:port) <-> a public port, scoped to the remote
 * media address once the SDP exchange says what it is: only that source gets in (no full
 * cone). Opened by the SIP rewriter (or `sipalg pinholes add`), closed by aging on media
 * inactivity, bounded per phone and in total.
 */
#ifndef SIPALG_PINHOLE_BPF_H
#define SIPALG_PINHOLE_BPF_H

#include <asm-generic/errno.h>

#include "phone.bpf.h"
#include "ports.bpf.h"

/* Outbound: the pinhole slot of the phone's media socket `ep`, or NULL. */
static __always_inline struct sipalg_slot *sipalg_pinhole_out(const struct sipalg_endpoint *ep,
                                                              __u32 *public_port) {
    const struct sipalg_pinhole *ph = bpf_map_lookup_elem(&sipalg_pins, ep);
    struct sipalg_slot *s;

    if (!ph)
        return NULL;
    s = sipalg_port_slot(ph->public_port);
    if (!s || !sipalg_slot_is(s, SIPALG_SLOT_PINHOLE, ep->ip, ep->port))
        return NULL;
    *public_port = ph->public_port;
    return s;
}

enum sipalg_admit {
    SIPALG_ADMIT_OK = 0,
    SIPALG_ADMIT_PENDING = 1, /* remote not known yet: nothing gets in */
    SIPALG_ADMIT_SCOPE = 2,   /* another source */
};

/* Inbound: may a packet from saddr:sport use the pinhole in slot `s`? A pinhole scoped to the
 * peer's address only (the SDP names where the peer receives, not where it sends from) latches
 * on to the source port of the first packet from that address, as Linux's expectation does when
 * its first packet makes the conntrack entry: from then on only that port gets in, so another
 * socket of the same host (or a spoofer that came second) does not. The latch is a
 * compare-and-swap of the word holding priv_port and remote_port (little-endian: remote_port
 * is its upper half), so racing CPUs agree on one port. */
static __always_inline int sipalg_pinhole_admits(struct sipalg_slot *s, __be32 saddr,
                                                 __be16 sport) {
    __u32 *word, priv;

    if (!s->remote_ip)
        return SIPALG_ADMIT_PENDING;
    if (s->remote_ip != saddr)
        return SIPALG_ADMIT_SCOPE;
    if (!s->remote_port) {
        word = (__u32 *)&s->priv_port;
        priv = (__u32)s->priv_port;
        __sync_val_compare_and_swap(word, priv, priv | ((__u32)sport << 16));
    }
    return s->remote_port == sport ? SIPALG_ADMIT_OK : SIPALG_ADMIT_SCOPE;
}

/* Media seen: only write when the second changes, so a busy flow does not keep dirtying the
 * cache line other CPUs read. */
static __always_inline void sipalg_pinhole_seen(struct sipalg_slot *s, __u32 now) {
    if (s->stamp != now)
        s->stamp = now;
}

/* Counts a new pinhole against the phone's limit; 0, -EDQUOT or -ENOSPC. */
static __always_inline int sipalg_phone_get(const struct sipalg_config *cfg, __be32 ip) {
    struct sipalg_phone *ph = sipalg_phone_entry(ip);

    if (!ph)
        return -ENOSPC;
    return sipalg_phone_take(&ph->pinholes, cfg->pin_max_phone, &ph->limit_hits,
                             SIPALG_CTR_PIN_LIMIT_PHONE);
}

struct sipalg_pinhole_req {
    struct sipalg_endpoint priv; /* the phone's media socket */
    __be32 remote_ip;            /* scope (0: not known yet) */
    __be16 remote_port;          /* 0: latched on to by the first packet from remote_ip */
    __u16 want_port;             /* public port wanted (0: the private port if free, else any) */
    __u16 owner;                 /* public port of the phone's binding (0: none) */
    __u16 pad;
    __u32 call; /* Call-ID hash (0: unknown) */
};

/*
 * Opens (or, if the phone's socket already has one, re-scopes and refreshes) a pinhole.
 * Returns 0 and the public port in *port, or -errno: EDQUOT/ENOSPC (limits), EADDRINUSE (no
 * free public port).
 */
static __always_inline int sipalg_pinhole_open(const struct sipalg_config *cfg,
                                               struct sipalg_state *st,
                                               const struct sipalg_pinhole_req *rq, __u32 *port) {
    struct sipalg_pinhole val = {};
    struct sipalg_slot *s;
    __u32 got = 0;
    int err;

    s = sipalg_pinhole_out(&rq->priv, &got);
    if (s) {
        /* The same peer again keeps the port its media latched on to. */
        if (rq->remote_ip && (rq->remote_ip != s->remote_ip || rq->remote_port)) {
            s->remote_ip = rq->remote_ip;
            s->remote_port = rq->remote_port;
        }
        s->stamp = st->now_s;
        *port = got;
        return 0;
    }
    if (st->pinholes >= cfg->pin_max_total) {
        sipalg_count(SIPALG_CTR_PIN_LIMIT_TOTAL);
        return -ENOSPC;
    }
    err = sipalg_phone_get(cfg, rq->priv.ip);
    if (err)
        return err;
    s = sipalg_port_alloc(cfg, rq->want_port ? rq->want_port : bpf_ntohs(rq->priv.port), &got);
    if (!s) {
        sipalg_phone_drop(rq->priv.ip, SIPALG_PHONE_PINHOLES);
        sipalg_count(SIPALG_CTR_PIN_NO_PORT);
        return -EADDRINUSE;
    }
    s->priv_ip = rq->priv.ip;
    s->priv_port = rq->priv.port;
    s->remote_ip = rq->remote_ip;
    s->remote_port = rq->remote_port;
    s->stamp = st->now_s;
    s->owner = rq->owner;
    s->refs = 0;
    s->route[0] = 0;
    s->route[1] = 0;
    val.public_port = (__u16)got;
    val.call = rq->call;
    /* BPF_ANY: a stale entry whose slot was reused is simply replaced. */
    if (bpf_map_update_elem(&sipalg_pins, &rq->priv, &val, BPF_ANY) != 0) {
        sipalg_slot_release(s, SIPALG_SLOT_CLAIMED);
        sipalg_phone_drop(rq->priv.ip, SIPALG_PHONE_PINHOLES);
        sipalg_count(SIPALG_CTR_PIN_LIMIT_TOTAL);
        return -ENOSPC;
    }
    sipalg_slot_publish(s, SIPALG_SLOT_PINHOLE);
    __sync_fetch_and_add(&st->pinholes, 1);
    sipalg_count(SIPALG_CTR_PIN_CREATED);
    *port = got;
    return 0;
}

/* The pinhole in slot `port` if it is one the phone's binding `owner` opened. */
static __always_inline struct sipalg_slot *sipalg_owned_pin(__u32 port, __u16 owner) {
    struct sipalg_slot *s;

    if (!port)
        return NULL;
    s = sipalg_port_slot(port);
    return s && s->state == SIPALG_SLOT_PINHOLE && s->owner == owner ? s : NULL;
}

/* refs is the upper half of the aligned 32-bit word it shares with owner (BPF atomics are 32 or
 * 64 bits wide): adding 1 << 16 changes refs alone, the carry out of the word is dropped. */
#define SIPALG_PIN_REF 0x10000u

static __always_inline __u32 *sipalg_pin_ref_word(struct sipalg_slot *s) {
    return (__u32 *)&s->owner;
}

/* A dialog's media line starts using the pinhole in slot `port`. */
static __always_inline void sipalg_pinhole_ref(__u32 port, __u16 owner) {
    struct sipalg_slot *s = sipalg_owned_pin(port, owner);

    if (s)
        __sync_fetch_and_add(sipalg_pin_ref_word(s), SIPALG_PIN_REF);
}

/* Points a pinhole at the peer's media address: its first packet then latches the source port
 * (sipalg_pinhole_admits). The same address again keeps the latched port. */
static __always_inline void sipalg_pinhole_scope(__u32 port, __u16 owner, __be32 ip) {
    struct sipalg_slot *s = sipalg_owned_pin(port, owner);

    if (s && ip && ip != s->remote_ip) {
        s->remote_ip = ip;
        s->remote_port = 0;
    }
}

/* Closes the pinhole held in slot `s` of public port `port` (aging, BYE, admin). */
static __always_inline int sipalg_pinhole_remove(struct sipalg_state *st, __u32 port,
                                                 struct sipalg_slot *s) {
    struct sipalg_endpoint ep = {.ip = s->priv_ip, .port = s->priv_port};
    struct sipalg_pinhole *ph = bpf_map_lookup_elem(&sipalg_pins, &ep);

    if (ph && ph->public_port == port)
        bpf_map_delete_elem(&sipalg_pins, &ep);
    if (!sipalg_slot_release(s, SIPALG_SLOT_PINHOLE))
        return 0;
    sipalg_phone_drop(ep.ip, SIPALG_PHONE_PINHOLES);
    __sync_fetch_and_add(&st->pinholes, -1);
    sipalg_count(SIPALG_CTR_PIN_EXPIRED);
    return 1;
}

/* A dialog's media line stops using the pinhole in slot `port`: the last one closes it. */
static __always_inline void sipalg_pinhole_unref(struct sipalg_state *st, __u32 port, __u16 owner) {
    struct sipalg_slot *s = sipalg_owned_pin(port, owner);
    __u32 old;

    if (!s)
        return;
    old = __sync_fetch_and_add(sipalg_pin_ref_word(s), -SIPALG_PIN_REF);
    if ((old >> 16) <= 1)
        sipalg_pinhole_remove(st, port, s);
}

#endif /* SIPALG_PINHOLE_BPF_H */
