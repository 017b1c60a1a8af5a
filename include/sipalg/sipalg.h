/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The SIP/SDP scanner and rewriter, header-only portable C (BPF and host, C and C++).
 *   sip_scan.h    sipalg_scan(): message -> headers, SDP facts, address occurrences
 *   sip_rewrite.h sipalg_apply(): occurrences with replacements -> rewritten message
 * See sip_types.h for the structures and limits.h for the bounds.
 */
#ifndef SIPALG_SIPALG_H
#define SIPALG_SIPALG_H

#include "sipalg/sip_scan.h"
#include "sipalg/sip_rewrite.h"

#endif /* SIPALG_SIPALG_H */
