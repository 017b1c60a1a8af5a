/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The one definition of every map layout shared by the BPF programs and the C++ loader.
 *
 * Plain C, no BPF-only constructs: this header is included by bpf/<name>.bpf.c (clang -target bpf)
 * and by the loader and tests (host C++). The BTF map definitions themselves live in
 * sipalg_maps.bpf.h, next to this file, and only use what is declared here.
 *
 * Byte order convention: a field that mirrors a packet header field (an IPv4 address, a UDP port
 * of a private or remote endpoint) is kept in network byte order (__be32/__be16), so the fast path
 * compares and copies it without swapping. A public port is in host order: it is the index of
 * the slots array.
 *
 * Compatibility rules (pinned maps outlive the loader process, so a newer sipalg may read maps
 * created by an older one):
 *   - counters are append-only: never reorder or reuse an index, only add before
 *     SIPALG_CTR_COUNT; the counter map is sized to SIPALG_CTR_CAPACITY, not to the count,
 *     so adding a counter does not change the map's shape;
 *   - struct sipalg_config only grows by taking words out of `reserved`, so its size
 *     (the map's value_size) stays 64 bytes;
 *   - the other value structs are checked by size when the loader opens a pin; changing one
 *     means "unload and load again".
 */
#ifndef SIPALG_MAPS_H
#define SIPALG_MAPS_H

#include <linux/bpf.h>
#include <linux/types.h>

/* Map names as the kernel sees them (at most 15 characters), and the file names of their pins
 * in the per-interface pin dir. */
#define SIPALG_MAP_CONFIG "sipalg_config"
#define SIPALG_MAP_COUNTERS "sipalg_counters"
#define SIPALG_MAP_SLOTS "sipalg_slots"
#define SIPALG_MAP_BINDINGS "sipalg_binds"
#define SIPALG_MAP_PINHOLES "sipalg_pins"
#define SIPALG_MAP_PHONES "sipalg_phones"
#define SIPALG_MAP_STATE "sipalg_state"
#define SIPALG_MAP_LANIFS "sipalg_lanifs"
#define SIPALG_MAP_IFACES "sipalg_ifaces"
#define SIPALG_MAP_BRPORTS "sipalg_brports"
#define SIPALG_MAP_DIALOGS "sipalg_dialogs"
#define SIPALG_MAP_LIMITS "sipalg_limits"
#define SIPALG_MAP_REGS "sipalg_regs"
#define SIPALG_MAP_RATES "sipalg_rates"
#define SIPALG_MAP_FAILOVER "sipalg_failover"

/* Program names, by side, hook and direction (the C function names in bpf/ and their files; the
 * kernel keeps the first 15 characters, bpftool shows the whole name from BTF), and their pins. */
#define SIPALG_PROG_WAN_XDP "sipalg_wan_xdp"           /* media fast path (accelerator) */
#define SIPALG_PROG_WAN_INGRESS "sipalg_wan_ingress"   /* tc: inbound SIP, media, handoff */
#define SIPALG_PROG_WAN_EGRESS "sipalg_wan_egress"     /* tc: counts, unowned SIP guard */
#define SIPALG_PROG_LAN_INGRESS "sipalg_lan_ingress"   /* tc: outbound SIP and media */
#define SIPALG_PROG_LAN_PORT_XDP "sipalg_lan_port_xdp" /* outbound media straight to the WAN */
#define SIPALG_PROG_ADMIN "sipalg_admin"               /* aging timer, admin operations */
#define SIPALG_PIN_PROG_WAN_XDP "prog_wan_xdp"
#define SIPALG_PIN_PROG_WAN_INGRESS "prog_wan_ingress"
#define SIPALG_PIN_PROG_WAN_EGRESS "prog_wan_egress"
#define SIPALG_PIN_PROG_LAN_INGRESS "prog_lan_ingress"
#define SIPALG_PIN_PROG_LAN_PORT_XDP "prog_lan_port_xdp"
#define SIPALG_PIN_PROG_ADMIN "prog_admin"

/* X(skeleton member, pin): every program of the object; the loader pins them all. */
#define SIPALG_PROGS(X)                                                                            \
    X(sipalg_wan_xdp, SIPALG_PIN_PROG_WAN_XDP)                                                     \
    X(sipalg_wan_ingress, SIPALG_PIN_PROG_WAN_INGRESS)                                             \
    X(sipalg_wan_egress, SIPALG_PIN_PROG_WAN_EGRESS)                                               \
    X(sipalg_lan_ingress, SIPALG_PIN_PROG_LAN_INGRESS)                                             \
    X(sipalg_lan_port_xdp, SIPALG_PIN_PROG_LAN_PORT_XDP)                                           \
    X(sipalg_admin, SIPALG_PIN_PROG_ADMIN)

/* The names of an instance loaded by an older sipalg: X(current, old). Unload and status look
 * for these too, so that such an instance is still found and removed (the layouts behind them
 * are the same). Program names, then pins: the programs' and the renamed maps' (a map's pin
 * and its kernel name are the same). */
#define SIPALG_LEGACY_PROG_NAMES(X)                                                                \
    X(SIPALG_PROG_WAN_XDP, "sipalg_xdp")                                                           \
    X(SIPALG_PROG_WAN_INGRESS, "sipalg_wan_in")                                                    \
    X(SIPALG_PROG_WAN_EGRESS, "sipalg_tc")                                                         \
    X(SIPALG_PROG_LAN_INGRESS, "sipalg_lan")                                                       \
    X(SIPALG_PROG_LAN_PORT_XDP, "sipalg_lan_xdp")
#define SIPALG_LEGACY_PINS(X)                                                                      \
    X(SIPALG_PIN_PROG_WAN_XDP, "prog_xdp")                                                         \
    X(SIPALG_PIN_PROG_WAN_INGRESS, "prog_wan_in")                                                  \
    X(SIPALG_PIN_PROG_WAN_EGRESS, "prog_tc")                                                       \
    X(SIPALG_PIN_PROG_LAN_INGRESS, "prog_lan")                                                     \
    X(SIPALG_PIN_PROG_LAN_PORT_XDP, "prog_lan_xdp")                                                \
    X(SIPALG_MAP_SLOTS, "sipalg_ports")                                                            \
    X(SIPALG_MAP_BRPORTS, "sipalg_xports")

/* ---- config: BPF_MAP_TYPE_ARRAY, 1 entry (key 0), written only by the loader ---- */

#define SIPALG_CONFIG_KEY 0
#define SIPALG_MAX_LAN_PREFIXES 4
#define SIPALG_MAX_SIP_PORTS 2

/* The NICC guidance asks for "disabled by default": a freshly created map is all zeroes, so
 * every field is chosen such that 0 is the safe, hands-off value (public_ip 0: the ALG owns no
 * packet even if enabled; an empty port range: nothing can be allocated).
 *
 * Layout (byte offsets; 64 bytes, part of the pin ABI):
 *    0 enabled        4 public_ip       8 wan_ifindex    12 sip_port[2]
 *   16 port_min      18 port_max       20 bind_lifetime_s 24 reg_lifetime_s
 *   28 pin_idle_s    32 pin_max_phone  36 pin_max_total  40 lan_net[4]
 *   56 lan_plen[4]   60 xdp_flags
 */
struct sipalg_config {
    __u32 enabled;     /* 0: pass everything untouched (default); 1: ALG active */
    __be32 public_ip;  /* the router's public IPv4 address (SNAT source, DNAT match) */
    __u32 wan_ifindex; /* outbound packets are owned only if routed out of this interface */
    __u16 sip_port[SIPALG_MAX_SIP_PORTS]; /* UDP ports that identify SIP (host order; 0 unused) */
    __u16 port_min; /* public ports the ALG may hand out: [port_min, port_max] */
    __u16 port_max;
    __u32 bind_lifetime_s; /* lifetime of a binding created/refreshed by SIP other than REGISTER */
    __u32 reg_lifetime_s;  /* lifetime given by a REGISTER until the registrar's answer says */
    __u32 pin_idle_s;      /* a pinhole without media for this long is closed */
    __u32 pin_max_phone;   /* pinholes per phone (private IPv4 address) */
    __u32 pin_max_total;   /* pinholes in total */
    __be32 lan_net[SIPALG_MAX_LAN_PREFIXES]; /* LAN prefixes: network address, already masked */
    __u8 lan_plen[SIPALG_MAX_LAN_PREFIXES];  /* their lengths; 0 marks an unused slot */
    __u32 xdp_flags; /* SIPALG_XDP_*: what the loader found the interfaces can do */
};

/* The WAN interface accepts XDP frames (its driver has ndo_xdp_xmit; a veth only while its peer
 * runs an XDP program): the LAN port XDP program may redirect media straight to it. */
#define SIPALG_XDP_WAN_XMIT 0x1

/* ---- slots: BPF_MAP_TYPE_ARRAY, 65536 entries, key = public port (host order) ----
 *
 * Every public UDP port the ALG hands out, whether to a binding (a phone's SIP socket) or to a
 * pinhole (a media socket), has its slot here. It is the reverse index used by every inbound
 * packet (an array lookup, which the verifier inlines: no hashing on the media fast path) and it
 * holds the per-flow mutable state (remote scope, timestamps). Bindings and pinholes share it
 * because they share the public port space of the one public address.
 *
 * `state` is only changed with atomic operations: FREE -> CLAIMED by compare-and-swap (so two
 * CPUs can never hand out the same port), CLAIMED -> BINDING/PINHOLE by exchange once the other
 * fields are written, any -> FREE by exchange when the entry is removed. Readers check `state`
 * and that priv_ip/priv_port match what they expect, so a slot being reused is never mistaken
 * for the one they looked up.
 */
#define SIPALG_SLOTS_ENTRIES 65536

enum sipalg_slot_state {
    SIPALG_SLOT_FREE = 0,
    SIPALG_SLOT_CLAIMED = 1, /* being filled in by its creator: treat as not there */
    SIPALG_SLOT_BINDING = 2,
    SIPALG_SLOT_PINHOLE = 3,
};

/* Route cache directions (index of sipalg_slot.route). */
#define SIPALG_TO_LAN 0 /* toward the phone */
#define SIPALG_TO_WAN 1 /* toward the remote */

struct sipalg_slot {
    __u32 state;        /* enum sipalg_slot_state */
    __be32 priv_ip;     /* the phone's address */
    __be32 remote_ip;   /* pinhole: the only source let in; 0 = not known yet (nothing gets in) */
    __be16 priv_port;   /* the phone's port */
    __be16 remote_port; /* pinhole: source port let in; 0 = the first packet from remote_ip
                         * sets it (latching, see sipalg_pinhole_admits) */
    __u32 stamp;        /* ALG clock (s). binding: expiry time; pinhole: last packet seen */
    __u16 owner;        /* pinhole: public port of the binding of the phone that opened it (0:
                         * none); an active pinhole keeps its binding alive */
    __u16 refs;         /* pinhole: dialog media lines that use it (sipalg_dialogs). While any
                         * does, it lives as long as they do; with none (opened by hand, or
                         * from an older instance) it closes after pin_idle_s without media */
    /* Pinholes: the route (FIB result) of each direction, cached so that media does not pay a
     * FIB lookup per packet. One 8-byte word each, written and read in one access: bytes 0-5
     * next-hop MAC, byte 6 index of the egress interface in sipalg_ifaces, byte 7 the route
     * generation it was looked up in (0: empty). Valid while that generation is current, i.e.
     * for at most a second: route and neighbour changes take effect within a second. */
    __u64 route[2];
};

/* ---- bindings and pinholes: BPF_MAP_TYPE_HASH keyed by the private endpoint ----
 *
 * The forward index (private ip:port -> public port) used by every outbound packet. One entry
 * per phone SIP socket (bindings) or media socket (pinholes); the rest of their state is in the
 * port slot. Kept tight: 8-byte key, 8-byte value (the hash element itself costs ~48 bytes of
 * kernel overhead), so a pinhole costs its hash element + bucket + its 40-byte port slot.
 */
#define SIPALG_BINDINGS_ENTRIES 65536
#define SIPALG_PINHOLES_ENTRIES 65536
#define SIPALG_PHONES_ENTRIES 4096

struct sipalg_endpoint {
    __be32 ip;
    __be16 port;
    __u16 pad; /* must be 0: part of the hash key */
};

#define SIPALG_BIND_REGISTER 0x1 /* last refreshed by a REGISTER */
#define SIPALG_BIND_COUNTED 0x2  /* counted in its phone's sipalg_phone.bindings */

struct sipalg_binding {
    __u16 public_port; /* host order; its slot in the slots map */
    __u16 flags;       /* SIPALG_BIND_* */
    __u32 lifetime_s;  /* lifetime applied at the last refresh (REGISTER: the registration's) */
};

struct sipalg_pinhole {
    __u16 public_port; /* host order; its slot in the slots map */
    __u16 flags;       /* reserved, 0 */
    __u32 call;        /* hash of the Call-ID that opened it (0: unknown), to close on BYE */
};

/* ---- phones: BPF_MAP_TYPE_HASH, key = private IPv4 (__be32): per-phone counts ---- */
struct sipalg_phone {
    __u32 pinholes;        /* open pinholes of this phone */
    __u32 limit_hits;      /* pinholes refused because of pin_max_phone */
    __u32 dialogs;         /* live dialogs of this phone */
    __u32 dlg_limit_hits;  /* dialogs refused because of dlg_max_phone */
    __u32 bindings;        /* live bindings (SIP sockets) of this phone */
    __u32 bind_limit_hits; /* bindings refused because of bind_max_phone */
};

/* ---- regs: BPF_MAP_TYPE_HASH, no prealloc, key = (registrar address, the phone's binding) ----
 *
 * Who may send requests to a phone. A REGISTER the phone sends through its binding records the
 * registrar it went to (the destination address), with the REGISTER's Call-ID and CSeq; the
 * registrar's 2xx with the same Call-ID and CSeq, from that address, confirms it. Inbound
 * requests to a binding are then let in only from a confirmed registrar of it, in a live dialog
 * of it, or from a trusted prefix (struct sipalg_limits): the "direct signalling" rule of
 * Linux's helper, so that an INVITE from a scanner never rings a phone and nothing reaches a
 * binding before its registrar accepted it. Keyed by address only: registrars answer and call
 * from other ports of the same host. Several per binding: a PBX registers its trunks with
 * several providers from one socket.
 */
#define SIPALG_REGS_ENTRIES 65536

struct sipalg_reg_key {
    __be32 registrar_ip;
    __u16 bind_port; /* public port of the phone's binding (host order) */
    __u16 pad;       /* must be 0: part of the hash key */
};

#define SIPALG_REG_CONFIRMED 0x1 /* a matching 2xx came: requests from it are let in */
/* The latest REGISTER (Call-ID, CSeq) got its 2xx; a REGISTER with another Call-ID or CSeq
 * clears it. The daemon's WAN health watch reads it (loader/slow/wan_health.hpp). */
#define SIPALG_REG_ANSWERED 0x2

struct sipalg_reg {
    __u64 call;       /* Call-ID hash of the latest REGISTER (sipalg_callid_hash) */
    __u32 cseq;       /* and its CSeq number */
    __u32 expiry_s;   /* ALG clock: the registration (or the wait for its answer) ends */
    __be32 priv_ip;   /* the phone's SIP socket: a binding port reused by another phone */
    __be16 priv_port; /* inherits nothing */
    __u8 flags;       /* SIPALG_REG_* */
    __u8 pad;
};

/* ---- rates: BPF_MAP_TYPE_LRU_HASH, key = (source address, kind): request rate limits ----
 * One GCRA bucket per source and kind of request: `tat` is the theoretical arrival time of the
 * next request (ns, CLOCK_MONOTONIC); a request arriving more than the burst allowance before
 * it is refused. LRU: forgetting a bucket only lets its source start afresh. */
#define SIPALG_RATES_ENTRIES 8192

enum sipalg_rate_kind {
    SIPALG_RATE_REGISTER_OUT = 0, /* REGISTERs sent by a LAN host */
    SIPALG_RATE_INVITE_OUT = 1,   /* INVITEs sent by a LAN host */
    SIPALG_RATE_REGISTER_IN = 2,  /* REGISTERs to phones, per Internet source */
    SIPALG_RATE_INVITE_IN = 3,    /* INVITEs to phones, per Internet source */
};

struct sipalg_rate_key {
    __be32 ip;
    __u32 kind; /* enum sipalg_rate_kind */
};

/* A source may send this many seconds' worth of its rate at once. */
#define SIPALG_RATE_BURST_S 2u

/* ---- dialogs: BPF_MAP_TYPE_HASH, no prealloc, key = (Call-ID, the phone's binding) ----
 *
 * One entry per call (dialog, with its early forks) of a phone SIP socket: which pinholes each
 * media line of its offer/answer exchanges uses, so that a PBX's many calls, call waiting, a
 * re-INVITE that moves or holds media and a BYE each act on exactly their own call. Created by
 * an INVITE in either direction (or the first message of a call that carries SDP), ended by BYE
 * and its answer, CANCEL, a final non-2xx to the initial INVITE, or the dialog timeout; ending
 * closes every pinhole it alone used. Shared by the fast path and the daemon (through the admin
 * program), pinned like the rest.
 *
 * The Call-ID is identified by a 64-bit hash of its text (the first 64 bytes and its length),
 * where "word@<the phone's address>" and "word@<the public address>" count as "word@": that
 * host is what the ALG rewrites, so both directions agree without reading the rewritten text. Tags
 * are not part of the key: the forks of one INVITE share the phone's media sockets, so they share
 * the entry (the latest early answer scopes the pinholes, the final answer decides).
 */
#define SIPALG_DIALOGS_ENTRIES 65536
#define SIPALG_MAX_LINES_DLG 4 /* media lines followed per dialog (== SIPALG_MAX_MEDIA) */
#define SIPALG_CALLID_TEXT 16  /* bytes of the Call-ID kept for listings */

struct sipalg_dialog_key {
    __u64 call;      /* hash of the Call-ID (sipalg_callid_hash) */
    __u16 bind_port; /* public port of the phone's binding (host order) */
    __u16 pad[3];    /* must be 0: part of the hash key */
};

enum sipalg_dialog_state {
    SIPALG_DLG_EARLY = 1,     /* INVITE seen, no 2xx yet */
    SIPALG_DLG_CONFIRMED = 2, /* 2xx to the INVITE seen */
    SIPALG_DLG_ENDING = 3,    /* BYE seen, waiting for its answer (or SIPALG_DLG_ENDING_S) */
};

/* Or'ed into state by the one CPU that ends a dialog, for the moment before the entry goes:
 * nobody else acts on it meanwhile (listings skip it). */
#define SIPALG_DLG_DEAD 0x80

/* A BYE nobody answers ends the dialog after this long (64 * T1 = 32 s, RFC 3261). */
#define SIPALG_DLG_ENDING_S 32u

/* sipalg_dialog.flags */
#define SIPALG_DLGF_LOCAL_OFFER 0x1  /* the phone's offer waits for the peer's answer */
#define SIPALG_DLGF_REMOTE_OFFER 0x2 /* the peer's offer waits for the phone's answer */
#define SIPALG_DLGF_INBOUND 0x4      /* created by a request from the WAN (the phone is called) */

/* 80 bytes: with the 16-byte key and the kernel's element header a dialog costs 152 bytes by
 * the map's own accounting (bench/calls.py); keep it this small. */
struct sipalg_dialog {
    __u16 rtp[SIPALG_MAX_LINES_DLG];       /* public port of each line's RTP pinhole (0: none) */
    __u16 rtcp[SIPALG_MAX_LINES_DLG];      /* and RTCP pinhole: the agreed exchange */
    __u16 pend_rtp[SIPALG_MAX_LINES_DLG];  /* what the phone's outstanding offer opened */
    __u16 pend_rtcp[SIPALG_MAX_LINES_DLG]; /* (moved to rtp/rtcp by the answer) */
    __be32 peer_ip[SIPALG_MAX_LINES_DLG];  /* media address of each line in the peer's latest
                                            * SDP (0: not known): the scope of its pinholes */
    __be32 priv_ip;                        /* the phone */
    __u32 created_s;                       /* ALG clock */
    __u32 seen_s;                          /* last SIP message of the dialog, either way */
    __u16 session_s;                       /* Session-Expires in force (0: none), s */
    __u8 state;                            /* enum sipalg_dialog_state */
    __u8 flags;                            /* SIPALG_DLGF_* */
    __u8 callid[SIPALG_CALLID_TEXT];       /* first bytes of the Call-ID (NUL padded) */
};

/* What the dialog logic needs of one SIP message: filled from the scan by the fast path, and by
 * the daemon for the admin program's dialog operations, so both run the same rules. */
struct sipalg_dialog_msg {
    __u64 call; /* Call-ID hash (0: no Call-ID: no dialog) */
    __u8 is_request;
    __u8 method;                           /* enum sipalg_method of a request */
    __u8 cseq_method;                      /* enum sipalg_method of the CSeq */
    __u8 n_media;                          /* m= lines of the SDP body (0: no SDP) */
    __u16 status;                          /* response code (0: request) */
    __u16 session_s;                       /* Session-Expires (0: none; capped at 65535) */
    __u16 line_port[SIPALG_MAX_LINES_DLG]; /* m= port of each line (0: rejected or removed) */
    __be32 line_ip[SIPALG_MAX_LINES_DLG];  /* each line's media address (0: none, 0.0.0.0, v6) */
    __be32 line_rtcp_ip[SIPALG_MAX_LINES_DLG]; /* its RTCP address (a=rtcp, else line_ip) */
    __u8 callid[SIPALG_CALLID_TEXT];
    __u32 cseq;    /* CSeq number */
    __s32 expires; /* registration lifetime the message states (first Contact's expires=,
                    * else Expires:); -1: none */
};

/* ---- limits: BPF_MAP_TYPE_ARRAY, 1 entry (key 0), written only by the loader ----
 * Settings added after struct sipalg_config filled its 64 bytes. Same rules: 0 must be the
 * hands-off value where one exists, and it only grows by taking words out of `reserved`. */
#define SIPALG_LIMITS_KEY 0

#define SIPALG_MAX_TRUSTED 4

struct sipalg_limits {
    __u32 dlg_idle_s;    /* a dialog with neither SIP nor media for this long ends (0: 300) */
    __u32 dlg_max_phone; /* live dialogs per phone (private IPv4 address); 0: none allowed */
    __u32 dlg_max_total; /* live dialogs in total; 0: none allowed */
    __u32 any_peer;      /* 1: requests to a binding are let in from anyone (no direct
                          * signalling rule); 0: only from its registrars, its dialogs and
                          * the trusted prefixes */
    __be32 trusted_net[SIPALG_MAX_TRUSTED]; /* prefixes whose requests are always let in */
    __u8 trusted_plen[SIPALG_MAX_TRUSTED];  /* their lengths; 0 marks an unused slot */
    __u32 register_rate;    /* REGISTERs per second per source (burst: SIPALG_RATE_BURST_S
                             * seconds' worth); 0: no limit */
    __u32 invite_rate;      /* INVITEs per second per source; 0: no limit */
    __u32 bind_max_phone;   /* bindings (SIP sockets) per phone; 0: no limit */
    __u32 policy;           /* SIPALG_POLICY_*: the optional behaviours switched on */
    __be32 failover_ip;     /* WAN failover: the internal SIP server (0: none) */
    __u16 failover_port;    /* its port (host order) */
    __u16 failover_after_s; /* no answer from the registrar for this long: the WAN is down */
    __u32 reserved[1];
};

/* ---- failover: BPF_MAP_TYPE_ARRAY, 1 entry (key 0), written only by the daemon ----
 * The WAN failover policy's state as the daemon last judged it (loader/slow/wan_health.hpp,
 * failover.hpp): whether the WAN is down and why, and whether the redirect to the internal SIP
 * server is in force. While `active` is set, the LAN program leaves the phones' SIP to a SIP
 * port to the stack, where the daemon's nftables redirect takes it (an all-zero map, as after
 * `load` or with no daemon: nothing is redirected). `status` shows the rest. */
#define SIPALG_FAILOVER_KEY 0
enum sipalg_wan_why {
    SIPALG_WAN_UP = 0,        /* link up, routed, the registrars answer */
    SIPALG_WAN_LINK_DOWN = 1, /* the WAN interface is down or has no carrier */
    SIPALG_WAN_NO_ROUTE = 2,  /* a registrar the phones use is not routed out of the WAN */
    SIPALG_WAN_NO_ANSWER = 3, /* a registrar left REGISTERs unanswered for failover_after_s */
};
struct sipalg_failover {
    __u32 active;      /* 1: the redirect is installed (policy on, ALG enabled, WAN down) */
    __u32 why;         /* enum sipalg_wan_why; not SIPALG_WAN_UP: the WAN is down */
    __be32 peer;       /* NO_ROUTE / NO_ANSWER: the registrar concerned */
    __u32 transitions; /* WAN up/down changes the daemon has seen */
    __u64 since_ms;    /* CLOCK_REALTIME (ms) of the last change of `why` between up and down */
    __u64 redirected;  /* packets the redirect took (its nftables counter), last read */
    __u64 updated_ns;  /* CLOCK_MONOTONIC of the daemon's last write (0: never) */
};

/* The optional behaviours (the NICC guidance's "advanced" uses of an ALG), one bit each in
 * sipalg_limits.policy. The loader's policy table (loader/instance/policy.cpp) names them, gives
 * their defaults and says which can be switched without a reload. */
#define SIPALG_POLICY_LOCAL_MEDIA 0x1   /* a call between two phones of this LAN: media direct */
#define SIPALG_POLICY_FAILOVER 0x2      /* WAN down: signalling to the internal SIP server */
#define SIPALG_POLICY_HOSTED_ALONE 0x4  /* leave services that traverse NAT themselves alone */
#define SIPALG_POLICY_IPV6_PINHOLES 0x8 /* IPv6: media pinholes through the firewall */

/* ---- state: BPF_MAP_TYPE_ARRAY, 1 entry: the aging timer and the ALG clock ----
 *
 * The ALG clock (now_s) is advanced by the aging timer, only while the ALG is enabled: stamps
 * and expiries are in this clock, so a disable/enable never ages out bindings or pinholes (calls
 * keep their audio), and the fast path reads one word instead of calling a clock helper.
 * Written by BPF only (the timer field cannot be written from user space).
 */
#define SIPALG_STATE_KEY 0
#define SIPALG_TICK_NS 250000000ull /* aging timer period */
#define SIPALG_SWEEP_CHUNK 16384u   /* port slots examined per tick: all 65536 once a second */

struct sipalg_state {
    struct bpf_timer timer;
    __u64 last_tick_ns; /* CLOCK_MONOTONIC of the last tick (0: never ticked) */
    __u64 alg_ns;       /* time the ALG has been enabled while the timer ran */
    __u64 ticks;        /* timer runs */
    __u32 now_s;        /* the ALG clock, seconds */
    __u32 cursor;       /* next port slot the sweep looks at */
    __u32 bindings;     /* live bindings */
    __u32 pinholes;     /* live pinholes */
    __u32 route_gen;    /* current route cache generation, 1..255, advanced every second by
                         * the timer (0: timer not running, routes are not cached) */
    __u32 daemon_s;     /* the slow-path daemon's last heartbeat: ALG clock + 1 (0: never) */
    __u32 slow_mark;    /* skb mark that hands a packet to the daemon (0: no daemon) */
    __u32 dialogs;      /* live dialogs */
    __u64 daemon_ns;    /* CLOCK_MONOTONIC of the daemon's last heartbeat (0: detached): the
                         * ALG clock stands still while disabled, `status` needs wall time */
};

/* The daemon counts as attached while its heartbeat is at most this old (ALG seconds). The
 * ALG clock stands still while the ALG is disabled, and then nothing is handed to it anyway. */
#define SIPALG_DAEMON_STALE_S 3

static inline int sipalg_daemon_fresh(const struct sipalg_state *st) {
    return st->slow_mark && st->daemon_s && st->now_s + 1 - st->daemon_s <= SIPALG_DAEMON_STALE_S;
}

/* ---- ifaces: BPF_MAP_TYPE_ARRAY of struct sipalg_iface, SIPALG_IFACES entries ----
 * The egress interfaces cached routes point to (ifindex and its MAC, the source MAC of
 * forwarded frames), filled in by BPF as routes are cached. */
#define SIPALG_IFACES 16

struct sipalg_iface {
    __u32 ifindex; /* 0: free entry */
    __u8 mac[6];
    __u8 flags; /* SIPALG_IFACE_* */
    __u8 pad;
};

/* The interface accepts XDP frames: XDP may redirect to it directly (a LAN port the loader
 * found able to, learned from a phone's outbound media). Without it, XDP hands the packet to
 * tc, which redirects the skb. */
#define SIPALG_IFACE_XDP_XMIT 0x1
/* A LAN port the LAN XDP program is on. Routes through it were learned from the phone's own
 * media (sipalg_route_learn) and are kept one generation longer than FIB answers, so that the
 * first inbound packet after a generation change does not replace them with the bridge. */
#define SIPALG_IFACE_LAN_PORT 0x2

/* ---- brports (bridge ports): BPF_MAP_TYPE_HASH, key = ifindex (__u32) of a LAN port the LAN XDP
 * program is attached to (a port of the LAN bridge, or the LAN interface itself when it is no
 * bridge). Written by the loader. ---- */
#define SIPALG_MAX_BRIDGE_PORTS 64

struct sipalg_bridge_port {
    __u32 l3_ifindex;   /* the LAN interface with the router's address (the bridge): routes are
                         * looked up as if the packet arrived there */
    __u8 router_mac[6]; /* its MAC: only frames sent to the router are routed */
    __u8 flags;         /* SIPALG_IFACE_XDP_XMIT if the port accepts XDP frames */
    __u8 pad;
};

/* ---- lanifs: BPF_MAP_TYPE_ARRAY of __u32 ifindex: the LAN interfaces the loader hooked ----
 * Written by the loader (0 = empty slot); status and unload read it back. */
#define SIPALG_MAX_LAN_IFS 8

/* ---- admin: the context of the sipalg_admin syscall program (BPF_PROG_TEST_RUN) ----
 * The loader and tests change state through this program rather than by writing maps, so that
 * port allocation, limits and counts follow exactly the rules the fast path uses. The kernel
 * copies the struct back, so results are returned in place. */
enum sipalg_admin_op {
    SIPALG_OP_NONE = 0,
    SIPALG_OP_TIMER_START = 1,   /* arm the aging timer (idempotent) */
    SIPALG_OP_SWEEP = 2,         /* one full aging pass now */
    SIPALG_OP_CLOCK_SET = 3,     /* set the ALG clock to arg (tests) */
    SIPALG_OP_PINHOLE_OPEN = 4,  /* priv, remote, public_port (0: auto), arg = Call-ID hash */
    SIPALG_OP_PINHOLE_CLOSE = 5, /* priv */
    SIPALG_OP_BINDING_CLOSE = 6, /* priv */
    /* The slow-path daemon's operations: the same state changes the fast path makes. */
    SIPALG_OP_BINDING_TOUCH = 7,    /* priv, arg = 1 for REGISTER; out: public_port */
    SIPALG_OP_BINDING_LIFETIME = 8, /* public_port, arg = seconds the registrar granted */
    /* 9..12: retired (the per-binding memory of the latest SDP exchange, before dialogs) */
    SIPALG_OP_DAEMON_BEAT = 13,  /* arg = slow mark (0: the daemon detaches) */
    SIPALG_OP_DAEMON_COUNT = 14, /* arg = enum sipalg_counter to add 1 to */
    /* Dialogs (public_port = the phone's binding, priv_ip = the phone, dm = the message). */
    SIPALG_OP_DIALOG_BEGIN = 15, /* find or create the message's dialog; out: ips[0..3] the
                                  * scope for pinholes the phone's SDP opens; -ENOENT: none
                                  * (then open none) */
    SIPALG_OP_DIALOG_OUT = 16,   /* the phone's message; ports[0..3] RTP, [4..7] RTCP pinholes
                                  * its SDP opened per line (0: none) */
    SIPALG_OP_DIALOG_IN = 17,    /* a message to the phone */
    SIPALG_OP_DIALOG_END = 18,   /* end the dialog dm.call of binding public_port (admin) */
    SIPALG_OP_SIGNAL = 19,       /* the signalling rules for message dm of binding public_port with
                                  * peer remote_ip (arg 0: the phone sends it to the peer, 1: the
                                  * peer sends it to the phone): 0, or -EACCES (not let in) or
                                  * -EAGAIN (over its rate): drop it; out: arg = 1 if it is the
                                  * registrar's matching answer (apply its lifetime) */
};

struct sipalg_admin {
    __u32 op;         /* enum sipalg_admin_op */
    __s32 result;     /* out: 0 or -errno */
    __be32 priv_ip;   /* private endpoint */
    __be32 remote_ip; /* pinhole scope (0: not known yet) */
    __be16 priv_port;
    __be16 remote_port; /* 0: any port of remote_ip */
    __u16 public_port;  /* in: wanted (0: the private port if free, else any); out: given */
    __u16 owner;        /* PINHOLE_OPEN: public port of the phone's binding (0: none) */
    __u32 arg;
    __u16 ports[8]; /* DIALOG_OUT */
    __be32 ips[8];  /* DIALOG_BEGIN (out) */
    struct sipalg_dialog_msg dm;
};

/* ---- counters: BPF_MAP_TYPE_PERCPU_ARRAY of __u64, indexed by enum sipalg_counter ---- */

/* X(ENUM_SUFFIX, "json_name", "description"). One line per counter; the loader derives its
 * status output from this list, so adding a counter here is all it takes. Append only.
 * Names starting with "slow_" are the reasons a packet needed the (userspace) slow path; status
 * sums them as slow_path_needed. */
#define SIPALG_COUNTERS(X)                                                                         \
    X(XDP_SEEN, "xdp_seen", "packets seen by the WAN ingress XDP program")                         \
    X(XDP_PASS, "xdp_pass", "packets XDP passed to the stack untouched")                           \
    X(XDP_ALG_OFF, "xdp_alg_off", "packets XDP saw while the ALG was disabled")                    \
    X(TC_SEEN, "tc_seen", "packets seen by the WAN egress tc program")                             \
    X(TC_PASS, "tc_pass", "packets tc passed on untouched")                                        \
    X(TC_ALG_OFF, "tc_alg_off", "packets tc saw while the ALG was disabled")                       \
    X(XDP_FWD, "xdp_fwd", "media packets XDP NATed and handed on for the redirect to the LAN")     \
    X(LAN_SEEN, "lan_seen", "packets seen by the LAN ingress tc program")                          \
    X(LAN_PASS, "lan_pass", "LAN packets passed to the stack untouched")                           \
    X(LAN_ALG_OFF, "lan_alg_off", "packets the LAN program saw while the ALG was disabled")        \
    X(WAN_IN_SEEN, "wan_in_seen", "packets seen by the WAN ingress tc program")                    \
    X(WAN_IN_PASS, "wan_in_pass", "WAN packets passed to the stack untouched")                     \
    X(SIP_OUT, "sip_out", "SIP messages NATed LAN->WAN by the fast path")                          \
    X(SIP_IN, "sip_in", "SIP messages NATed WAN->LAN by the fast path")                            \
    X(SIP_REWRITTEN, "sip_rewritten", "SIP messages whose payload was rewritten")                  \
    X(SIP_UNCHANGED, "sip_unchanged", "SIP messages forwarded with the payload as it was")         \
    X(MEDIA_OUT, "media_out", "RTP/RTCP packets NATed LAN->WAN through a pinhole")                 \
    X(MEDIA_IN, "media_in", "RTP/RTCP packets NATed WAN->LAN through a pinhole")                   \
    X(SCOPE_MISS, "scope_miss", "packets to a pinhole from a source it is not scoped to")          \
    X(PIN_PENDING, "pin_pending", "packets to a pinhole whose remote is not known yet")            \
    X(NO_ROUTE, "no_route", "ALG packets the routes do not send across the router (passed)")       \
    X(TTL_EXCEEDED, "ttl_exceeded", "ALG packets with TTL <= 1 (passed: the stack answers)")       \
    X(MALFORMED, "malformed", "IPv4/UDP packets with inconsistent lengths (passed untouched)")     \
    X(DROPPED, "dropped", "packets dropped because a helper failed after NAT had begun")           \
    X(SLOW_FRAGMENT, "slow_fragment", "SIP or pinhole traffic in IP fragments (passed)")           \
    X(SLOW_TCP, "slow_tcp", "SIP over TCP (to the daemon)")                                        \
    X(SLOW_TOO_LARGE, "slow_too_large", "SIP messages longer than the in-kernel limit (passed)")   \
    X(SLOW_TOO_COMPLEX, "slow_too_complex", "SIP messages over an in-kernel limit (passed)")       \
    X(SLOW_MTU, "slow_mtu", "ALG packets larger than the egress MTU (passed)")                     \
    X(BIND_CREATED, "bind_created", "bindings created")                                            \
    X(BIND_REFRESHED, "bind_refreshed", "bindings refreshed by outbound SIP")                      \
    X(BIND_EXPIRED, "bind_expired", "bindings removed by aging or by request")                     \
    X(BIND_NO_PORT, "bind_no_port", "bindings not created: no free public port")                   \
    X(PIN_CREATED, "pin_created", "pinholes opened")                                               \
    X(PIN_EXPIRED, "pin_expired", "pinholes closed by aging or by request")                        \
    X(PIN_NO_PORT, "pin_no_port", "pinholes not opened: no free public port")                      \
    X(PIN_LIMIT_PHONE, "pin_limit_phone", "pinholes refused: per-phone limit reached")             \
    X(PIN_LIMIT_TOTAL, "pin_limit_total", "pinholes refused: total limit reached")                 \
    X(WAN_SIP_UNOWNED, "wan_sip_unowned",                                                          \
      "SIP leaving the WAN not NATed by the ALG while enabled")                                    \
    X(AGING_TICKS, "aging_ticks", "aging timer runs")                                              \
    X(SIP_MALFORMED, "sip_malformed", "SIP messages the scanner found broken (passed untouched)")  \
    X(DAEMON_HANDED, "daemon_handed", "slow-path packets marked for the userspace daemon")         \
    X(DAEMON_HANDLED, "daemon_handled", "SIP messages the daemon rewrote and sent on")             \
    X(DAEMON_FAILED, "daemon_failed",                                                              \
      "SIP messages the daemon could not rewrite (sent on untouched)")                             \
    X(DAEMON_DROPPED, "daemon_dropped", "SIP messages the daemon dropped (unusable, send failed)") \
    X(HELD_OFF, "held_while_off",                                                                  \
      "inbound packets of ALG flows dropped while disabled until conntrack knows the flow")        \
    X(XDP_LAN_SEEN, "xdp_lan_seen", "packets seen by the LAN port XDP program")                    \
    X(XDP_OUT, "xdp_out", "media packets LAN port XDP NATed and redirected straight to the WAN")   \
    X(XDP_IN_DIRECT, "xdp_in_direct",                                                              \
      "media packets WAN XDP NATed and redirected straight to the phone's LAN port")               \
    X(CSUM_PARTIAL, "csum_partial",                                                                \
      "media with a local sender's partial UDP checksum, left to tc (XDP cannot finish it)")       \
    X(DLG_CREATED, "dlg_created", "dialogs (calls) created")                                       \
    X(DLG_ENDED, "dlg_ended", "dialogs ended by BYE, CANCEL or a final failure of the INVITE")     \
    X(DLG_TIMEOUT, "dlg_timeout", "dialogs ended by the dialog timeout")                           \
    X(DLG_LIMIT_PHONE, "dlg_limit_phone", "dialogs refused: per-phone limit reached")              \
    X(DLG_LIMIT_TOTAL, "dlg_limit_total", "dialogs refused: total limit reached")                  \
    X(TCP_REFUSED, "tcp_refused",                                                                  \
      "new TCP connections to a binding from a peer its phone did not register with (reset)")      \
    X(PIN_NOT_SENDER, "pin_not_sender",                                                            \
      "SDP media lines naming another host than the sender, or a port below 1024: no pinhole")     \
    X(REG_NOT_SENDER, "reg_not_sender",                                                            \
      "REGISTERs whose Contact names another LAN host than the sender (passed untouched)")         \
    X(SIG_UNSOLICITED, "sig_unsolicited",                                                          \
      "requests or junk to a binding from outside its registrars, dialogs and trusted peers "      \
      "(dropped)")                                                                                 \
    X(REG_ANSWER_MISMATCH, "reg_answer_mismatch",                                                  \
      "2xx to REGISTER not from its registrar or not matching its Call-ID/CSeq (no effect)")       \
    X(RATE_REGISTER, "rate_register", "REGISTERs over their source's rate (dropped)")              \
    X(RATE_INVITE, "rate_invite", "INVITEs over their source's rate (dropped)")                    \
    X(BIND_LIMIT_PHONE, "bind_limit_phone",                                                        \
      "bindings refused: per-phone limit reached (message passed untouched)")                      \
    X(BAD_EMPTY, "sip_empty", "empty datagrams on a SIP socket (passed as they are)")              \
    X(BAD_START_LINE, "not_sip",                                                                   \
      "datagrams on a SIP socket without a SIP start line: keepalives, STUN, junk (passed as "     \
      "they are)")                                                                                 \
    X(BAD_VERSION, "bad_version", "SIP messages of a version other than SIP/2.0")                  \
    X(BAD_REQ_LINE, "bad_req_line", "SIP requests with a broken request line")                     \
    X(BAD_STATUS, "bad_status", "SIP responses with a status code outside 100-699")                \
    X(BAD_TRUNCATED, "bad_truncated", "SIP messages without the end of their headers")             \
    X(BAD_HEADER, "bad_header", "SIP messages with a header line that is no header")               \
    X(BAD_CLEN, "bad_clen", "SIP messages with a bad, negative or conflicting Content-Length")     \
    X(BAD_CLEN_BEYOND, "bad_clen_beyond",                                                          \
      "SIP messages whose Content-Length exceeds the datagram")                                    \
    X(BAD_LINES, "bad_lines", "SIP messages with more lines than the in-kernel limit")             \
    X(BAD_HEADERS, "bad_headers", "SIP messages with more headers than the in-kernel limit")       \
    X(BAD_ADDRESSES, "bad_addresses", "SIP messages with more addresses than the in-kernel limit") \
    X(BAD_MEDIA, "bad_media", "SIP messages with more m= lines than the in-kernel limit")          \
    X(BAD_LENGTH, "bad_length", "SIP messages (or their rewrite) over the in-kernel size limit")   \
    X(TCP_LIMIT_TOTAL, "tcp_limit_total", "TCP connections the daemon refused: --tcp-max-conns")   \
    X(TCP_LIMIT_SOURCE, "tcp_limit_source",                                                        \
      "TCP connections the daemon refused: --tcp-max-conns-per-source")                            \
    X(TCP_TIMEOUT_CONNECT, "tcp_timeout_connect",                                                  \
      "proxied TCP connections closed: the far side did not connect in --tcp-handshake-timeout")   \
    X(TCP_TIMEOUT_MSG, "tcp_timeout_msg",                                                          \
      "proxied TCP connections closed: a message not complete in --tcp-handshake-timeout")         \
    X(TCP_TIMEOUT_IDLE, "tcp_timeout_idle", "proxied TCP connections closed: idle for --tcp-idle") \
    X(TCP_OVERFLOW, "tcp_overflow",                                                                \
      "proxied TCP connections closed: more than --tcp-buffer bytes held for one direction")       \
    X(MEDIA_HAIRPIN, "media_hairpin",                                                              \
      "RTP/RTCP packets from a LAN pinhole to another's public port, NATed back into the LAN")     \
    X(FAILOVER_PASSED, "failover_passed",                                                          \
      "phones' SIP left to the stack while the WAN failover redirect is active")                   \
    X(MEDIA_LOCAL, "media_local",                                                                  \
      "SDPs to a phone given another LAN phone's own address and ports (policy local-media)")

/* clang-format off */ /* it cannot tell that the X-macro expands to enumerators */
enum sipalg_counter {
#define SIPALG_X_ENUM(id, name, help) SIPALG_CTR_##id,
    SIPALG_COUNTERS(SIPALG_X_ENUM)
#undef SIPALG_X_ENUM
    SIPALG_CTR_COUNT
};
/* clang-format on */

/* Fixed size of the counter map; room to add counters without changing the map's shape (raised
 * from 64 once: an instance loaded by an older sipalg shows only the counters it has). The
 * bad_* counters are indexed by enum sipalg_reason: SIPALG_CTR_BAD_EMPTY + reason - 1. */
#define SIPALG_CTR_CAPACITY 128

/* ---- the map set: every map of the object, declared once ----
 *
 * X(name, type, max_entries, map_flags, key, value, pin). `name` is the C identifier of the
 * BTF definition (sipalg_maps.bpf.h expands this list into them), the name the kernel reports
 * (at most 15 characters) and, for a pinned map, its pin file in the instance dir. `pin` is
 * PINNED (part of an instance: the loader pins it, and checks its type and key and value sizes
 * when it opens the pin again) or UNPINNED (per-CPU scratch that holds nothing between packets,
 * with a BPF-only value type: sipalg_scratch.bpf.h defines it and the map). The loader derives
 * its pin list, its shape checks and its pin loop from this list: adding a map takes its line
 * here and its layout. Hash maps are not preallocated: memory follows the live entries. */
#define SIPALG_MAPS(X)                                                                             \
    X(sipalg_config, BPF_MAP_TYPE_ARRAY, 1, 0, __u32, struct sipalg_config, PINNED)                \
    X(sipalg_counters, BPF_MAP_TYPE_PERCPU_ARRAY, SIPALG_CTR_CAPACITY, 0, __u32, __u64, PINNED)    \
    X(sipalg_slots, BPF_MAP_TYPE_ARRAY, SIPALG_SLOTS_ENTRIES, 0, __u32, struct sipalg_slot,        \
      PINNED)                                                                                      \
    X(sipalg_binds, BPF_MAP_TYPE_HASH, SIPALG_BINDINGS_ENTRIES, BPF_F_NO_PREALLOC,                 \
      struct sipalg_endpoint, struct sipalg_binding, PINNED)                                       \
    X(sipalg_pins, BPF_MAP_TYPE_HASH, SIPALG_PINHOLES_ENTRIES, BPF_F_NO_PREALLOC,                  \
      struct sipalg_endpoint, struct sipalg_pinhole, PINNED)                                       \
    X(sipalg_phones, BPF_MAP_TYPE_HASH, SIPALG_PHONES_ENTRIES, BPF_F_NO_PREALLOC, __be32,          \
      struct sipalg_phone, PINNED)                                                                 \
    X(sipalg_state, BPF_MAP_TYPE_ARRAY, 1, 0, __u32, struct sipalg_state, PINNED)                  \
    X(sipalg_lanifs, BPF_MAP_TYPE_ARRAY, SIPALG_MAX_LAN_IFS, 0, __u32, __u32, PINNED)              \
    X(sipalg_ifaces, BPF_MAP_TYPE_ARRAY, SIPALG_IFACES, 0, __u32, struct sipalg_iface, PINNED)     \
    X(sipalg_brports, BPF_MAP_TYPE_HASH, SIPALG_MAX_BRIDGE_PORTS, 0, __u32,                        \
      struct sipalg_bridge_port, PINNED)                                                           \
    X(sipalg_dialogs, BPF_MAP_TYPE_HASH, SIPALG_DIALOGS_ENTRIES, BPF_F_NO_PREALLOC,                \
      struct sipalg_dialog_key, struct sipalg_dialog, PINNED)                                      \
    X(sipalg_limits, BPF_MAP_TYPE_ARRAY, 1, 0, __u32, struct sipalg_limits, PINNED)                \
    X(sipalg_regs, BPF_MAP_TYPE_HASH, SIPALG_REGS_ENTRIES, BPF_F_NO_PREALLOC,                      \
      struct sipalg_reg_key, struct sipalg_reg, PINNED)                                            \
    X(sipalg_rates, BPF_MAP_TYPE_LRU_HASH, SIPALG_RATES_ENTRIES, 0, struct sipalg_rate_key, __u64, \
      PINNED)                                                                                      \
    X(sipalg_failover, BPF_MAP_TYPE_ARRAY, 1, 0, __u32, struct sipalg_failover, PINNED)            \
    X(sipalg_scratch, BPF_MAP_TYPE_PERCPU_ARRAY, 1, 0, __u32, struct sipalg_sip_scratch, UNPINNED)

/* For an X that handles one kind only: SIPALG_IF_##pin(...) keeps its arguments for a pinned
 * map, SIPALG_IF_NOT_##pin(...) for an unpinned one. */
#define SIPALG_IF_PINNED(...) __VA_ARGS__
#define SIPALG_IF_UNPINNED(...)
#define SIPALG_IF_NOT_PINNED(...)
#define SIPALG_IF_NOT_UNPINNED(...) __VA_ARGS__

#endif /* SIPALG_MAPS_H */
