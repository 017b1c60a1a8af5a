/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Header field names (long and compact forms) and method names -> ids. */
#ifndef SIPALG_SIP_NAMES_H
#define SIPALG_SIP_NAMES_H

#include "sipalg/sip_types.h"
#include "sipalg/text.h"

/* Compact forms: RFC 3261 7.3.3 (i m e l c f s k t v), RFC 3515 (r), RFC 3892 (b), RFC 6665 (o
 * Event, u Allow-Events), RFC 4028 (x). */
SIPALG_FN sa_u8 sipalg_hdr_compact(sa_u32 c) {
    switch (sipalg_lower(c)) {
    case 'v':
        return SIPALG_H_VIA;
    case 'm':
        return SIPALG_H_CONTACT;
    case 'f':
        return SIPALG_H_FROM;
    case 't':
        return SIPALG_H_TO;
    case 'l':
        return SIPALG_H_CONTENT_LENGTH;
    case 'c':
        return SIPALG_H_CONTENT_TYPE;
    case 'i':
        return SIPALG_H_CALL_ID;
    case 'e':
        return SIPALG_H_CONTENT_ENCODING;
    case 'o':
        return SIPALG_H_EVENT;
    case 'r':
        return SIPALG_H_REFER_TO;
    case 'b':
        return SIPALG_H_REFERRED_BY;
    case 's':
        return SIPALG_H_SUBJECT;
    case 'k':
        return SIPALG_H_SUPPORTED;
    case 'u':
        return SIPALG_H_ALLOW_EVENTS;
    case 'x':
        return SIPALG_H_SESSION_EXPIRES;
    default:
        return SIPALG_H_OTHER;
    }
}

/* Name msg[off .. off+n) -> id. The length picks the few candidates worth comparing. */
SIPALG_FN sa_u8 sipalg_hdr_classify(const sa_u8 *msg, sa_u32 off, sa_u32 n) {
    switch (n) {
    case 1:
        return sipalg_hdr_compact(sipalg_at(msg, off));
    case 2:
        return SIPALG_IEQ(msg, off, "to") ? SIPALG_H_TO : SIPALG_H_OTHER;
    case 3:
        return SIPALG_IEQ(msg, off, "via") ? SIPALG_H_VIA : SIPALG_H_OTHER;
    case 4:
        if (SIPALG_IEQ(msg, off, "from"))
            return SIPALG_H_FROM;
        return SIPALG_IEQ(msg, off, "cseq") ? SIPALG_H_CSEQ : SIPALG_H_OTHER;
    case 5:
        if (SIPALG_IEQ(msg, off, "route"))
            return SIPALG_H_ROUTE;
        return SIPALG_IEQ(msg, off, "event") ? SIPALG_H_EVENT : SIPALG_H_OTHER;
    case 7:
        if (SIPALG_IEQ(msg, off, "contact"))
            return SIPALG_H_CONTACT;
        if (SIPALG_IEQ(msg, off, "call-id"))
            return SIPALG_H_CALL_ID;
        if (SIPALG_IEQ(msg, off, "expires"))
            return SIPALG_H_EXPIRES;
        return SIPALG_IEQ(msg, off, "subject") ? SIPALG_H_SUBJECT : SIPALG_H_OTHER;
    case 8:
        return SIPALG_IEQ(msg, off, "refer-to") ? SIPALG_H_REFER_TO : SIPALG_H_OTHER;
    case 9:
        if (SIPALG_IEQ(msg, off, "supported"))
            return SIPALG_H_SUPPORTED;
        return SIPALG_IEQ(msg, off, "diversion") ? SIPALG_H_DIVERSION : SIPALG_H_OTHER;
    case 11:
        return SIPALG_IEQ(msg, off, "referred-by") ? SIPALG_H_REFERRED_BY : SIPALG_H_OTHER;
    case 12:
        if (SIPALG_IEQ(msg, off, "record-route"))
            return SIPALG_H_RECORD_ROUTE;
        if (SIPALG_IEQ(msg, off, "content-type"))
            return SIPALG_H_CONTENT_TYPE;
        if (SIPALG_IEQ(msg, off, "max-forwards"))
            return SIPALG_H_MAX_FORWARDS;
        return SIPALG_IEQ(msg, off, "allow-events") ? SIPALG_H_ALLOW_EVENTS : SIPALG_H_OTHER;
    case 14:
        return SIPALG_IEQ(msg, off, "content-length") ? SIPALG_H_CONTENT_LENGTH : SIPALG_H_OTHER;
    case 15:
        if (SIPALG_IEQ(msg, off, "session-expires"))
            return SIPALG_H_SESSION_EXPIRES;
        return SIPALG_IEQ(msg, off, "remote-party-id") ? SIPALG_H_REMOTE_PARTY_ID : SIPALG_H_OTHER;
    case 16:
        return SIPALG_IEQ(msg, off, "content-encoding") ? SIPALG_H_CONTENT_ENCODING
                                                        : SIPALG_H_OTHER;
    case 19:
        return SIPALG_IEQ(msg, off, "p-asserted-identity") ? SIPALG_H_PAI : SIPALG_H_OTHER;
    case 20:
        return SIPALG_IEQ(msg, off, "p-preferred-identity") ? SIPALG_H_PPI : SIPALG_H_OTHER;
    default:
        return SIPALG_H_OTHER;
    }
}

