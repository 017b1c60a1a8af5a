/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * What the WAN XDP program tells the WAN tc ingress program about a packet it has already
 * NATed, in the XDP metadata area in front of the frame (bpf_xdp_adjust_meta). XDP cannot
 * transmit into a Linux bridge (no ndo_xdp_xmit), so XDP does the lookup and the NAT and tc,
 * which sees the same packet as an skb right after, only redirects it. Metadata cannot come
 * from the wire, so the magic cannot be forged by a sender.
 */
#ifndef SIPALG_XDP_META_BPF_H
#define SIPALG_XDP_META_BPF_H

#include <linux/types.h>

#define SIPALG_META_MAGIC 0x53495041u /* "SIPA" */
#define SIPALG_META_MACS 0x1          /* Ethernet addresses written: plain redirect */

struct sipalg_xdp_meta {
    __u32 magic;
    __u32 ifindex; /* egress interface (a LAN interface) */
    __be32 nh;     /* next hop, for bpf_redirect_neigh when the MACs are not known */
    __u32 flags;   /* SIPALG_META_* */
};

#endif /* SIPALG_XDP_META_BPF_H */
