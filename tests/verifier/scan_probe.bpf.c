// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Verifier probe for include/sipalg: proves that scan + apply load in the kernel and measures
 * them. Not a product program (bpf/ holds those): XDP, IPv4/UDP only, fixed fake NAT decisions.
 *
 * Copies the UDP payload into a per-CPU scratch map value (struct sipalg_work), scans it with the
 * LAN prefix 192.168.0.0/16, maps every occurrence to 203.0.113.1 and a port derived from the
 * original (SIP: +10000, media: 40000 + 2 * index, RTCP + 1), applies, and writes the rewritten
 * payload back into the frame (tail adjusted, IPv4/UDP lengths fixed, UDP checksum 0, IPv4
 * checksum recomputed). The last verdict and lengths are kept in probe_stats for the runner.
 * With probe_stats.bench set it stops after apply: test_run repeats then rewrite the original
 * frame every time (a written-back frame would be the input of the next repetition).
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "sipalg/sipalg.h"

#include "probe_stats.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct sipalg_work);
} probe_work SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct probe_stats);
} probe_stats SEC(".maps");

#define PUBLIC_IP SIPALG_IPV4(203, 0, 113, 1)
#define PAYLOAD_OFF (sizeof(struct ethhdr) + sizeof(struct iphdr) + sizeof(struct udphdr))

/* The "NAT decisions" a real program takes from its binding and pinhole maps. */
static long fake_map_cb(__u32 i, void *vctx) {
    struct sipalg_ctx *ctx = vctx;
    struct sipalg_occ *o = &ctx->sc->occ[SIPALG_SLOT(i, SIPALG_MAX_OCC)];

    switch (o->kind) {
    case SIPALG_OCC_SIP_HOST:
    case SIPALG_OCC_SIP_RPORT:
        sipalg_occ_set(o, PUBLIC_IP, o->port ? o->port + 10000 : 0);
        break;
    case SIPALG_OCC_SDP_MEDIA_PORT:
        sipalg_occ_set(o, PUBLIC_IP, 40000 + 2 * (o->media & 7));
        break;
    case SIPALG_OCC_SDP_RTCP_PORT:
        sipalg_occ_set(o, PUBLIC_IP, 40001 + 2 * (o->media & 7));
        break;
    case SIPALG_OCC_SIP_ADDR:
    case SIPALG_OCC_SDP_ORIGIN:
    case SIPALG_OCC_SDP_CONN:
    case SIPALG_OCC_SDP_RTCP_ADDR:
        sipalg_occ_set(o, PUBLIC_IP, 0);
        break;
    default:
        break;
    }
    return 0;
}

static __always_inline __u16 csum_fold(__u32 s) {
    s = (s & 0xffff) + (s >> 16);
    s = (s & 0xffff) + (s >> 16);
    return (__u16)~s;
}

SEC("xdp")
int scan_probe(struct xdp_md *xdp) {
    void *data = (void *)(long)xdp->data, *end = (void *)(long)xdp->data_end;
    struct ethhdr *eth = data;
    struct iphdr *ip = data + sizeof(*eth);
    struct udphdr *udp = (void *)(ip + 1);
    struct sipalg_match match = {.n = 1, .p = {{SIPALG_IPV4(192, 168, 0, 0), 0xffff0000u}}};
    struct probe_stats *ps;
    struct sipalg_work *w;
    struct sipalg_ctx ctx;
    __u32 key = 0, plen, out_len = 0, k, sum = 0;
    __u16 *w16;
    int v;

    if ((void *)(udp + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP) || ip->ihl != 5 ||
        ip->protocol != IPPROTO_UDP)
        return XDP_PASS;
    plen = bpf_ntohs(udp->len) - sizeof(*udp);
    w = bpf_map_lookup_elem(&probe_work, &key);
    ps = bpf_map_lookup_elem(&probe_stats, &key);
    if (!w || !ps)
        return XDP_PASS;
    if (plen == 0 || plen > SIPALG_MSG_MAX) {
        ps->verdict = SIPALG_TOO_BIG;
        return XDP_PASS;
    }
    if (bpf_xdp_load_bytes(xdp, PAYLOAD_OFF, w->msg, plen))
        return XDP_PASS;

#ifdef PROBE_COPY_ONLY /* cost breakdown: copy-in only */
    return XDP_PASS;
#endif
#ifdef PROBE_INDEX_ONLY /* cost breakdown: copy-in + line index */
    {
        struct sipalg_ctx ictx = {w->msg, w->out, &w->sc};

        w->sc.len = plen;
        sipalg_index_lines(&ictx);
        return XDP_PASS;
    }
#endif
    v = sipalg_scan(w->msg, plen, &match, 0, &w->sc);
#ifdef PROBE_SCAN_ONLY /* cost breakdown: copy-in + scan */
    return XDP_PASS;
#endif
    ps->scan_verdict = v;
    ps->n_occ = w->sc.n_occ;
    if (v != SIPALG_OK) {
        ps->verdict = v;
        return XDP_PASS;
    }
    ctx.msg = w->msg;
    ctx.out = w->out;
    ctx.sc = &w->sc;
    bpf_loop(w->sc.n_occ, fake_map_cb, &ctx, 0);
    v = sipalg_apply(w->msg, &w->sc, w->out, &out_len);
    ps->verdict = v;
    ps->out_len = out_len;
    if (v != SIPALG_OK || out_len == 0 || out_len > SIPALG_MSG_MAX || ps->bench)
        return XDP_PASS;

    /* Write back: resize, then the payload, then the headers (pointers are stale after resize). */
    if (bpf_xdp_adjust_tail(xdp, (int)out_len - (int)plen))
        return XDP_ABORTED;
    if (bpf_xdp_store_bytes(xdp, PAYLOAD_OFF, w->out, out_len))
        return XDP_ABORTED;
    data = (void *)(long)xdp->data;
    end = (void *)(long)xdp->data_end;
    ip = data + sizeof(struct ethhdr);
    udp = (void *)(ip + 1);
    if ((void *)(udp + 1) > end)
        return XDP_ABORTED;
    udp->len = bpf_htons(out_len + sizeof(*udp));
    udp->check = 0;
    ip->tot_len = bpf_htons(out_len + sizeof(*udp) + sizeof(*ip));
    ip->check = 0;
    w16 = (__u16 *)ip;
    for (k = 0; k < sizeof(*ip) / 2; k++)
        sum += w16[k];
    ip->check = csum_fold(sum);
    ps->rewritten++;
    return XDP_TX;
}
