"""The brief's scenarios N1-N17, one function each.

A scenario returns a short reason when it passes and raises Fail(reason) when it
does not. Features that do not exist yet make their scenario FAIL, never skip.
"""

import json
import time

from . import addresses as A
from . import checks as C
from .env import make_env  # noqa: F401  (the runner takes it from here)
from .runner import Fail, scenario
from .topo import FAILOVER_AFTER_S, PIN_ROOT

REG = A.REGISTRAR_IP


def aor(user, host=REG):
    return "sip:%s@%s" % (user, host)


def _idle_phones(env, *names):
    """Phones that only register (all started before the first is checked), each registered."""
    uas = [env.phone(n) for n in names]
    for n, ua in zip(names, uas):
        C.registered(ua, n)
    return uas


@scenario("N1", "a phone registers; its stored contact is reachable from outside", 60)
def n1(env):
    reg = env.registrar()
    p1 = env.phone("phone1")
    C.registered(p1, "phone1")
    stored = reg.location("1001")
    if not stored:
        raise Fail("registrar holds no contact for 1001 after a 200 OK")
    opt = env.tk.send_options(A.NS_INET, A.REMOTE_IP, A.REMOTE_USER, REG, aor("1001"),
                              env.workdir)
    if not p1.wait_received("OPTIONS", 1, timeout=3):
        raise Fail("registrar stored %s; OPTIONS to it never reached phone1" % stored[0])
    if not opt.ok:
        raise Fail("OPTIONS reached phone1 but its 200 OK never came back")
    return "stored contact %s reached phone1" % stored[0]


@scenario("N2", "phones on the same local port 5060 each get their own binding", 80)
def n2(env):
    reg = env.registrar()
    phones = {n: env.phone(n) for n in A.PHONES}
    for n, ua in phones.items():
        C.registered(ua, n)
    stored = {n: reg.location(A.PHONE_USER[n]) for n in A.PHONES}
    firsts = [s[0] if s else None for s in stored.values()]
    if None in firsts or len(set(firsts)) != len(firsts):
        raise Fail("stored contacts not distinct: %s" % ", ".join(
            "%s=%s" % (n, s[0] if s else "none") for n, s in stored.items()))
    for n in A.PHONES:
        before = {o: len(phones[o].received("OPTIONS")) for o in A.PHONES}
        env.tk.send_options(A.NS_INET, A.REMOTE_IP, A.REMOTE_USER, REG,
                            aor(A.PHONE_USER[n]), env.workdir)
        if not phones[n].wait_received("OPTIONS", before[n] + 1, timeout=3):
            raise Fail("OPTIONS for %s (stored %s) never reached it" % (n, stored[n][0]))
        wrong = [o for o in A.PHONES if o != n and len(phones[o].received("OPTIONS")) > before[o]]
        if wrong:
            raise Fail("OPTIONS for %s arrived at %s" % (n, ", ".join(wrong)))
    return "3 distinct contacts (%s), each reached its own phone" % ", ".join(firsts)


@scenario("N3", "an incoming call to phone 2 rings phone 2, never phone 1", 60)
def n3(env):
    env.registrar()
    p1, p2 = _idle_phones(env, "phone1", "phone2")
    call = env.remote_call("1002", call_s=3)
    C.only_at(p2, "phone2", {"phone1": p1}, "INVITE")
    C.call_answered(call, "remote to 1002")
    if not call.ok or not p2.received("BYE"):
        raise Fail("call to phone2 was answered but BYE did not complete")
    return "INVITE, 200, ACK, BYE at phone2 only"


@scenario("N4", "outgoing call: RTP flows both ways", 60)
def n4(env):
    env.registrar()
    remote = env.remote()
    C.registered(remote, "remote")
    p1 = env.phone("phone1", call_to=aor(A.REMOTE_USER), calls=1, call_s=5, call_delay_s=1)
    C.registered(p1, "phone1")
    time.sleep(8)
    C.call_answered(p1, "phone1")
    return C.media_both_ways(p1, "out", "phone1", remote, "in", "remote")


