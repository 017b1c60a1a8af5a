// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The admin program (BPF_PROG_TYPE_SYSCALL, run by the loader and tests through
 * BPF_PROG_TEST_RUN with a struct sipalg_admin as context): arms the aging timer and performs
 * state changes that must follow the fast path's rules (port allocation, limits, counts), so
 * that the user-space side never writes bindings, pinholes or port slots itself.
 */
#include "aging.bpf.h"

static __always_inline int admin_close(struct sipalg_state *st, const struct sipalg_admin *a,
                                       int pinhole) {
    struct sipalg_endpoint ep = {.ip = a->priv_ip, .port = a->priv_port};
    __u16 *pub = pinhole ? bpf_map_lookup_elem(&sipalg_pins, &ep)
                         : bpf_map_lookup_elem(&sipalg_binds, &ep);
    struct sipalg_slot *s;
    __u32 port;

    /* public_port is the first member of both value structs. */
    if (!pub)
        return -ENOENT;
    port = *pub;
    s = sipalg_port_slot(port);
    if (!s ||
        !sipalg_slot_is(s, pinhole ? SIPALG_SLOT_PINHOLE : SIPALG_SLOT_BINDING, ep.ip, ep.port)) {
        /* A forward entry without its slot: drop it. */
        if (pinhole)
            bpf_map_delete_elem(&sipalg_pins, &ep);
        else
            bpf_map_delete_elem(&sipalg_binds, &ep);
        return -ENOENT;
    }
    if (pinhole)
        sipalg_pinhole_remove(st, port, s);
    else
        sipalg_binding_remove(st, port, s);
    return 0;
}

/* The binding slot of public port a->public_port, or NULL. */
static __always_inline struct sipalg_slot *admin_binding(const struct sipalg_admin *a) {
    struct sipalg_slot *s = sipalg_port_slot(a->public_port);

    return s && s->state == SIPALG_SLOT_BINDING ? s : NULL;
}

/* The slow-path daemon's view of the dialog table: the rules of dialog.bpf.h, for a message it
 * scanned itself (a->dm). */
static __always_inline int admin_dialog(struct sipalg_state *st, struct sipalg_admin *a) {
    const struct sipalg_slot *b = admin_binding(a);
    struct sipalg_dialog_key k;
    struct sipalg_dialog fresh;
    struct sipalg_dialog *d;

    if (!b)
        return -ENOENT;
    sipalg_dialog_key_of(&k, &a->dm, a->public_port);
    if (a->op == SIPALG_OP_DIALOG_BEGIN || a->op == SIPALG_OP_DIALOG_IN) {
        d = sipalg_dialog_get(st, &k, &a->dm, b->priv_ip, a->op == SIPALG_OP_DIALOG_IN, &fresh);
    } else {
        d = sipalg_dialog_find(&k);
    }
    if (!d)
        return -ENOENT;
    switch (a->op) {
    case SIPALG_OP_DIALOG_BEGIN:
#pragma unroll
        for (int i = 0; i < SIPALG_MAX_LINES_DLG; i++)
            a->ips[i] = d->peer_ip[i];
        break;
    case SIPALG_OP_DIALOG_OUT:
        if (!sipalg_dialog_signal(st, &k, d, &a->dm, 1))
            sipalg_dialog_sdp_out(st, d, &a->dm, a->public_port, &a->ports[0], &a->ports[4]);
        break;
    case SIPALG_OP_DIALOG_IN:
        if (!sipalg_dialog_signal(st, &k, d, &a->dm, 0))
            sipalg_dialog_sdp_in(st, d, &a->dm, a->public_port);
        break;
    default: /* SIPALG_OP_DIALOG_END */
        sipalg_dialog_end(st, &k, d, SIPALG_CTR_DLG_ENDED);
        break;
    }
    return 0;
}

/* The daemon's view of signal_policy.bpf.h, for a message it scanned itself (a->dm) between
 * the phone of binding a->public_port and the peer a->remote_ip. */
static __always_inline int admin_signal(const struct sipalg_config *cfg, struct sipalg_state *st,
                                        struct sipalg_admin *a) {
    const struct sipalg_slot *b = admin_binding(a);
    struct sipalg_dialog_key k;
    __u32 why;

    if (!b)
        return -ENOENT;
    if (!a->arg) {
        why = sipalg_rate_check(sipalg_lim(), &a->dm, b->priv_ip, 0);
        if (why) {
            sipalg_count((enum sipalg_counter)why);
            return -EAGAIN;
        }
        if (a->dm.is_request && a->dm.method == SIPALG_M_REGISTER)
            sipalg_reg_sent(cfg, st, a->public_port, b->priv_ip, b->priv_port, a->remote_ip,
                            &a->dm);
        return 0;
    }
    a->arg = 0;
    why = sipalg_sig_admits(st, a->public_port, b, a->remote_ip, &a->dm, &k);
    if (why) {
        sipalg_count((enum sipalg_counter)why);
        return -EACCES;
    }
    why = sipalg_rate_check(sipalg_lim(), &a->dm, a->remote_ip, 1);
    if (why) {
        sipalg_count((enum sipalg_counter)why);
        return -EAGAIN;
    }
    if (!a->dm.is_request && a->dm.cseq_method == SIPALG_M_REGISTER && a->dm.status >= 200 &&
        a->dm.status < 300)
        a->arg = (__u32)sipalg_reg_answered(st, a->public_port, b, a->remote_ip, &a->dm);
    return 0;
}

