/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * What the scanner reports and the rewriter consumes: verdicts, header and method ids, address
 * occurrences, SDP media facts, and the scan result (struct sipalg_scan_result) that also carries
 * the scanner's internal scratch state. Plain C, no BPF-only constructs; enum values are stored in
 * sa_u8 fields so the layout is the same in C, C++ and BPF.
 */
#ifndef SIPALG_SIP_TYPES_H
#define SIPALG_SIP_TYPES_H

#include "sipalg/portable.h"

/* Outcome of scan and apply. Everything but OK means: do not rewrite in this path. */
enum sipalg_verdict {
    SIPALG_OK = 0,
    SIPALG_NOT_SIP = 1,     /* no SIP start line: pass untouched (binary junk on 5060, ...) */
    SIPALG_MALFORMED = 2,   /* SIP-like but broken: truncated, bad Content-Length, bad header */
    SIPALG_TOO_COMPLEX = 3, /* over a compile-time limit (lines, headers, occurrences, media) */
    SIPALG_TOO_BIG = 4,     /* message, or the rewritten message, longer than SIPALG_MSG_MAX */
};

/* Finer reason behind a verdict, for counters. */
enum sipalg_reason {
    SIPALG_R_NONE = 0,
    SIPALG_R_EMPTY,
    SIPALG_R_START_LINE,   /* not a SIP request/status line */
    SIPALG_R_BAD_VERSION,  /* SIP/x.y other than 2.0 */
    SIPALG_R_BAD_REQ_LINE, /* method/Request-URI/version not separated by single spaces */
    SIPALG_R_BAD_STATUS,   /* status code not 100..699 */
    SIPALG_R_NO_HDR_END,   /* no empty line after the headers (truncated) */
    SIPALG_R_BAD_HDR,      /* header line without "name:" */
    SIPALG_R_BAD_CLEN,     /* Content-Length not a number, or two different ones */
    SIPALG_R_CLEN_BEYOND,  /* Content-Length larger than the bytes present (truncated) */
    SIPALG_R_LINES,        /* more than SIPALG_MAX_LINES lines needed */
    SIPALG_R_HDRS,         /* more than SIPALG_MAX_HDRS headers */
    SIPALG_R_OCC,          /* more than SIPALG_MAX_OCC occurrences */
    SIPALG_R_MEDIA,        /* more than SIPALG_MAX_MEDIA m= lines */
    SIPALG_R_MSG_LEN,      /* input longer than SIPALG_MSG_MAX */
    SIPALG_R_OUT_LEN,      /* rewritten message longer than SIPALG_MSG_MAX */
    SIPALG_R_EDITS,        /* occurrences overlap or out of order (caller error) */
};

/* Header fields the ALG cares about; everything else is OTHER. RURI marks the Request-URI. */
enum sipalg_hdr_id {
    SIPALG_H_OTHER = 0,
    SIPALG_H_VIA,
    SIPALG_H_CONTACT,
    SIPALG_H_FROM,
    SIPALG_H_TO,
    SIPALG_H_ROUTE,
    SIPALG_H_RECORD_ROUTE,
    SIPALG_H_REFER_TO,
    SIPALG_H_REFERRED_BY,
    SIPALG_H_PAI, /* P-Asserted-Identity */
    SIPALG_H_PPI, /* P-Preferred-Identity */
    SIPALG_H_CONTENT_LENGTH,
    SIPALG_H_CONTENT_TYPE,
    SIPALG_H_CALL_ID,
    SIPALG_H_CSEQ,
    SIPALG_H_EXPIRES,
    SIPALG_H_EVENT,
    SIPALG_H_MAX_FORWARDS,
    SIPALG_H_SUBJECT,
    SIPALG_H_SUPPORTED,
    SIPALG_H_ALLOW_EVENTS,
    SIPALG_H_CONTENT_ENCODING,
    SIPALG_H_SESSION_EXPIRES,
    SIPALG_H_REMOTE_PARTY_ID, /* draft-ietf-sip-privacy; FreeSWITCH, Cisco, many PBXes */
    SIPALG_H_DIVERSION,       /* RFC 5806 */
    SIPALG_H_RURI,            /* pseudo header: the Request-URI of the start line */
    SIPALG_H_COUNT
};