@scenario("N5", "incoming call: RTP flows both ways", 60)
def n5(env):
    env.registrar()
    p1 = env.phone("phone1")
    C.registered(p1, "phone1")
    call = env.remote_call("1001", call_s=5)
    C.call_answered(call, "remote to 1001")
    return C.media_both_ways(call, "out", "remote", p1, "in", "phone1")


@scenario("N6", "re-registration with short Expires over minutes; a call after the last", 320)
def n6(env):
    env.registrar()
    # Expires 60, re-REGISTER every 45 s (3 times), then a call 40 s after the last one: still
    # inside the registration, but past the 30 s that conntrack gives a UDP exchange. --quick
    # keeps the shape in half the time: conntrack's UDP timeout in the router set to 10 s,
    # re-REGISTER twice every 15 s, the call 20 s after the last.
    if env.quick:
        ct_udp, count, every, after = 10, 2, 15, 20
        env.topo.run(A.NS_ROUTER, ["sysctl", "-qw", "net.netfilter.nf_conntrack_udp_timeout=%d"
                                   % ct_udp])
    else:
        ct_udp, count, every, after = 30, 3, 45, 40
    p1 = env.phone("phone1", expires=60, reregister_every=every,
                   duration=(count - 1) * every + 60)
    C.registered(p1, "phone1")
    time.sleep((count - 1) * every + 1)
    regs = p1.registrations()
    bad = [(cseq, st) for cseq, st in regs if st != 200]
    if len(regs) < count or bad:
        raise Fail("re-registrations: %s" % ", ".join("%s" % (st or "no answer") for _, st in regs))
    time.sleep(after)
    call = env.remote_call("1001", call_s=2)
    if not p1.received("INVITE"):
        raise Fail("%d registrations OK, but an INVITE %d s after the last (conntrack's UDP "
                   "timeout %d s) never reached phone1 (remote got %s)" % (
                       count, after, ct_udp, C.final_status(call) or "no answer"))
    C.call_answered(call, "remote to 1001")
    return "%d registrations every %d s, call %d s later (conntrack's UDP timeout %d s) answered" % (
        count, every, after, ct_udp)


@scenario("N7", "a phone registering late, while others are in calls, works", 90)
def n7(env):
    env.registrar()
    remote = env.remote(duration=40)
    p1 = env.phone("phone1", duration=40, call_to=aor(A.REMOTE_USER), calls=1, call_s=12,
                   call_delay_s=1)
    p2 = env.phone("phone2", duration=40)
    C.registered(remote, "remote")
    C.registered(p1, "phone1")
    C.registered(p2, "phone2")
    time.sleep(4)  # phone1 is now in a call with media flowing
    p3 = env.phone("phone3", duration=30)
    C.registered(p3, "phone3 (late)")
    call = env.remote_call("1003", user="2002", port=5070, media_port=30100, call_s=4)
    C.only_at(p3, "phone3", {"phone1": p1, "phone2": p2}, "INVITE")
    C.call_answered(call, "remote to late phone3")
    late = C.media_both_ways(call, "out", "remote", p3, "in", "phone3")
    time.sleep(3)
    C.media_both_ways(p1, "out", "phone1", remote, "in", "remote")
    return "late phone3: " + late + "; phone1's call kept its audio"


@scenario("N8", "MWI: NOTIFY (message-summary) reaches the right phone", 60)
def n8(env):
    env.registrar()
    p1, p2 = _idle_phones(env, "phone1", "phone2")
    notify = env.tk.send_notify(A.NS_INET, A.REMOTE_IP, "voicemail", REG, aor("1002"),
                                env.workdir)
    C.only_at(p2, "phone2", {"phone1": p1}, "NOTIFY")
    if not notify.ok:
        raise Fail("NOTIFY reached phone2 but its 200 OK never came back")
    return "NOTIFY message-summary at phone2 only, 200 OK back"