SEC("syscall")
int sipalg_admin(struct sipalg_admin *a) {
    const struct sipalg_config *cfg = sipalg_cfg();
    struct sipalg_state *st = sipalg_st();
    struct sipalg_pinhole_req rq = {};
    __u32 port = 0;

    if (!cfg || !st) {
        a->result = -ENOENT;
        return 0;
    }
    switch (a->op) {
    case SIPALG_OP_TIMER_START:
        a->result = sipalg_timer_start(st);
        break;
    case SIPALG_OP_SWEEP:
        sipalg_dialog_sweep(st, st->now_s);
        sipalg_sweep(cfg, st, 0, SIPALG_SLOTS_ENTRIES, st->now_s);
        sipalg_reg_sweep(st->now_s);
        a->result = 0;
        break;
    case SIPALG_OP_CLOCK_SET:
        st->alg_ns = (__u64)(a->arg ? a->arg - 1 : 0) * 1000000000ull;
        st->now_s = a->arg;
        /* Time has passed, as far as anyone can tell: routes are looked up again. */
        st->route_gen = sipalg_route_gen_next(st->route_gen);
        a->result = 0;
        break;
    case SIPALG_OP_PINHOLE_OPEN:
        if (!a->priv_ip || !a->priv_port) {
            a->result = -EINVAL;
            break;
        }
        rq.priv.ip = a->priv_ip;
        rq.priv.port = a->priv_port;
        rq.remote_ip = a->remote_ip;
        rq.remote_port = a->remote_port;
        rq.want_port = a->public_port;
        rq.owner = a->owner;
        rq.call = a->arg;
        a->result = sipalg_pinhole_open(cfg, st, &rq, &port);
        a->public_port = (__u16)port;
        break;
    case SIPALG_OP_PINHOLE_CLOSE:
        a->result = admin_close(st, a, 1);
        break;
    case SIPALG_OP_BINDING_CLOSE:
        a->result = admin_close(st, a, 0);
        break;
    case SIPALG_OP_BINDING_TOUCH: {
        struct sipalg_endpoint ep = {.ip = a->priv_ip, .port = a->priv_port};
        int fresh = 0;

        port = a->priv_ip && a->priv_port ? sipalg_binding_touch(cfg, st, &ep, a->arg != 0, &fresh)
                                          : 0;
        a->public_port = (__u16)port;
        a->result = port ? 0 : -EADDRINUSE;
        break;
    }
    case SIPALG_OP_BINDING_LIFETIME:
        if (!admin_binding(a)) {
            a->result = -ENOENT;
            break;
        }
        sipalg_binding_set_lifetime(st, a->public_port, a->arg);
        a->result = 0;
        break;
    case SIPALG_OP_DIALOG_BEGIN:
    case SIPALG_OP_DIALOG_OUT:
    case SIPALG_OP_DIALOG_IN:
    case SIPALG_OP_DIALOG_END:
        a->result = admin_dialog(st, a);
        break;
    case SIPALG_OP_SIGNAL:
        a->result = admin_signal(cfg, st, a);
        break;
    case SIPALG_OP_DAEMON_BEAT:
        st->slow_mark = a->arg;
        st->daemon_s = a->arg ? st->now_s + 1 : 0;
        st->daemon_ns = a->arg ? bpf_ktime_get_ns() : 0;
        a->result = 0;
        break;
    case SIPALG_OP_DAEMON_COUNT:
        /* The daemon's own counters only; its TCP proxy's limits are one contiguous run. */
        if (a->arg != SIPALG_CTR_DAEMON_HANDLED && a->arg != SIPALG_CTR_DAEMON_FAILED &&
            a->arg != SIPALG_CTR_DAEMON_DROPPED && a->arg != SIPALG_CTR_TCP_REFUSED &&
            a->arg != SIPALG_CTR_REG_NOT_SENDER &&
            (a->arg < SIPALG_CTR_TCP_LIMIT_TOTAL || a->arg > SIPALG_CTR_TCP_OVERFLOW)) {
            a->result = -EINVAL;
            break;
        }
        sipalg_count((enum sipalg_counter)a->arg);
        a->result = 0;
        break;
    default:
        a->result = -EOPNOTSUPP;
    }
    return 0;
}