enum sipalg_method {
    SIPALG_M_NONE = 0, /* responses */
    SIPALG_M_OTHER,    /* any unknown token: fine */
    SIPALG_M_INVITE,
    SIPALG_M_ACK,
    SIPALG_M_BYE,
    SIPALG_M_CANCEL,
    SIPALG_M_REGISTER,
    SIPALG_M_OPTIONS,
    SIPALG_M_NOTIFY,
    SIPALG_M_REFER,
    SIPALG_M_SUBSCRIBE,
    SIPALG_M_UPDATE,
    SIPALG_M_PRACK,
    SIPALG_M_INFO,
    SIPALG_M_MESSAGE,
    SIPALG_M_PUBLISH,
};

/*
 * Where an address (or port) was found; decides how the replacement is written:
 *   SIP_HOST        host[:port] of a SIP URI or Via sent-by      -> new_ip[:new_port]
 *   SIP_ADDR        Via received= / maddr= (Via or URI)          -> new_ip
 *   SIP_RPORT       Via rport=N (only when that Via's sent-by matched; ip/port = sent-by's)
 *                                                                -> new_port
 *   SDP_ORIGIN      o= unicast-address                           -> new_ip
 *   SDP_CONN        c= address (media == SIPALG_SESSION: session level)  -> new_ip
 *   SDP_MEDIA_PORT  m= port of media `media` (ip = its connection address) -> new_port
 *   SDP_RTCP_PORT   a=rtcp: port of media `media`                -> new_port
 *   SDP_RTCP_ADDR   a=rtcp: ... IN IP4 address                   -> new_ip
 *   CONTENT_LENGTH  the Content-Length digits; the rewriter fills it in itself
 *   CALLID_HOST     Call-ID host part that is an IPv4 literal      -> new_ip
 *   SDP_CAND_ADDR   a=candidate connection address or raddr in the match set -> new_ip
 *   SDP_CAND_PORT   the port (or rport) next to such an address (ip = that address) -> new_port
 */
enum sipalg_occ_kind {
    SIPALG_OCC_NONE = 0,
    SIPALG_OCC_SIP_HOST,
    SIPALG_OCC_SIP_ADDR,
    SIPALG_OCC_SIP_RPORT,
    SIPALG_OCC_SDP_ORIGIN,
    SIPALG_OCC_SDP_CONN,
    SIPALG_OCC_SDP_MEDIA_PORT,
    SIPALG_OCC_SDP_RTCP_PORT,
    SIPALG_OCC_SDP_RTCP_ADDR,
    SIPALG_OCC_CONTENT_LENGTH,
    SIPALG_OCC_CALLID_HOST, /* Call-ID "local@a.b.c.d": the address after '@' -> new_ip */
    SIPALG_OCC_SDP_CAND_ADDR,
    SIPALG_OCC_SDP_CAND_PORT,
};

#define SIPALG_SESSION 0xff /* occ.media of a session-level c= */

/* occ.flags */
#define SIPALG_OF_PORT 0x01    /* SIP_HOST: an explicit ":port" follows the host */
#define SIPALG_OF_TOP_VIA 0x02 /* belongs to the first value of the first Via header */
#define SIPALG_OF_BODY 0x04    /* inside the message body (changes Content-Length) */
#define SIPALG_OF_SET 0x80     /* set by the caller: new_ip/new_port are to be written */

/* One rewrite candidate: an address (in the match set) or port found in the message. */
struct sipalg_occ {
    sa_u32 ip;       /* address found, host byte order (for port kinds: the address it goes with) */
    sa_u32 new_ip;   /* caller: replacement address */
    sa_u16 off, len; /* span replaced in the message */
    sa_u16 port;     /* port found (SIP_HOST without ":port": 0) */
    sa_u16 new_port; /* caller: replacement port; SIP_HOST: 0 writes no ":port" */
    sa_u8 kind;      /* enum sipalg_occ_kind */
    sa_u8 hdr;       /* enum sipalg_hdr_id of the header it is in (OTHER for SDP) */
    sa_u8 media;     /* SDP: media index, or SIPALG_SESSION */
    sa_u8 flags;     /* SIPALG_OF_* */
    sa_u8 text_len;  /* rewriter scratch: length of text */
    sa_u8 pad[3];
    /* rewriter scratch: replacement text; 8 bytes of slack for the word store of the last
     * number (sipalg_fmt_dec writes 8 bytes at a position < SIPALG_TEXT_MAX) */
    sa_u8 text[SIPALG_TEXT_MAX + 8];
};

