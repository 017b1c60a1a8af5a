/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Bindings: a phone's SIP socket (private ip:port) <-> a public port, created and refreshed by
 * the SIP the phone sends out, expiring with the registration lifetime (REGISTER) or a short
 * default (any other SIP). The forward entry is in sipalg_binds, the rest in the port slot.
 */
#ifndef SIPALG_BINDING_BPF_H
#define SIPALG_BINDING_BPF_H

#include "phone.bpf.h"
#include "ports.bpf.h"

/* Counts a new binding of phone `ip` against bind_max_phone; 0 and *counted, or -EDQUOT
 * (counted). A phone the per-phone table has no room for is let through uncounted when no
 * limit is set. */
static __always_inline int sipalg_binding_admit(__be32 ip, int *counted) {
    const struct sipalg_limits *lim = sipalg_lim();
    __u32 limit = lim ? lim->bind_max_phone : 0;
    struct sipalg_phone *ph = sipalg_phone_entry(ip);

    *counted = 0;
    if (!ph)
        return limit ? -EDQUOT : 0;
    if (sipalg_phone_take(&ph->bindings, limit ? limit : 0xffffffffu, &ph->bind_limit_hits,
                          SIPALG_CTR_BIND_LIMIT_PHONE))
        return -EDQUOT;
    *counted = 1;
    return 0;
}

/* Find, refresh or create the binding of `ep` for an outbound SIP message. Returns the public
 * port (host order), or 0 if no port could be had (the packet then passes untouched); *fresh
 * says whether this call created it. */
static __always_inline __u32 sipalg_binding_touch(const struct sipalg_config *cfg,
                                                  struct sipalg_state *st,
                                                  const struct sipalg_endpoint *ep, int is_register,
                                                  int *fresh) {
    __u32 lifetime = is_register ? cfg->reg_lifetime_s : cfg->bind_lifetime_s;
    __u32 now = st->now_s, expiry = now + lifetime, port = 0;
    struct sipalg_binding *b = bpf_map_lookup_elem(&sipalg_binds, ep);
    struct sipalg_binding val = {};
    struct sipalg_slot *s;
    int counted = 0;

    *fresh = 0;
    if (b) {
        s = sipalg_port_slot(b->public_port);
        if (s && sipalg_slot_is(s, SIPALG_SLOT_BINDING, ep->ip, ep->port)) {
            /* A REGISTER sets the lifetime (it may shorten it: the phone asked); other SIP
             * only extends, so an INVITE never cuts a registration short. */
            if (is_register) {
                s->stamp = expiry;
                b->lifetime_s = lifetime;
                b->flags |= SIPALG_BIND_REGISTER;
            } else if (sipalg_before(s->stamp, expiry)) {
                s->stamp = expiry;
            }
            sipalg_count(SIPALG_CTR_BIND_REFRESHED);
            return b->public_port;
        }
        if (s && s->state == SIPALG_SLOT_CLAIMED)
            return b->public_port; /* another CPU is creating it right now */
        /* The slot was taken over after this entry expired: start again. */
        if (b->flags & SIPALG_BIND_COUNTED)
            sipalg_phone_drop(ep->ip, SIPALG_PHONE_BINDINGS);
        bpf_map_delete_elem(&sipalg_binds, ep);
    }

    if (sipalg_binding_admit(ep->ip, &counted))
        return 0;
    s = sipalg_port_alloc(cfg, bpf_ntohs(ep->port), &port);
    if (!s) {
        if (counted)
            sipalg_phone_drop(ep->ip, SIPALG_PHONE_BINDINGS);
        sipalg_count(SIPALG_CTR_BIND_NO_PORT);
        return 0;
    }
    s->priv_ip = ep->ip;
    s->priv_port = ep->port;
    s->remote_ip = 0;
    s->remote_port = 0;
    s->stamp = expiry;
    s->owner = 0;
    s->refs = 0;
    s->route[0] = 0;
    s->route[1] = 0;
    val.public_port = (__u16)port;
    val.flags = (is_register ? SIPALG_BIND_REGISTER : 0) | (counted ? SIPALG_BIND_COUNTED : 0);
    val.lifetime_s = lifetime;
    if (bpf_map_update_elem(&sipalg_binds, ep, &val, BPF_NOEXIST) != 0) {
        /* Lost a race with another CPU for the same phone (or the map is full). */
        sipalg_slot_release(s, SIPALG_SLOT_CLAIMED);
        if (counted)
            sipalg_phone_drop(ep->ip, SIPALG_PHONE_BINDINGS);
        b = bpf_map_lookup_elem(&sipalg_binds, ep);
        if (!b)
            sipalg_count(SIPALG_CTR_BIND_NO_PORT);
        return b ? b->public_port : 0;
    }
    sipalg_slot_publish(s, SIPALG_SLOT_BINDING);
    __sync_fetch_and_add(&st->bindings, 1);
    sipalg_count(SIPALG_CTR_BIND_CREATED);
    *fresh = 1;
    return port;
}

/* Removes the binding held in slot `s` of public port `port` (aging, un-REGISTER, admin). */
static __always_inline int sipalg_binding_remove(struct sipalg_state *st, __u32 port,
                                                 struct sipalg_slot *s) {
    struct sipalg_endpoint ep = {.ip = s->priv_ip, .port = s->priv_port};
    struct sipalg_binding *b = bpf_map_lookup_elem(&sipalg_binds, &ep);
    int counted = 0;

    if (b && b->public_port == port) {
        counted = b->flags & SIPALG_BIND_COUNTED;
        bpf_map_delete_elem(&sipalg_binds, &ep);
    }
    if (!sipalg_slot_release(s, SIPALG_SLOT_BINDING))
        return 0;
    if (counted)
        sipalg_phone_drop(ep.ip, SIPALG_PHONE_BINDINGS);
    __sync_fetch_and_add(&st->bindings, -1);
    sipalg_count(SIPALG_CTR_BIND_EXPIRED);
    return 1;
}

/* Removes the binding of public port `port` that the message being handled has just created. */
static __always_inline void sipalg_binding_undo(struct sipalg_state *st, __u32 port) {
    struct sipalg_slot *s = sipalg_port_slot(port);

    if (s && s->state == SIPALG_SLOT_BINDING)
        sipalg_binding_remove(st, port, s);
}

/*
 * For the SIP rewriter: the registrar's answer says how long the registration lives.
 * 0 (un-REGISTER) expires the binding at the next sweep (<= 1 s), after this answer has been
 * forwarded to the phone.
 */
static __always_inline void sipalg_binding_set_lifetime(struct sipalg_state *st, __u32 port,
                                                        __u32 lifetime_s) {
    struct sipalg_slot *s = sipalg_port_slot(port);
    struct sipalg_endpoint ep;
    struct sipalg_binding *b;

    if (!s || s->state != SIPALG_SLOT_BINDING)
        return;
    s->stamp = st->now_s + lifetime_s;
    ep.ip = s->priv_ip;
    ep.port = s->priv_port;
    ep.pad = 0;
    b = bpf_map_lookup_elem(&sipalg_binds, &ep);
    if (b && b->public_port == port)
        b->lifetime_s = lifetime_s;
}

#endif /* SIPALG_BINDING_BPF_H */