@scenario("N9", "transfer: in-dialog REFER reaches the phone, NOTIFY sipfrag goes back", 60)
def n9(env):
    env.registrar()
    p1 = env.phone("phone1")
    C.registered(p1, "phone1")
    call = env.remote_call("1001", call_s=3, refer_to=aor("3000"), refer_after_s=1)
    C.call_answered(call, "remote to 1001")
    if not p1.received("REFER"):
        raise Fail("in-dialog REFER never reached phone1")
    if not call.received_responses("REFER", 202):
        raise Fail("phone1 got the REFER but its 202 never came back")
    frags = [m for m in call.received("NOTIFY") if "sipfrag" in (m.header("Content-Type") or "")]
    if not frags:
        raise Fail("REFER accepted (202) but the NOTIFY sipfrag never came back")
    return "REFER -> 202, NOTIFY sipfrag '%s' back" % frags[0].body.strip().splitlines()[0]


@scenario("N10", "a hosted service doing its own NAT traversal keeps working", 60)
def n10(env):
    env.hosted()
    p1 = env.phone("phone1", server=A.HOSTED_IP)
    C.registered(p1, "phone1 (to the hosted service)")
    call = env.remote_call("1001", server=A.HOSTED_IP, call_s=5,
                           media_args=["--symmetric"])
    if not p1.received("INVITE"):
        raise Fail("INVITE from the hosted service never reached phone1 (remote got %s)" %
                   (C.final_status(call) or "no answer"))
    C.call_answered(call, "remote via hosted service")
    return C.media_both_ways(call, "out", "remote", p1, "in", "phone1")


def _toggle(env, on):
    """Switch the router's SIP ALG at runtime, without a reload."""
    if env.mode == "sipalg":
        env.topo.set_alg(on)
    elif env.mode == "linux":
        from .topo import LINUX_HELPER_NFT
        if on:
            env.topo.nft(A.NS_ROUTER, LINUX_HELPER_NFT)
        else:
            env.topo.run(A.NS_ROUTER, ["nft", "delete", "table", "inet", "sae_sip_helper"])
    elif env.mode == "sipalg-off":
        raise Fail("this column keeps the ALG disabled: nothing to switch")
    else:
        raise Fail("there is no SIP ALG to switch in mode '%s'" % env.mode)


@scenario("N11", "enable/disable/enable at runtime takes effect at once; calls keep audio", 90)
def n11(env):
    reg = env.registrar()
    remote = env.remote(duration=40)
    p1 = env.phone("phone1", duration=40, call_to=aor(A.REMOTE_USER), calls=1, call_s=12,
                   call_delay_s=1)
    C.registered(remote, "remote")
    C.registered(p1, "phone1")
    time.sleep(3)
    _toggle(env, False)
    # The very next REGISTER must cross the router untouched...
    r2 = env.tk.sipp_register(A.ns_phone("phone2"), A.PHONE_IP["phone2"], "1002", REG,
                              env.workdir)
    off_contact = (reg.location("1002") or ["none"])[0]
    time.sleep(2)
    _toggle(env, True)
    # ...and the next one after enabling rewritten again.
    r3 = env.tk.sipp_register(A.ns_phone("phone3"), A.PHONE_IP["phone3"], "1003", REG,
                              env.workdir)
    on_contact = (reg.location("1003") or ["none"])[0]
    if not r2.ok or not r3.ok:
        raise Fail("REGISTER around the toggle failed (disabled: %s, enabled: %s)" %
                   ("ok" if r2.ok else "failed", "ok" if r3.ok else "failed"))
    if A.PHONE_IP["phone2"] not in off_contact:
        raise Fail("disable did not take effect: contact stored right after it was %s"
                   % off_contact)
    if A.PHONE_IP["phone3"] in on_contact:
        raise Fail("enable did not take effect: contact stored right after it was %s"
                   % on_contact)
    time.sleep(9)
    audio = C.media_both_ways(p1, "out", "phone1", remote, "in", "remote")
    gap = max(C.media(p1, "out").get("max_gap_ms", 0), C.media(remote, "in").get("max_gap_ms", 0))
    if gap > 1000:
        raise Fail("audio of the call in progress stalled for %d ms across the toggles" % gap)
    return "off: %s stored; on: %s stored; call audio kept (%s, max gap %d ms)" % (
        off_contact, on_contact, audio, gap)