/* One header field: name id and value span (value_end includes continuation lines). */
struct sipalg_hdr {
    sa_u16 name_off;
    sa_u16 value_off; /* first byte after ':' (may be whitespace) */
    sa_u16 value_end; /* end of the last line of the field, before CR/LF */
    sa_u8 id;         /* enum sipalg_hdr_id */
    sa_u8 compact;    /* 1: written in compact form (v:, m:, ...) */
};

/* sipalg_sdp_media.flags */
#define SIPALG_MF_RTP 0x01     /* transport protocol is RTP based (RTCP on port+1 unless a=rtcp) */
#define SIPALG_MF_CONN 0x02    /* media-level c= IPv4 present (conn_ip) */
#define SIPALG_MF_CONN_V6 0x04 /* media-level c= is IPv6 (not handled on the IPv4 path) */
#define SIPALG_MF_RTCP 0x08    /* a=rtcp: present (rtcp_port) */
#define SIPALG_MF_RTCP_IP 0x10 /* a=rtcp: carries an IPv4 address (rtcp_ip) */

struct sipalg_sdp_media {
    sa_u32 conn_ip; /* media-level c= (if SIPALG_MF_CONN) */
    sa_u32 rtcp_ip; /* a=rtcp address (if SIPALG_MF_RTCP_IP) */
    sa_u16 port;    /* m= port (0: stream rejected/disabled) */
    sa_u16 nports;  /* m=<port>/<n>: n (1 if absent) */
    sa_u16 rtcp_port;
    sa_u8 flags;
    sa_u8 pad;
};

/* sipalg_sdp.flags */
#define SIPALG_SF_PRESENT 0x01 /* the body is SDP and was scanned */
#define SIPALG_SF_CONN 0x02    /* session-level c= IPv4 present (sess_ip) */
#define SIPALG_SF_CONN_V6 0x04 /* session-level c= is IPv6 */
#define SIPALG_SF_ICE 0x08     /* a=candidate lines present */
#define SIPALG_SF_ORIGIN 0x10  /* o= IPv4 present (origin_ip) */

struct sipalg_sdp {
    sa_u32 sess_ip;   /* session-level c= */
    sa_u32 origin_ip; /* o= address */
    sa_u8 n_media;
    sa_u8 flags;
    sa_u8 pad[2];
    struct sipalg_sdp_media m[SIPALG_MAX_MEDIA];
};

/* The set of addresses that are to be rewritten: outbound the LAN prefixes, inbound the public
 * address as a /32. Host byte order. */
struct sipalg_prefix {
    sa_u32 net;
    sa_u32 mask; /* e.g. 0xffff0000 for /16; 0 entries never match */
};

struct sipalg_match {
    sa_u32 n; /* entries used (<= SIPALG_MAX_PREFIXES) */
    sa_u32 pad;
    struct sipalg_prefix p[SIPALG_MAX_PREFIXES];
};

/* Scan options */
#define SIPALG_SCAN_NO_SDP_EDITS 0x1 /* collect SDP facts but no SDP occurrences (inbound) */

/* Value state machine for URI-carrying headers and Via (internal). */
struct sipalg_vsm {
    sa_u64 pname;    /* current parameter name, packed (SIPALG_PK*) */
    sa_u32 acc;      /* candidate: octets so far */
    sa_u32 num;      /* candidate: current octet / port / number */
    sa_u32 ip;       /* candidate: address once complete */
    sa_u32 via_ip;   /* sent-by address of the current Via value (if it matched) */
    sa_u16 via_port; /* sent-by port (0 if none) */
    sa_u16 cand_off; /* candidate start */
    sa_u8 hdr;       /* enum sipalg_hdr_id being fed */
    sa_u8 mode;      /* SIPALG_VSM_* */
    sa_u8 cand;      /* SIPALG_CAND_* or 0 */
    sa_u8 cphase;    /* 0: address part, 1: port part */
    sa_u8 noct, ndig, first;
    sa_u8 quote, esc, angle;
    sa_u8 pstate; /* 0: none, 1: parameter name, 2: parameter value */
    sa_u8 plen;
    sa_u8 via_phase, via_slash, via_tok, via_match, via_first;
    sa_u8 seen; /* a non-blank byte was seen (Contact: *) */
    sa_u8 fast; /* plain bytes cannot change the state right now: skip them */
};

