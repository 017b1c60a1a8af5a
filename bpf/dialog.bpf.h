/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Dialogs: which pinholes belong to which call (struct sipalg_dialog in maps/sipalg_maps.h).
 *
 * Every SIP message of a call that passes a binding, either way, goes through here after its
 * addresses were decided: sipalg_dialog_signal() follows the call (created, confirmed, ending,
 * over) and sipalg_dialog_sdp_out() / _in() follow its offer/answer exchanges, whichever side
 * offers:
 *   - the phone's SDP opens (or refreshes) a pinhole per media line. As an answer to the peer's
 *     offer it becomes the line's agreed pinholes at once, scoped to the offer's address; as an
 *     offer it is held as pending, already scoped to the peer's address if an earlier exchange
 *     told it (a re-INVITE moving the phone's port gets audio at once), until the answer;
 *   - the peer's answer makes the pending pinholes the agreed ones and scopes them to its media
 *     addresses; the peer's offer is remembered as the scope of the phone's coming answer;
 *   - a line's pinholes that the new exchange no longer uses close (a moved port, a stream
 *     removed with port 0); a line the message leaves as it was (c=0.0.0.0 hold, no pinhole to
 *     be had) keeps them; a final failure of a re-INVITE or UPDATE drops only what its offer
 *     opened;
 *   - early answers (forked 18x) each re-scope the pinholes: the latest fork's early media gets
 *     in, and the final answer decides.
 * A pinhole counts the dialog lines that use it (sipalg_slot.refs); the last one to let go
 * closes it, so two calls sharing a media socket never close each other's audio, and ending a
 * dialog closes exactly the pinholes only it used. The same functions run for the daemon
 * through the admin program.
 */
#ifndef SIPALG_DIALOG_BPF_H
#define SIPALG_DIALOG_BPF_H

#include "pinhole.bpf.h"
#include "sipalg/dialog_msg.h"

#define SIPALG_DLG_IDLE_DEFAULT_S 300u

/* Messages that may start a call's state: an INVITE, or SDP in anything but a BYE, a CANCEL
 * or a failure (a call whose INVITE was never seen still gets its media followed). */
static __always_inline int sipalg_dialog_creates(const struct sipalg_dialog_msg *dm) {
    if (!dm->call)
        return 0;
    if (dm->is_request)
        return dm->method == SIPALG_M_INVITE ||
               (dm->n_media && dm->method != SIPALG_M_BYE && dm->method != SIPALG_M_CANCEL);
    return dm->n_media && dm->status < 300 && dm->cseq_method != SIPALG_M_BYE;
}

static __always_inline void sipalg_dialog_key_of(struct sipalg_dialog_key *k,
                                                 const struct sipalg_dialog_msg *dm,
                                                 __u16 bind_port) {
    k->call = dm->call;
    k->bind_port = bind_port;
    k->pad[0] = 0;
    k->pad[1] = 0;
    k->pad[2] = 0;
}

/* Counts a new dialog against the limits; 0 or -errno (counted). */
static __always_inline int sipalg_dialog_admit(const struct sipalg_limits *lim,
                                               struct sipalg_state *st, __be32 phone) {
    struct sipalg_phone *ph;

    if (!lim || st->dialogs >= lim->dlg_max_total) {
        sipalg_count(SIPALG_CTR_DLG_LIMIT_TOTAL);
        return -ENOSPC;
    }
    ph = sipalg_phone_entry(phone);
    if (!ph) {
        sipalg_count(SIPALG_CTR_DLG_LIMIT_TOTAL);
        return -ENOSPC;
    }
    return sipalg_phone_take(&ph->dialogs, lim->dlg_max_phone, &ph->dlg_limit_hits,
                             SIPALG_CTR_DLG_LIMIT_PHONE);
}

/* The live dialog of key k, or NULL (none, or being ended by another CPU). */
static __always_inline struct sipalg_dialog *sipalg_dialog_find(const struct sipalg_dialog_key *k) {
    struct sipalg_dialog *d = bpf_map_lookup_elem(&sipalg_dialogs, k);

    return d && !(d->state & SIPALG_DLG_DEAD) ? d : NULL;
}

/*
 * The message's dialog, created when the message may start one (and the limits allow). `fresh`
 * is scratch for the new entry (80 bytes: not on the rewriter's stack). NULL: no dialog, and
 * then no pinholes either (nothing would ever close them).
 */
