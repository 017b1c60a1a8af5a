"""Verdict helpers shared by the scenarios: each raises Fail with a reason a
router engineer can act on ("RTP 0 packets at phone1, 250 at remote")."""

import time

from .runner import Fail

MEDIA_MIN_RATIO = 0.8


def registered(ua, who):
    if not ua.registered:
        regs = ua.registrations()
        got = ", ".join(str(s) if s else "no answer" for _, s in regs) or "nothing sent"
        raise Fail("REGISTER from %s failed (%s)" % (who, got))


def final_status(ua, method="INVITE"):
    codes = [m.status for m in ua.received_responses(method) if m.status and m.status >= 200]
    return codes[-1] if codes else None


def call_answered(ua, who):
    code = final_status(ua)
    if code != 200:
        raise Fail("call from %s got %s" % (who, code or "no final answer to INVITE"))


def media(ua, kind, timeout=20):
    res = ua.wait_media(1, timeout=timeout, kind=kind)
    return res[-1] if res else None


def media_both_ways(a, a_kind, a_name, b, b_kind, b_name, timeout=20):
    """RTP of one call, counted at both ends: each end must receive most of what the
    other sent. Returns a one-line summary."""
    ma, mb = media(a, a_kind, timeout), media(b, b_kind, timeout)
    if ma is None or mb is None:
        missing = [n for n, m in ((a_name, ma), (b_name, mb)) if m is None]
        raise Fail("no media started at %s (no SDP answer seen)" % " and ".join(missing))
    ra, rb = ma.get("received", 0), mb.get("received", 0)
    sa, sb = ma.get("sent", 0), mb.get("sent", 0)
    summary = "RTP %d packets at %s (%s sent %d to %s), %d at %s (%s sent %d to %s)" % (
        ra, a_name, b_name, sb, mb.get("to", "?"), rb, b_name, a_name, sa, ma.get("to", "?"))
    if sb == 0 or sa == 0 or ra < MEDIA_MIN_RATIO * sb or rb < MEDIA_MIN_RATIO * sa:
        raise Fail(summary)
    return summary


def only_at(target_ua, target, others, method):
    """`method` arrived at target and at none of the others."""
    arrived = target_ua.wait_received(method, 1, timeout=3)
    wrong = [name for name, ua in others.items() if ua.received(method)]
    if wrong:
        raise Fail("%s for %s arrived at %s" % (method, target, ", ".join(wrong)))
    if not arrived:
        raise Fail("%s for %s never reached it" % (method, target))


def no_wan_leaks(env):
    leaks = env.wan_leaks()
    if leaks:
        first, line = leaks[0]
        more = " (+%d more messages)" % (len(leaks) - 1) if len(leaks) > 1 else ""
        raise Fail("private address left the WAN: '%s' carries '%s'%s" % (first, line, more))


# --- per call: the dialog scenarios run many calls on one SIP socket ----------------


def rtp_pair(ra, a_name, rb, b_name):
    """The two rtp_peer results of one call (or one stretch of it): (two-way, summary)."""
    rx_a, rx_b = ra.get("received", 0), rb.get("received", 0)
    tx_a, tx_b = ra.get("sent", 0), rb.get("sent", 0)
    ok = tx_a > 0 and tx_b > 0 and rx_a >= MEDIA_MIN_RATIO * tx_b and rx_b >= MEDIA_MIN_RATIO * tx_a
    if ok:
        return ok, "%d of %d at %s, %d of %d at %s" % (rx_a, tx_b, a_name, rx_b, tx_a, b_name)
    return ok, "%d at %s (%s sent %d to %s), %d at %s (%s sent %d to %s)" % (
        rx_a, a_name, b_name, tx_b, rb.get("to", "?"), rx_b, b_name, a_name, tx_a,
        ra.get("to", "?"))


def by_socket(results, field="bind"):
    """rtp_peer results keyed by their media socket ("bind") or by where they sent ("to").
    The Internet side is never translated, so what a LAN end sent to is the far end's
    socket: that pairs the two ends of a call even where the ALG rewrote its Call-ID."""
    by = {}
    for r in results:
        by.setdefault(r.get(field), []).append(r)
    return by


def pinholes_back(env, baseline, when, timeout=6.0):
    """The router's pinhole count returns to baseline (bounded wait): None when it does, or
    what is wrong. Modes without pinholes (none, direct) have nothing to check."""
    if baseline is None:
        return None
    deadline = time.monotonic() + timeout
    while True:
        now = env.pinhole_count()
        if now == baseline:
            return None
        if time.monotonic() >= deadline:
            return "%d pinhole(s) still open %.0f s after %s (%d before the calls)" % (
                now - baseline, timeout, when, baseline)
        time.sleep(0.5)
