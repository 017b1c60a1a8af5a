"""Many dialogs on one SIP socket: D1 (a PBX's concurrent calls), D2 (hold, resume and a
moved RTP port), D4 (call waiting).

A router that remembers one SDP exchange per phone SIP socket gets these wrong in ways
N1-N17 never show: every call here has its own RTP port, media is counted per call (the
two rtp_peers of a call are paired by socket: where the LAN end sent is the Internet end's
socket, as the ALG may rewrite Call-IDs), and after the BYEs the router must hold
as many pinholes as before the calls (sipalg's pinhole table in the sipalg modes, the SIP
helper's conntrack expectations in linux mode). Every problem found is reported, not just
the first, so one FAIL line says all that went wrong.
"""

import os
import time

from . import addresses as A
from . import checks as C
from .runner import Fail, scenario

REG = A.REGISTRAR_IP
PBX = "phone1"  # the PBX sits where phone1 would: 192.168.10.11:5060
REMOTE_RTP = 42000
PHONE_RTP = 40000


def aor(user):
    return "sip:%s@%s" % (user, REG)


def _remote(env, stay_s):
    """The remote UA as 2001, answering any number of calls, each on its own RTP port."""
    remote = env.dialog_ua("remote", A.NS_INET, A.REMOTE_IP, A.REMOTE_USER, stay_s=stay_s,
                           rtp_base=REMOTE_RTP)
    C.registered(remote, "remote")
    return remote


def _phase(result):
    """talk / resume / moved / 0 / 3 ...: the stretch of its call a result file is for."""
    return os.path.basename(result["file"]).rsplit(".", 1)[0].rsplit("_", 1)[1]


def _call_no(result):
    return int(os.path.basename(result["file"]).split("_")[1])


def _when(msgs):
    return [m.timestamp for m in msgs]


def _wait_sent(ua, method, count, timeout):
    deadline = time.monotonic() + timeout
    while len(ua.sent(method)) < count and time.monotonic() < deadline and ua.alive():
        time.sleep(0.1)
    return ua.sent(method)


def _pinholes(env, base, during, what, when, problems, label=None):
    """Pinholes must show during `what` (or the check that they close proves nothing) and be
    back to `base` after `when`; what is wrong goes to problems (prefixed with label). Returns
    the counts for the verdict."""
    if base is not None and during is not None and during <= base:
        problems.append("no pinhole showed during %s (%d, %d before): cannot tell whether "
                        "they close" % (what, during, base))
    left = C.pinholes_back(env, base, when)
    if left:
        problems.append("%s: %s" % (label, left) if label else left)
    if base is None:
        return "no pinholes to count in this mode"
    return "pinholes %d -> %d -> %s" % (base, during, "not back" if left else base)


# --- D1 -----------------------------------------------------------------------


def _wave(env, remote, n, register, label, base, problems):
    pbx = env.dialog_ua("pbx-" + label, A.ns_phone(PBX), A.PHONE_IP[PBX], A.PHONE_USER[PBX],
                        register=register, stay_s=0, calls=n, call_to=aor(A.REMOTE_USER),
                        call_s=5, call_gap_s=0.25, rtp_base=PHONE_RTP)
    if register:
        C.registered(pbx, "the PBX")
    # All n calls must be up at once, or this is not the scenario it claims to be.
    acks = _wait_sent(pbx, "ACK", n, timeout=n * 0.25 + 6)
    byes = pbx.sent("BYE")
    during = env.pinhole_count()
    if len(acks) >= n and byes and min(_when(byes)) < max(_when(acks)[:n]):
        problems.append("%s: the calls did not overlap (a BYE went out before the %dth ACK)"
                        % (label, n))
    pbx.wait(timeout=20)
    answered = {m.call_id for m in pbx.received_responses("INVITE", 200)}
    if len(answered) < n:
        problems.append("%s: %d of %d calls answered" % (label, len(answered), n))
    mine = sorted(pbx.wait_media(n, timeout=8, kind="out"), key=_call_no)
    theirs = C.by_socket(remote.wait_media(1, timeout=8, kind="in"))
    good, worst, bad = 0, None, []
    for r in mine:
        peer = theirs.get(r.get("to"))
        if not peer:
            bad.append("call %d: the PBX sent to %s, where the remote has no call" %
                       (_call_no(r), r.get("to")))
            continue
        ok, text = C.rtp_pair(r, "PBX", peer[0], "remote")
        if ok:
            good += 1
            ratio = min(r.get("received", 0) / max(1, peer[0].get("sent", 0)),
                        peer[0].get("received", 0) / max(1, r.get("sent", 0)))
            worst = ratio if worst is None else min(worst, ratio)
        else:
            bad.append("call %d: RTP %s" % (_call_no(r), text))
    if len(mine) < n:
        bad.append("%d of %d calls started media at the PBX" % (len(mine), n))
    ports = {r.get("bind") for r in mine}
    if len(ports) != len(mine):
        problems.append("%s: the calls shared RTP ports (%s)" % (label, ", ".join(sorted(ports))))
    if bad:
        problems.append("%s: %d/%d calls two-way; %s" % (label, good, n, "; ".join(bad[:4]) +
                                                          (" (+%d more)" % (len(bad) - 4)
                                                           if len(bad) > 4 else "")))
    pinholes = _pinholes(env, base, during, label, "the last BYE of " + label, problems, label)
    return "%s: %d/%d calls two-way (worst %.0f%%) on %d RTP ports, %s" % (
        label, good, n, 100 * (worst or 0), len(ports), pinholes)