static __always_inline struct sipalg_dialog *sipalg_dialog_get(struct sipalg_state *st,
                                                               const struct sipalg_dialog_key *k,
                                                               const struct sipalg_dialog_msg *dm,
                                                               __be32 phone, int inbound,
                                                               struct sipalg_dialog *fresh) {
    struct sipalg_dialog *d = bpf_map_lookup_elem(&sipalg_dialogs, k);

    if (d) /* one being ended is not made anew */
        return d->state & SIPALG_DLG_DEAD ? NULL : d;
    /* A response from the Internet answers something the phone sent, which made the dialog
     * if there is to be one: whoever sends one cannot make state with it. */
    if (!sipalg_dialog_creates(dm) || (inbound && !dm->is_request) ||
        sipalg_dialog_admit(sipalg_lim(), st, phone))
        return NULL;
    __builtin_memset(fresh, 0, sizeof(*fresh));
    fresh->priv_ip = phone;
    fresh->created_s = st->now_s;
    fresh->seen_s = st->now_s;
    fresh->state = SIPALG_DLG_EARLY;
    fresh->flags = inbound ? SIPALG_DLGF_INBOUND : 0;
    __builtin_memcpy(fresh->callid, dm->callid, SIPALG_CALLID_TEXT);
    if (bpf_map_update_elem(&sipalg_dialogs, k, fresh, BPF_NOEXIST) != 0) {
        /* Another CPU created it just now, or the map is full. */
        sipalg_phone_drop(phone, SIPALG_PHONE_DIALOGS);
        d = bpf_map_lookup_elem(&sipalg_dialogs, k);
        if (!d)
            sipalg_count(SIPALG_CTR_DLG_LIMIT_TOTAL);
        return d;
    }
    __sync_fetch_and_add(&st->dialogs, 1);
    sipalg_count(SIPALG_CTR_DLG_CREATED);
    return bpf_map_lookup_elem(&sipalg_dialogs, k);
}

/* The word holding session_s, state and flags: state is its third byte. */
static __always_inline __u32 *sipalg_dialog_state_word(struct sipalg_dialog *d) {
    return (__u32 *)&d->session_s;
}

/* Ends the dialog: every pinhole only it used closes, the entry goes. `ctr`: why (counted). */
static __always_inline void sipalg_dialog_end(struct sipalg_state *st,
                                              const struct sipalg_dialog_key *k,
                                              struct sipalg_dialog *d, enum sipalg_counter ctr) {
    __u16 owner = k->bind_port;
    __be32 phone = d->priv_ip;

    /* Only the CPU that marks it dead lets go of its pinholes, once. */
    if (__sync_fetch_and_or(sipalg_dialog_state_word(d), (__u32)SIPALG_DLG_DEAD << 16) &
        ((__u32)SIPALG_DLG_DEAD << 16))
        return;
#pragma unroll
    for (int i = 0; i < SIPALG_MAX_LINES_DLG; i++) {
        sipalg_pinhole_unref(st, d->rtp[i], owner);
        sipalg_pinhole_unref(st, d->rtcp[i], owner);
        sipalg_pinhole_unref(st, d->pend_rtp[i], owner);
        sipalg_pinhole_unref(st, d->pend_rtcp[i], owner);
    }
    if (bpf_map_delete_elem(&sipalg_dialogs, k) == 0) {
        __sync_fetch_and_add(&st->dialogs, -1);
        sipalg_phone_drop(phone, SIPALG_PHONE_DIALOGS);
    }
    sipalg_count(ctr);
}

/* *slot now holds `port` (with a reference of its own, taken here) instead of what it held. */
static __always_inline void sipalg_dlg_set(struct sipalg_state *st, __u16 *slot, __u16 port,
                                           __u16 owner) {
    __u16 old = *slot;

    if (port)
        sipalg_pinhole_ref(port, owner);
    *slot = port;
    sipalg_pinhole_unref(st, old, owner);
}

/* *slot's reference moves to *to (whose own is dropped); *slot is emptied. */
static __always_inline void sipalg_dlg_move(struct sipalg_state *st, __u16 *to, __u16 *slot,
                                            __u16 owner) {
    __u16 old = *to, port = *slot;

    if (!port)
        return;
    *to = port;
    *slot = 0;
    sipalg_pinhole_unref(st, old, owner);
}

/* The phone's own offer failed (a final non-2xx to its re-INVITE/UPDATE): what it opened goes. */
static __always_inline void sipalg_dialog_drop_pending(struct sipalg_state *st,
                                                       struct sipalg_dialog *d, __u16 owner) {
#pragma unroll
    for (int i = 0; i < SIPALG_MAX_LINES_DLG; i++) {
        sipalg_dlg_set(st, &d->pend_rtp[i], 0, owner);
        sipalg_dlg_set(st, &d->pend_rtcp[i], 0, owner);
    }
    d->flags &= ~SIPALG_DLGF_LOCAL_OFFER;
}

