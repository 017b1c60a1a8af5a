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
    struct sipalg_port *s;
    __u32 port;

    /* public_port is the first member of both value structs. */
    if (!pub)
        return -ENOENT;
    port = *pub;
    s = sipalg_port_slot(port);
    if (!s ||
        !sipalg_port_is(s, pinhole ? SIPALG_PORT_PINHOLE : SIPALG_PORT_BINDING, ep.ip, ep.port)) {
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
        sipalg_sweep(cfg, st, 0, SIPALG_PORTS_ENTRIES, st->now_s);
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
    default:
        a->result = -EOPNOTSUPP;
    }
    return 0;
}