@scenario("N12", "SIP over TCP", 60)
def n12(env):
    env.registrar()
    remote = env.remote(transport="tcp")
    C.registered(remote, "remote")
    p1 = env.phone("phone1", transport="tcp", call_to=aor(A.REMOTE_USER), calls=1, call_s=4,
                   call_delay_s=1)
    C.registered(p1, "phone1 over TCP")
    time.sleep(7)
    C.call_answered(p1, "phone1 over TCP")
    out = C.media_both_ways(p1, "out", "phone1", remote, "in", "remote")
    call = env.remote_call("1001", transport="tcp", call_s=3)
    if not p1.received("INVITE"):
        raise Fail("outgoing TCP call OK, but an incoming TCP INVITE never reached phone1 "
                   "(remote got %s)" % (C.final_status(call) or "no answer"))
    C.call_answered(call, "remote to 1001 over TCP")
    return "register, outgoing and incoming calls over TCP; " + out


@scenario("N13", "large SDP (audio+video, ICE, a=rtcp; > 1400 bytes, fragmented) leaks nothing",
          60)
def n13(env):
    env.registrar()
    env.start_capture()
    remote = env.remote()
    C.registered(remote, "remote")
    p1 = env.phone("phone1", call_to=aor(A.REMOTE_USER), calls=1, call_s=4, call_delay_s=1,
                   large_sdp=True)
    C.registered(p1, "phone1")
    time.sleep(7)
    C.call_answered(p1, "phone1 (large SDP)")
    invites = [m for m in p1.sent("INVITE")]
    size = max((len(m.raw) for m in invites), default=0)
    C.no_wan_leaks(env)
    audio = C.media_both_ways(p1, "out", "phone1", remote, "in", "remote")
    return "%d-byte INVITE answered, no private address on the WAN; %s" % (size, audio)


@scenario("N14", "no private LAN address in any message leaving the WAN", 90)
def n14(env):
    env.registrar()
    env.start_capture()
    remote = env.remote(duration=40)
    p1 = env.phone("phone1", duration=40, call_to=aor(A.REMOTE_USER), calls=1, call_s=3,
                   call_delay_s=1)
    p2 = env.phone("phone2", duration=40)
    for ua, n in ((remote, "remote"), (p1, "phone1"), (p2, "phone2")):
        C.registered(ua, n)
    time.sleep(5)
    call = env.remote_call("1002", call_s=3, refer_to=aor("3000"))
    env.tk.send_notify(A.NS_INET, A.REMOTE_IP, "voicemail", REG, aor("1002"), env.workdir)
    C.call_answered(p1, "phone1")
    C.call_answered(call, "remote to 1002")
    C.no_wan_leaks(env)
    return "REGISTER, calls both ways, REFER, NOTIFY: no private address left the WAN"


def _policy(env, name, on):
    env.topo.sipalg("policy", name, "on" if on else "off", "--wan", A.WAN_IF, "--pin-root",
                    PIN_ROOT)


def _counters(env):
    return json.loads(env.topo.alg_status_json())["counters"]


def _lan_call(env, caller, callee_ua, n, what):
    """caller (a phone name) calls 1002 (callee_ua, phone2): answered, audio both ways, the
    n-th call phone2 took; nothing of it on the WAN. Returns (caller's UA, audio summary)."""
    ua = env.phone(caller, call_to=aor("1002"), calls=1, call_s=4, call_delay_s=1)
    C.registered(ua, caller)
    time.sleep(7)
    C.call_answered(ua, "%s to phone2 (%s)" % (caller, what))
    callee_ua.wait_media(n, timeout=15, kind="in")
    audio = C.media_both_ways(ua, "out", caller, callee_ua, "in", "phone2")
    hairpin = env.wan_rtp_packets()
    if hairpin:
        raise Fail("%s: media went out and back through the WAN: %d RTP packets seen on the "
                   "Internet side (%s)" % (what, hairpin, audio))
    return ua, audio