/* The peer's offer failed (the phone refused it): the scope stays what the pinholes have. */
static __always_inline void sipalg_dialog_drop_remote_offer(struct sipalg_dialog *d, __u16 owner) {
#pragma unroll
    for (int i = 0; i < SIPALG_MAX_LINES_DLG; i++) {
        const struct sipalg_slot *s = sipalg_owned_pin(d->rtp[i], owner);

        if (s)
            d->peer_ip[i] = s->remote_ip;
    }
    d->flags &= ~SIPALG_DLGF_REMOTE_OFFER;
}

/*
 * The call's course, for a message either way (`from_phone`). Returns 1 if it ended the dialog
 * (then `d` must not be used any more).
 */
static __always_inline int
sipalg_dialog_signal(struct sipalg_state *st, const struct sipalg_dialog_key *k,
                     struct sipalg_dialog *d, const struct sipalg_dialog_msg *dm, int from_phone) {
    __u8 state = d->state;

    d->seen_s = st->now_s;
    if (dm->session_s)
        d->session_s = dm->session_s;
    if (dm->is_request) {
        if (dm->method == SIPALG_M_BYE)
            d->state = SIPALG_DLG_ENDING; /* its answer (or SIPALG_DLG_ENDING_S) ends it */
        else if (dm->method == SIPALG_M_CANCEL && state == SIPALG_DLG_EARLY) {
            sipalg_dialog_end(st, k, d, SIPALG_CTR_DLG_ENDED);
            return 1;
        }
        return 0;
    }
    if (dm->status < 200)
        return 0;
    if (dm->cseq_method == SIPALG_M_BYE) { /* any final answer: 200, or 481 for a dead call */
        sipalg_dialog_end(st, k, d, SIPALG_CTR_DLG_ENDED);
        return 1;
    }
    if (dm->cseq_method != SIPALG_M_INVITE && dm->cseq_method != SIPALG_M_UPDATE)
        return 0;
    if (dm->status < 300) {
        if (dm->cseq_method == SIPALG_M_INVITE && state == SIPALG_DLG_EARLY)
            d->state = SIPALG_DLG_CONFIRMED;
        return 0;
    }
    /* The initial INVITE failed: the call never was. */
    if (dm->cseq_method == SIPALG_M_INVITE && state == SIPALG_DLG_EARLY) {
        sipalg_dialog_end(st, k, d, SIPALG_CTR_DLG_ENDED);
        return 1;
    }
    /* A re-INVITE or UPDATE failed: the call goes on as it was before its offer. */
    if (from_phone)
        sipalg_dialog_drop_remote_offer(d, k->bind_port);
    else if (d->flags & SIPALG_DLGF_LOCAL_OFFER)
        sipalg_dialog_drop_pending(st, d, k->bind_port);
    return 0;
}

/* A media line the message leaves out or sets to port 0: the stream is gone. */
static __always_inline int sipalg_dlg_line_gone(const struct sipalg_dialog_msg *dm, int i) {
    return i >= dm->n_media || !dm->line_port[i & 3];
}

/* An answer or request ends its offer/answer step; a provisional answer may be repeated. */
static __always_inline int sipalg_dlg_exchange_done(const struct sipalg_dialog_msg *dm) {
    return dm->is_request || dm->status >= 200;
}

/* The phone's SDP; new_rtp/new_rtcp: the pinholes it opened per line (0: none). */
static __always_inline void sipalg_dialog_sdp_out(struct sipalg_state *st, struct sipalg_dialog *d,
                                                  const struct sipalg_dialog_msg *dm, __u16 owner,
                                                  const __u16 *new_rtp, const __u16 *new_rtcp) {
    int answer = d->flags & SIPALG_DLGF_REMOTE_OFFER;

    if (!dm->n_media)
        return;
#pragma unroll
    for (int i = 0; i < SIPALG_MAX_LINES_DLG; i++) {
        if (!answer) {
            if (sipalg_dlg_line_gone(dm, i))
                continue; /* removed when the answer agrees */
            if (new_rtp[i])
                sipalg_dlg_set(st, &d->pend_rtp[i], new_rtp[i], owner);
            if (new_rtcp[i])
                sipalg_dlg_set(st, &d->pend_rtcp[i], new_rtcp[i], owner);
            continue;
        }
        if (sipalg_dlg_line_gone(dm, i)) {
            sipalg_dlg_set(st, &d->rtp[i], 0, owner);
            sipalg_dlg_set(st, &d->rtcp[i], 0, owner);
        } else {
            if (new_rtp[i])
                sipalg_dlg_set(st, &d->rtp[i], new_rtp[i], owner);
            if (new_rtcp[i])
                sipalg_dlg_set(st, &d->rtcp[i], new_rtcp[i], owner);
            sipalg_pinhole_scope(d->rtp[i], owner, d->peer_ip[i]);
            sipalg_pinhole_scope(d->rtcp[i], owner, d->peer_ip[i]);
        }
        sipalg_dlg_set(st, &d->pend_rtp[i], 0, owner);
        sipalg_dlg_set(st, &d->pend_rtcp[i], 0, owner);
    }
    if (!answer)
        d->flags |= SIPALG_DLGF_LOCAL_OFFER;
    else if (sipalg_dlg_exchange_done(dm))
        d->flags &= ~SIPALG_DLGF_REMOTE_OFFER;
}

