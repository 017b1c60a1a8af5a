/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * bench/media_fwd: the two XDP programs of the media forwarding benchmark (media_fwd.py).
 *
 *   mf_sink      on the endpoints' veths (LAN host, Internet host), in every configuration:
 *                counts and drops the benchmark's media (IPv4 UDP to a port in
 *                [port_lo, port_hi]); everything else (ARP, SIP) passes. So the receiver costs
 *                the same tiny amount in every configuration and the count is exact. It is also
 *                the XDP program a veth needs on the receiving peer of an XDP redirect.
 *   mf_redirect  configuration (e), the ceiling: on the router's LAN and WAN veths, media is
 *                sent straight to the other veth: MACs rewritten, TTL decremented (incremental
 *                checksum), bpf_redirect(). No NAT, no lookup of any kind.
 *
 * Each attachment is its own instance of this object (the parameters are .rodata constants
 * set before load), so the counters are per interface.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

const volatile __u16 port_lo = 20000;
const volatile __u16 port_hi = 59999;
const volatile __u32 out_ifindex = 0;
const volatile __u8 out_smac[ETH_ALEN] = {};
const volatile __u8 out_dmac[ETH_ALEN] = {};

/* [0]: media packets counted (sink: dropped; redirect: redirected). Per CPU: no atomics. */
struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, __u64);
} mf_count SEC(".maps");

static __always_inline struct iphdr *media_ip(struct xdp_md *ctx) {
    void *data = (void *)(long)ctx->data;
    void *end = (void *)(long)ctx->data_end;
    struct ethhdr *eth = data;
    struct iphdr *ip;
    struct udphdr *udp;
    __u16 d;

    if ((void *)(eth + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP))
        return 0;
    ip = (void *)(eth + 1);
    if ((void *)(ip + 1) > end || ip->ihl != 5 || ip->protocol != IPPROTO_UDP ||
        (ip->frag_off & bpf_htons(0x3fff)))
        return 0;
    udp = (void *)(ip + 1);
    if ((void *)(udp + 1) > end)
        return 0;
    d = bpf_ntohs(udp->dest);
    return d >= port_lo && d <= port_hi ? ip : 0;
}

static __always_inline void count(void) {
    __u32 k = 0;
    __u64 *v = bpf_map_lookup_elem(&mf_count, &k);

    if (v)
        *v += 1;
}

SEC("xdp")
int mf_sink(struct xdp_md *ctx) {
    if (!media_ip(ctx))
        return XDP_PASS;
    count();
    return XDP_DROP;
}

SEC("xdp")
int mf_redirect(struct xdp_md *ctx) {
    struct ethhdr *eth = (void *)(long)ctx->data;
    struct iphdr *ip = media_ip(ctx);
    __u32 sum;

    if (!ip || ip->ttl <= 1)
        return XDP_PASS;
    /* ip_decrease_ttl(): RFC 1624 incremental update of the header checksum. */
    sum = ip->check;
    sum += bpf_htons(0x0100);
    ip->check = (__u16)(sum + (sum >= 0xffff));
    ip->ttl--;
#pragma unroll
    for (int i = 0; i < ETH_ALEN; i++) {
        eth->h_dest[i] = out_dmac[i];
        eth->h_source[i] = out_smac[i];
    }
    count();
    return bpf_redirect(out_ifindex, 0);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
