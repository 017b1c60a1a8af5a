/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Aging: a BPF timer (in the pinned state map, so it keeps running after the loader exits and
 * stops when the instance is unloaded) ticks every SIPALG_TICK_NS. Each tick advances the ALG
 * clock, while the ALG is enabled only, and sweeps SIPALG_SWEEP_CHUNK port slots: bindings past
 * their expiry and pinholes idle for pin_idle_s are removed. Nothing depends on packets
 * arriving: a phone that vanishes loses its state on time.
 *
 * Why a timer and not a daemon: aging then needs no process to be kept alive (the e2e harness
 * and most routers just run `sipalg load`), it runs next to the data under the same atomic
 * rules as the fast path, and a sweep of 16384 slots costs well under a millisecond per tick.
 */
#ifndef SIPALG_AGING_BPF_H
#define SIPALG_AGING_BPF_H

#include "binding.bpf.h"
#include "signal_policy.bpf.h"
#include "pinhole.bpf.h"
#include "route.bpf.h"

#define SIPALG_CLOCK_MONOTONIC 1

struct sipalg_sweep_ctx {
    const struct sipalg_config *cfg;
    struct sipalg_state *st;
    __u32 base;
    __u32 now;
    __u32 gen;
};

/* Keeps the binding of a phone with live media from expiring under a long call that has no
 * SIP traffic of its own (no re-INVITEs, no OPTIONS), so that the BYE can still get in. */
static __always_inline void sipalg_keep_owner(const struct sipalg_config *cfg,
                                              const struct sipalg_slot *pin, __u32 now) {
    struct sipalg_slot *b;
    __u32 until;

    if (!pin->owner)
        return;
    b = sipalg_port_slot(pin->owner);
    if (!b || !sipalg_slot_is(b, SIPALG_SLOT_BINDING, pin->priv_ip, b->priv_port))
        return;
    until = now + cfg->bind_lifetime_s;
    if (sipalg_before(b->stamp, until))
        b->stamp = until;
}

/* Ages one slot; returns 1 if it was removed. */
static __always_inline int sipalg_age_slot(const struct sipalg_config *cfg, struct sipalg_state *st,
                                           __u32 port, __u32 now, __u32 gen) {
    struct sipalg_slot *s = sipalg_port_slot(port);

    if (!s)
        return 0;
    if (s->state == SIPALG_SLOT_BINDING) {
        if (!sipalg_before(now, s->stamp)) /* now >= expiry */
            return sipalg_binding_remove(st, port, s);
    } else if (s->state == SIPALG_SLOT_PINHOLE) {
        /* A pinhole a dialog uses lives as long as the dialog does (hold, no RTCP). */
        if (!s->refs && now - s->stamp >= cfg->pin_idle_s && (__s32)(now - s->stamp) >= 0)
            return sipalg_pinhole_remove(st, port, s);
        sipalg_keep_owner(cfg, s, now);
        sipalg_route_expire(s, gen);
    }
    return 0;
}

static long sipalg_sweep_cb(__u32 i, void *vctx) {
    struct sipalg_sweep_ctx *c = vctx;

    sipalg_age_slot(c->cfg, c->st, (c->base + i) & (SIPALG_SLOTS_ENTRIES - 1), c->now, c->gen);
    return 0;
}

/* Ages `n` slots starting at `base` (wrapping), at ALG clock `now`. */
static __always_inline void sipalg_sweep(const struct sipalg_config *cfg, struct sipalg_state *st,
                                         __u32 base, __u32 n, __u32 now) {
    struct sipalg_sweep_ctx c = {
            .cfg = cfg, .st = st, .base = base, .now = now, .gen = st->route_gen};

    bpf_loop(n, sipalg_sweep_cb, &c, 0);
}

struct bpf_map;

struct sipalg_dialog_sweep_ctx {
    struct sipalg_state *st;
    __u32 now;
    __u32 idle;
};

static long sipalg_dialog_sweep_cb(struct bpf_map *map, struct sipalg_dialog_key *k,
                                   struct sipalg_dialog *d, struct sipalg_dialog_sweep_ctx *c) {
    (void)map;
    if (!(d->state & SIPALG_DLG_DEAD) && sipalg_dialog_expired(d, k->bind_port, c->idle, c->now))
        sipalg_dialog_end(c->st, k, d, SIPALG_CTR_DLG_TIMEOUT);
    return 0;
}

/* Ends the dialogs that timed out at ALG clock `now`: one pass over the table. */
static __always_inline void sipalg_dialog_sweep(struct sipalg_state *st, __u32 now) {
    const struct sipalg_limits *lim = sipalg_lim();
    struct sipalg_dialog_sweep_ctx c = {.st = st, .now = now, .idle = SIPALG_DLG_IDLE_DEFAULT_S};

    if (lim && lim->dlg_idle_s)
        c.idle = lim->dlg_idle_s;
    bpf_for_each_map_elem(&sipalg_dialogs, sipalg_dialog_sweep_cb, &c, 0);
}

/* Advances the ALG clock to CLOCK_MONOTONIC `mono_ns` (only counting enabled time). */
static __always_inline void sipalg_clock_advance(struct sipalg_state *st, __u64 mono_ns,
                                                 int enabled) {
    if (st->last_tick_ns && mono_ns > st->last_tick_ns && enabled)
        st->alg_ns += mono_ns - st->last_tick_ns;
    st->last_tick_ns = mono_ns;
    /* +1: the clock never reads 0 once the timer runs, so 0 can mean "never". */
    st->now_s = (__u32)(st->alg_ns / 1000000000ull) + 1;
}

/* Timer callback: clock, one sweep chunk, re-arm. */
static int sipalg_tick(void *map, __u32 *key, struct sipalg_state *st) {
    const struct sipalg_config *cfg = sipalg_cfg();
    int enabled = cfg && cfg->enabled;

    (void)map;
    (void)key;
    sipalg_clock_advance(st, bpf_ktime_get_ns(), enabled);
    /* A new route generation every second: cached routes are at most that old. */
    if (st->ticks % (1000000000ull / SIPALG_TICK_NS) == 0)
        st->route_gen = sipalg_route_gen_next(st->route_gen);
    /* While disabled the clock stands still: nothing can expire, so skip the sweep too. */
    if (cfg && enabled) {
        /* Dialogs once a second, before the port slots: what a dialog let go of may then
         * age in the same pass. */
        if (st->ticks % (1000000000ull / SIPALG_TICK_NS) == 0) {
            sipalg_dialog_sweep(st, st->now_s);
            sipalg_reg_sweep(st->now_s);
        }
        sipalg_sweep(cfg, st, st->cursor, SIPALG_SWEEP_CHUNK, st->now_s);
        st->cursor = (st->cursor + SIPALG_SWEEP_CHUNK) & (SIPALG_SLOTS_ENTRIES - 1);
    }
    st->ticks++;
    sipalg_count(SIPALG_CTR_AGING_TICKS);
    bpf_timer_start(&st->timer, SIPALG_TICK_NS, 0);
    return 0;
}

/* Arms the timer; -EBUSY from bpf_timer_init means it already runs, which is fine. */
static __always_inline int sipalg_timer_start(struct sipalg_state *st) {
    long err = bpf_timer_init(&st->timer, &sipalg_state, SIPALG_CLOCK_MONOTONIC);

    if (err == -EBUSY)
        return 0;
    if (err)
        return (int)err;
    err = bpf_timer_set_callback(&st->timer, sipalg_tick);
    if (err)
        return (int)err;
    return (int)bpf_timer_start(&st->timer, 0, 0);
}

#endif /* SIPALG_AGING_BPF_H */