@scenario("N15", "two LAN phones calling via an outside server keep media on the LAN", 60)
def n15(env):
    """sipalg: with the local-media policy on, each phone gets the other's LAN socket in its
    SDP and sends its media there; then with it off (the default) the media of the next call
    hairpins through the router's public address. Other modes: the media must not cross the
    WAN, however it gets there."""
    env.registrar()
    env.start_capture()
    alg = env.mode == "sipalg"
    if alg:
        _policy(env, "local-media", True)
    p2 = env.phone("phone2", duration=45)
    C.registered(p2, "phone2")
    p1, audio = _lan_call(env, "phone1", p2, 1, "local-media on" if alg else env.mode)
    if not alg:
        return "media stayed on the LAN: " + audio
    to1 = C.media(p1, "out").get("to") or ""
    if not to1.startswith(A.PHONE_IP["phone2"] + ":"):
        raise Fail("local-media on: phone1 sent its media to %s, not to phone2's LAN socket"
                   % to1)
    ctr = _counters(env)
    if ctr["media_local"] < 2 or ctr["media_hairpin"]:
        raise Fail("local-media on: media_local %d (2 SDPs expected), media_hairpin %d" %
                   (ctr["media_local"], ctr["media_hairpin"]))
    _policy(env, "local-media", False)
    p3, audio_off = _lan_call(env, "phone3", p2, 2, "local-media off")
    to3 = C.media(p3, "out").get("to") or ""
    hairpinned = _counters(env)["media_hairpin"]
    if not to3.startswith(A.ROUTER_WAN_IP + ":") or not hairpinned:
        raise Fail("local-media off: phone3 sent its media to %s, media_hairpin %d (the "
                   "router's public address and hairpinning expected)" % (to3, hairpinned))
    return ("local-media on: phone1 -> phone2's LAN socket %s (%s); off: phone3 -> %s, "
            "hairpinned (%s)" % (to1, audio, to3, audio_off))


# The registrar stops answering (N16): its host drops what comes to its SIP port.
SILENT_REGISTRAR_NFT = """
table ip sae_silent {
    chain input {
        type filter hook input priority filter; policy accept;
        ip daddr %s udp dport 5060 drop
    }
}
""" % A.REGISTRAR_IP


def _failover(env):
    """The failover object of `sipalg status -j`."""
    return json.loads(env.topo.alg_status_json())["failover"]


def _wait_failover(env, what, ok, timeout=5):
    """Waits (bounded) until ok(status's failover object); Fail with the last one if not."""
    end = time.monotonic() + timeout
    while True:
        f = _failover(env)
        if ok(f):
            return f
        if time.monotonic() > end:
            raise Fail("sipalg status never showed %s: %s" % (what, json.dumps(f)))
        time.sleep(0.2)