@scenario("D1", "a PBX places 8 concurrent calls from one SIP socket, each with its own RTP "
          "port: every call has two-way media, and no pinhole is left after the BYEs", 90)
def d1(env):
    env.registrar()
    remote = _remote(env, stay_s=50)
    base = env.pinhole_count()
    problems, done = [], []
    # 8 at once; then two waves of 6 from the same socket and the same RTP ports, which must
    # find every pinhole of the earlier calls gone and open their own.
    for n, register, label in ((8, True, "8 calls"), (6, False, "wave 1 of 6"),
                               (6, False, "wave 2 of 6")):
        done.append(_wave(env, remote, n, register, label, base, problems))
    if problems:
        raise Fail("; ".join(problems))
    return "; ".join(done)


# --- D2 -----------------------------------------------------------------------

# The re-INVITEs of sipp/dlg_uac.xml (their Subject) and what the answer's SDP must say.
HOLD_STEPS = (("hold", "a=recvonly"), ("inactive", "a=inactive"), ("resume", "a=sendrecv"),
              ("media moved to another port", "a=sendrecv"))
# The phone's stretches of media and the remote's (its n-th re-INVITE) they pair with.
STRETCHES = (("talk", "0"), ("resume", "3"), ("moved", "4"))


@scenario("D2", "hold and resume: a re-INVITE mid-call (a=sendonly / a=inactive, then "
          "a=sendrecv, and one re-INVITE that moves the phone's RTP port) keeps audio before "
          "and after", 90)
def d2(env):
    env.registrar()
    remote = _remote(env, stay_s=40)
    base = env.pinhole_count()
    p1 = env.dialog_ua(PBX, A.ns_phone(PBX), A.PHONE_IP[PBX], A.PHONE_USER[PBX], calls=1,
                       call_to=aor(A.REMOTE_USER), hold=True, phase_s=3, call_gap_s=1,
                       stay_s=0, rtp_base=PHONE_RTP)
    C.registered(p1, "phone1")
    _wait_sent(p1, "ACK", 1, timeout=6)
    time.sleep(1.5)
    during = env.pinhole_count()
    p1.wait(timeout=40)
    C.call_answered(p1, "phone1")
    problems = []
    answers = {m.cseq: m for m in p1.received_responses("INVITE") if m.status and m.status >= 200}
    for subject, want in HOLD_STEPS:
        sent = [m for m in p1.sent("INVITE") if m.header("Subject") == subject]
        got = answers.get(sent[0].cseq) if sent else None
        if not sent:
            problems.append("the '%s' re-INVITE was never sent" % subject)
        elif got is None or got.status != 200:
            problems.append("re-INVITE '%s' got %s" % (subject, got.status if got else "no answer"))
        elif want not in got.body:
            problems.append("the answer to '%s' lost its %s" % (subject, want))
    mine = {_phase(r): r for r in p1.wait_media(3, timeout=8, kind="out")}
    far = (mine.get("talk") or {}).get("to")
    theirs = {_phase(r): r for r in C.by_socket(remote.wait_media(3, timeout=8, kind="in"))
              .get(far, [])}
    texts = []
    for stretch, peer in STRETCHES:
        a, b = mine.get(stretch), theirs.get(peer)
        if a is None or b is None:
            problems.append("%s: no media at %s" % (stretch, "phone1" if a is None else
                                                    "remote on %s, where phone1 sent" % far))
            continue
        ok, text = C.rtp_pair(a, "phone1", b, "remote")
        texts.append("%s %s" % (stretch, text))
        if not ok:
            problems.append("%s: RTP %s" % (stretch, text))
    moved, talk = mine.get("moved"), mine.get("talk")
    if moved and talk and moved.get("bind") == talk.get("bind"):
        problems.append("the phone's RTP port did not move (%s)" % moved.get("bind"))
    pinholes = _pinholes(env, base, during, "the call", "the BYE", problems)
    if problems:
        raise Fail("; ".join(problems))
    return "hold, inactive, resume, port moved (%s -> %s): %s; %s" % (
        talk.get("bind"), moved.get("bind"), ", ".join(texts), pinholes)