/* The peer's SDP. */
static __always_inline void sipalg_dialog_sdp_in(struct sipalg_state *st, struct sipalg_dialog *d,
                                                 const struct sipalg_dialog_msg *dm, __u16 owner) {
    int answer = d->flags & SIPALG_DLGF_LOCAL_OFFER;

    if (!dm->n_media)
        return;
#pragma unroll
    for (int i = 0; i < SIPALG_MAX_LINES_DLG; i++) {
        if (sipalg_dlg_line_gone(dm, i)) {
            if (answer) { /* the peer refused the stream */
                sipalg_dlg_set(st, &d->rtp[i], 0, owner);
                sipalg_dlg_set(st, &d->rtcp[i], 0, owner);
                sipalg_dlg_set(st, &d->pend_rtp[i], 0, owner);
                sipalg_dlg_set(st, &d->pend_rtcp[i], 0, owner);
            }
            continue;
        }
        if (dm->line_ip[i])
            d->peer_ip[i] = dm->line_ip[i];
        if (!answer)
            continue; /* the scope of the phone's coming answer */
        sipalg_dlg_move(st, &d->rtp[i], &d->pend_rtp[i], owner);
        sipalg_dlg_move(st, &d->rtcp[i], &d->pend_rtcp[i], owner);
        sipalg_pinhole_scope(d->rtp[i], owner, dm->line_ip[i]);
        sipalg_pinhole_scope(d->rtcp[i], owner, dm->line_rtcp_ip[i]);
    }
    if (!answer)
        d->flags |= SIPALG_DLGF_REMOTE_OFFER;
    else if (sipalg_dlg_exchange_done(dm))
        d->flags &= ~SIPALG_DLGF_LOCAL_OFFER;
}

/* The newest media seen on the dialog's agreed pinholes (ALG clock; 0: none). */
static __always_inline __u32 sipalg_dialog_media_seen(const struct sipalg_dialog *d, __u16 owner) {
    __u32 last = 0;

#pragma unroll
    for (int i = 0; i < SIPALG_MAX_LINES_DLG; i++) {
        const struct sipalg_slot *s = sipalg_owned_pin(d->rtp[i], owner);

        if (s && sipalg_before(last, s->stamp))
            last = s->stamp;
        s = sipalg_owned_pin(d->rtcp[i], owner);
        if (s && sipalg_before(last, s->stamp))
            last = s->stamp;
    }
    return last;
}

/*
 * Has the dialog timed out at ALG clock `now`? A BYE nobody answered: after
 * SIPALG_DLG_ENDING_S. Otherwise when it had neither SIP for the idle time (or, with a session
 * timer, for the session interval and a retransmission's margin, whichever is longer) nor
 * media for the idle time: a call on hold refreshed by its session timer lives on.
 */
static __always_inline int sipalg_dialog_expired(const struct sipalg_dialog *d, __u16 owner,
                                                 __u32 idle, __u32 now) {
    __u32 sip_idle = idle, media;

    if ((d->state & ~SIPALG_DLG_DEAD) == SIPALG_DLG_ENDING)
        return now - d->seen_s >= SIPALG_DLG_ENDING_S;
    if (d->session_s && (__u32)d->session_s + SIPALG_DLG_ENDING_S > sip_idle)
        sip_idle = (__u32)d->session_s + SIPALG_DLG_ENDING_S;
    if (now - d->seen_s < sip_idle)
        return 0;
    media = sipalg_dialog_media_seen(d, owner);
    return !media || now - media >= idle;
}

#endif /* SIPALG_DIALOG_BPF_H */