@scenario("N16", "WAN down: signalling rerouted to a configured internal SIP server", 60)
def n16(env):
    """The WAN veth goes down. With the failover policy off (the default) a phone's REGISTER
    simply fails and the internal server sees nothing; switched on at runtime, phones register
    with the internal server through the addresses they always use and call each other; when
    the WAN is back, their next REGISTERs go to the outside registrar again. Then the registrar
    goes silent with the link up: after --failover-after the same redirect, until the registrar
    answers the daemon's probe."""
    registrar = env.registrar()
    lansrv = env.lan_server()
    env.topo.wan_link(False)
    p1 = env.phone("phone1", duration=6, wait_registered=3)
    p1.stop()
    if p1.registered or lansrv.requests("REGISTER"):
        raise Fail("WAN down, failover policy off: phone1 %s, the internal server saw %d "
                   "REGISTERs (nothing may be redirected)" % (
                       "registered" if p1.registered else "did not register",
                       len(lansrv.requests("REGISTER"))))
    if env.mode != "sipalg":
        raise Fail("WAN down: phone1's REGISTERs got no answer, the internal SIP server at "
                   "%s saw none" % A.LANSRV_IP)
    _wait_failover(env, "the WAN down, not redirecting (policy off)",
                   lambda f: f["wan"] == "down" and f["why"] == "link_down"
                   and not f["policy"] and not f["redirecting"])

    _policy(env, "failover", True)
    _wait_failover(env, "the redirect in force", lambda f: f["policy"] and f["redirecting"])
    p2 = env.phone("phone2", reregister_every=2, duration=50)
    C.registered(p2, "phone2 (WAN down, failover on)")
    if not lansrv.location("1002"):
        raise Fail("phone2 got a 200 but the internal server has no contact for 1002")
    p3 = env.phone("phone3", duration=10, call_to=aor("1002"), calls=1, call_s=3,
                   call_delay_s=0.5)
    C.registered(p3, "phone3 (WAN down, failover on)")
    time.sleep(5)
    C.call_answered(p3, "phone3 to phone2 through the internal server")
    audio = C.media_both_ways(p3, "out", "phone3", p2, "in", "phone2")
    redirected = _failover(env)["redirected_packets"]

    outside = len(registrar.requests("REGISTER"))
    env.topo.wan_link(True)
    _wait_failover(env, "the WAN up again, redirect removed",
                   lambda f: f["wan"] == "up" and not f["redirecting"])
    end = time.monotonic() + 8
    while len(registrar.requests("REGISTER")) <= outside:
        if time.monotonic() > end:
            raise Fail("WAN back up: no new REGISTER reached the outside registrar in 8 s")
        time.sleep(0.2)
    if not registrar.location("1002"):
        raise Fail("WAN back up: phone2's REGISTER reached the outside registrar, no contact "
                   "stored for 1002")

    # The link stays up, the registrar goes silent: after --failover-after the WAN counts as
    # down; the registrar's answer to the daemon's probe brings it back.
    env.topo.nft(A.NS_INET, SILENT_REGISTRAR_NFT)
    _wait_failover(env, "no answer from the registrar, redirecting",
                   lambda f: f["why"] == "no_answer" and f["peer"] == A.REGISTRAR_IP
                   and f["redirecting"], timeout=FAILOVER_AFTER_S + 8)
    inside = len(lansrv.requests("REGISTER"))
    end = time.monotonic() + 5
    while len(lansrv.requests("REGISTER")) <= inside:
        if time.monotonic() > end:
            raise Fail("registrar silent, redirect in force: phone2's REGISTERs did not reach "
                       "the internal server in 5 s")
        time.sleep(0.2)
    env.topo.run(A.NS_INET, ["nft", "delete", "table", "ip", "sae_silent"])
    _wait_failover(env, "the WAN up again once the registrar answers the probe",
                   lambda f: f["wan"] == "up" and not f["redirecting"], timeout=8)
    return ("WAN down: policy off redirected nothing; on: phone2 and phone3 registered with the "
            "internal server and called (%s; %d packets redirected); WAN up: REGISTERs reach "
            "the outside registrar again; registrar silent for %d s: redirected until it "
            "answered the probe" % (audio, redirected, FAILOVER_AFTER_S))


@scenario("N17", "IPv6: no NAT, but media pinholes through the stateful firewall", 60)
def n17(env):
    env.registrar()
    p1 = env.phone("phone1", ip=A.PHONE_IP6["phone1"], server=A.REGISTRAR_IP6,
                   media_args=["--recv-only"])
    C.registered(p1, "phone1 over IPv6")
    # phone1 only listens, so nothing it sends opens the firewall: the RTP can only
    # get in through a pinhole made from the SDP.
    call = env.remote_call("1001", server=A.REGISTRAR_IP6, ip=A.REMOTE_IP6, call_s=5)
    C.call_answered(call, "remote to 1001 over IPv6")
    got = C.media(p1, "in")
    sent = (C.media(call, "out") or {}).get("sent", 0)
    rx = (got or {}).get("received", 0)
    if sent == 0 or rx < C.MEDIA_MIN_RATIO * sent:
        raise Fail("RTP %d packets at phone1 of %d the remote sent over IPv6" % (rx, sent))
    return "RTP %d of %d packets reached the receive-only phone over IPv6" % (rx, sent)