# --- D4 -----------------------------------------------------------------------


@scenario("D4", "call waiting: a second incoming call while the first is up; both get two-way "
          "media; ending one leaves the other's audio", 90)
def d4(env):
    env.registrar()
    p1 = env.dialog_ua(PBX, A.ns_phone(PBX), A.PHONE_IP[PBX], A.PHONE_USER[PBX], stay_s=30,
                       rtp_base=PHONE_RTP)
    C.registered(p1, "phone1")
    base = env.pinhole_count()
    # Call A, and 3 s later call B, from another socket of the remote; A hangs up first,
    # while B goes on 5 s more: B's audio must not notice.
    first = env.remote_call(A.PHONE_USER[PBX], call_s=8, wait=False)
    time.sleep(3)
    second = env.remote_call(A.PHONE_USER[PBX], user="2002", port=5070, media_port=30100,
                             call_s=10, wait=False)
    p1.wait_received("INVITE", 2, timeout=4)
    time.sleep(1.5)
    during = env.pinhole_count()
    first.wait(timeout=20)
    second.wait(timeout=20)
    C.call_answered(first, "remote to 1001 (call A)")
    C.call_answered(second, "remote to 1001 (call B, waiting)")
    problems = []
    invites = {m.call_id: m.timestamp for m in p1.received("INVITE")}
    byes = {m.call_id: m.timestamp for m in p1.received("BYE")}
    calls = []
    for name, ua in (("A", first), ("B", second)):
        sent = ua.sent("INVITE")
        calls.append((name, ua, sent[0].call_id if sent else None))
    (_, _, id_a), (_, _, id_b) = calls
    if not (id_b in invites and id_a in byes and invites[id_b] < byes[id_a] and
            id_b in byes and byes[id_a] < byes[id_b]):
        problems.append("the calls did not overlap as planned (B rings while A is up, A ends "
                        "first)")
    at_phone = C.by_socket(p1.wait_media(2, timeout=8, kind="in"), "to")
    texts, ports = [], set()
    for name, ua, _ in calls:
        far = C.media(ua, "out", timeout=8)
        near = (at_phone.get((far or {}).get("bind")) or [None])[0]
        if far is None or near is None:
            problems.append("call %s: no media at %s" % (name, "remote" if far is None
                                                           else "phone1"))
            continue
        ports.add(near.get("bind"))
        ok, text = C.rtp_pair(near, "phone1", far, "remote")
        gap = max(near.get("max_gap_ms", 0), far.get("max_gap_ms", 0))
        texts.append("%s: %s, max gap %d ms" % (name, text, gap))
        if not ok or gap > 1000:
            after = " (still up when A hung up)" if name == "B" else ""
            problems.append("call %s%s: RTP %s, max gap %d ms" % (name, after, text, gap))
    if len(ports) == 1:
        problems.append("both calls used phone1's RTP port %s" % ports.pop())
    pinholes = _pinholes(env, base, during, "the two calls", "both BYEs", problems)
    if problems:
        raise Fail("; ".join(problems))
    return "A then B ringing while A was up, A ended first: %s; %s" % ("; ".join(texts), pinholes)
