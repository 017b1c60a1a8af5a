// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* An XDP program that passes everything. On a veth it makes the peer accept XDP frames
 * (ndo_xdp_xmit), as a NIC driver would: test_bridge_fastpath.sh --xdp-peers puts it on the
 * phone's and the Internet host's veths so that sipalg's XDP redirects can be tested. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int xdp_pass(struct xdp_md *ctx) {
    return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