/* Internal scratch of one scan. */
struct sipalg_scan_state {
    sa_u16 lines[SIPALG_MAX_LINES];    /* line start offsets */
    sa_u16 nl;                         /* entries used in lines[] */
    sa_u8 lines_full;                  /* newlines beyond lines[] exist */
    sa_u8 phase;                       /* start line, headers, body, done */
    sa_u16 tok_off[SIPALG_MAX_TOKENS]; /* tokens of the SDP line being parsed */
    sa_u16 tok_end[SIPALG_MAX_TOKENS];
    sa_u8 ntok;
    sa_u8 tok_in;
    sa_u16 feed_base; /* first offset of the range a byte loop walks */
    sa_u16 feed_end;  /* end of that range */
    sa_u16 span_end;  /* result of the span helper / end of the tokenized line */
    sa_u8 span_cls;
    sa_u8 n_via;           /* Via header fields seen */
    sa_u16 overflow_start; /* start of the first line not in lines[] (if lines_full) */
    sa_u16 prev_ce;        /* end of the previous header line (value end) */
    sa_u16 body_end;
    sa_u8 ct_sdp;  /* Content-Type: application/sdp */
    sa_u8 ct_seen; /* a Content-Type header was present */
    /* start line */
    sa_u16 sp1, sp2, nsp;
    sa_u8 sl_bad, sl_ctl;
    /* rewriter */
    sa_u32 src, dst, end, seg;
    sa_u32 prev_end;
    sa_s32 delta, body_delta;
    sa_u8 bad_edit;
    sa_u8 pad[3];
    struct sipalg_vsm v;
};

/* Everything a scan found. Only the first n_hdrs / n_occ entries of the arrays are meaningful. */
struct sipalg_scan_result {
    struct sipalg_match match; /* copy of the caller's match set */
    sa_u32 len;                /* message length */
    sa_u32 opts;               /* SIPALG_SCAN_* */
    sa_u8 verdict;             /* enum sipalg_verdict */
    sa_u8 reason;              /* enum sipalg_reason */
    sa_u8 is_request;
    sa_u8 method; /* enum sipalg_method (request) */
    sa_u16 status;
    sa_u8 cseq_method;
    sa_u8 contact_star;   /* Contact: * */
    sa_u8 contact_unspec; /* a Contact names 0.0.0.0 (never an occurrence: see ip_match.h) */
    sa_u16 ruri_off, ruri_len;
    sa_u16 body_off;        /* first body byte (== len if none) */
    sa_u16 body_len;        /* from Content-Length, or the rest of the message */
    sa_s32 content_length;  /* -1: no Content-Length header */
    sa_s32 expires;         /* Expires header, -1 if absent */
    sa_s32 contact_expires; /* expires= of the first Contact value, -1 if absent */
    sa_u32 cseq;
    sa_u32 callid_ip;       /* Call-ID "word@a.b.c.d": the address (0: none, or another form) */
    sa_u16 callid_off;      /* the Call-ID value (after leading whitespace) */
    sa_u16 callid_len;      /* up to the end of the value (0: no Call-ID) */
    sa_u16 callid_word;     /* with callid_ip: the length of "word@" */
    sa_s32 session_expires; /* Session-Expires delta-seconds, -1 if absent */
    sa_u16 n_hdrs, n_occ;
    struct sipalg_hdr hdrs[SIPALG_MAX_HDRS];
    struct sipalg_occ occ[SIPALG_MAX_OCC];
    struct sipalg_sdp sdp;
    struct sipalg_scan_state st;
};

/*
 * The per-CPU scratch a BPF program keeps in one PERCPU_ARRAY map value: message in, message
 * out, scan result. One map value = one pointer the verifier knows the size of.
 */
struct sipalg_work {
    sa_u8 msg[SIPALG_BUF_SIZE];
    sa_u8 out[SIPALG_BUF_SIZE];
    struct sipalg_scan_result sc;
};

/* A message buffer as one object of known size: what a global function (SIPALG_GLOBAL_FN) takes
 * instead of a byte pointer. */
struct sipalg_msg_buf {
    sa_u8 b[SIPALG_BUF_SIZE];
};

/* Passed by pointer to every loop callback. Lives on the caller's stack (see SIPALG_LOOP). */
struct sipalg_ctx {
    const sa_u8 *msg;
    sa_u8 *out;
    struct sipalg_scan_result *sc;
};

#endif /* SIPALG_SIP_TYPES_H */
