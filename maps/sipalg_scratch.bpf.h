/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The unpinned maps of SIPALG_MAPS (sipalg_maps.h): per-CPU scratch with BPF-only value types,
 * defined where those types are complete. BPF side only.
 *
 * The SIP rewriter's scratch: the scanner's work area (message in, message out, scan result)
 * plus the few facts the occurrence callbacks collect. One map value, so one pointer the
 * verifier knows the size of reaches all of it; bpf_loop callbacks keep their state here rather
 * than in scalars on the stack, so their verifier states converge at once. Not pinned: it holds
 * nothing between packets.
 */
#ifndef SIPALG_SCRATCH_BPF_H
#define SIPALG_SCRATCH_BPF_H

#include "nat.bpf.h"
#include "sip_msg.bpf.h"
#include "sipalg/sipalg.h"
#include "sipalg_maps.bpf.h"

struct sipalg_sip_scratch {
    struct sipalg_work w;
    struct sipalg_sip_msg msg;     /* the datapath's description of the message (its stack is
                                    * too small to hold it next to the rewriter's frames) */
    struct sipalg_nat nat;         /* header NAT to apply after the rewrite */
    struct sipalg_route route;     /* and where the packet goes */
    __u32 n_set;                   /* occurrences given a replacement */
    __u32 n_pin;                   /* media pinholes opened or refreshed by this message */
    __u32 stop;                    /* 0, or SIPALG_RW_REFUSE / _PASS: a rule ended the message */
    __u32 stop_why;                /* and the counter that says which */
    __u16 rtp[SIPALG_MAX_MEDIA];   /* public port of each media line's RTP pinhole (0: none) */
    __u16 rtcp[SIPALG_MAX_MEDIA];  /* and of its RTCP pinhole */
    __be32 local_ip;               /* local media (inbound): the LAN phone whose pinholes every
                                    * media port of the SDP is (0: none, or not just one) */
    __u64 sum;                     /* accumulator of sipalg_buf_sum() */
    struct sipalg_match mt;        /* this message's match set */
    struct sipalg_dialog_key dkey; /* the message's dialog */
    struct sipalg_dialog_msg dm;   /* what the dialog logic needs of the message */
    struct sipalg_dialog dfresh;   /* scratch for a dialog being created */
};

#define SIPALG_X_BTF(name, type, entries, flags, key, value, pin)                                  \
    SIPALG_IF_NOT_##pin(SIPALG_BTF_MAP(name, type, entries, flags, key, value))
SIPALG_MAPS(SIPALG_X_BTF)
#undef SIPALG_X_BTF

static __always_inline struct sipalg_sip_scratch *sipalg_sip_scratch(void) {
    __u32 key = 0;

    return bpf_map_lookup_elem(&sipalg_scratch, &key);
}

#endif /* SIPALG_SCRATCH_BPF_H */