/* Headers whose values carry SIP URIs the ALG rewrites (besides Via). */
SIPALG_FN int sipalg_hdr_has_uri(sa_u32 id) {
    return id == SIPALG_H_CONTACT || id == SIPALG_H_FROM || id == SIPALG_H_TO ||
           id == SIPALG_H_ROUTE || id == SIPALG_H_RECORD_ROUTE || id == SIPALG_H_REFER_TO ||
           id == SIPALG_H_REFERRED_BY || id == SIPALG_H_PAI || id == SIPALG_H_PPI ||
           id == SIPALG_H_REMOTE_PARTY_ID || id == SIPALG_H_DIVERSION;
}

/* Method token msg[off .. off+n) -> id (compared ignoring case; unknown methods are OTHER). */
SIPALG_FN sa_u8 sipalg_method_classify(const sa_u8 *msg, sa_u32 off, sa_u32 n) {
    switch (n) {
    case 3:
        if (SIPALG_IEQ(msg, off, "ack"))
            return SIPALG_M_ACK;
        return SIPALG_IEQ(msg, off, "bye") ? SIPALG_M_BYE : SIPALG_M_OTHER;
    case 4:
        return SIPALG_IEQ(msg, off, "info") ? SIPALG_M_INFO : SIPALG_M_OTHER;
    case 5:
        if (SIPALG_IEQ(msg, off, "refer"))
            return SIPALG_M_REFER;
        return SIPALG_IEQ(msg, off, "prack") ? SIPALG_M_PRACK : SIPALG_M_OTHER;
    case 6:
        if (SIPALG_IEQ(msg, off, "invite"))
            return SIPALG_M_INVITE;
        if (SIPALG_IEQ(msg, off, "cancel"))
            return SIPALG_M_CANCEL;
        if (SIPALG_IEQ(msg, off, "notify"))
            return SIPALG_M_NOTIFY;
        return SIPALG_IEQ(msg, off, "update") ? SIPALG_M_UPDATE : SIPALG_M_OTHER;
    case 7:
        if (SIPALG_IEQ(msg, off, "options"))
            return SIPALG_M_OPTIONS;
        if (SIPALG_IEQ(msg, off, "message"))
            return SIPALG_M_MESSAGE;
        return SIPALG_IEQ(msg, off, "publish") ? SIPALG_M_PUBLISH : SIPALG_M_OTHER;
    case 8:
        return SIPALG_IEQ(msg, off, "register") ? SIPALG_M_REGISTER : SIPALG_M_OTHER;
    case 9:
        return SIPALG_IEQ(msg, off, "subscribe") ? SIPALG_M_SUBSCRIBE : SIPALG_M_OTHER;
    default:
        return SIPALG_M_OTHER;
    }
}

#endif /* SIPALG_SIP_NAMES_H */
