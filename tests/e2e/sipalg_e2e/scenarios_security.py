"""The security suite S1-S13 (attack classes of shared/research/security.md, table (a)).

Every scenario plays one attack on the sandbox and passes when the attack gains nothing:
no probe datagram or connection from the attacker reaches a LAN host (sec_env.Sec.gains)
and, in the sipalg modes, the router holds no pinhole open to any source after an answer
and no pinhole or binding for a host that did not send the SIP it came from
(sec_env.Sec.audit). The attacker always tries every address and port the messages it got
name, the public address's ports in question, and every port the router's ALG mapped
(sipalg's bindings and pinholes, the kernel helper's expectations).

A = phone1 (the sender, or the victim whose browser runs the attacker's page), B = phone2
(another LAN host), G = the registrar, X = the attacker / scanner (198.51.100.66). In the
`direct` control topology the LAN is routed and unfiltered, so an attacker that learns a
LAN address reaches it: those FAILs are the control's, not an ALG's.
"""

import os
import random
import struct
import time

from . import addresses as A
from . import capture
from . import checks as C
from .runner import Fail, scenario
from .sec_env import (A_HOST, A_IP, B_HOST, B_IP, PUB, SIPALG_MODES, X, Sec, events, invite,
                      named_endpoints, probe_summary, register, sdp, targets_from)
from .topo import PIN_ROOT

REG = A.REGISTRAR_IP


def _server_texts(path):
    return [ev.get("data", "") for ev in events(path)]


# --- S1, S2: slipstreaming over TCP -----------------------------------------------------------


def _slipstream(env, unaligned):
    sec = Sec(env)
    sec.listen(A_HOST, tcp=[3306], udp=[3306])
    srv = sec.tcp_server(X + ":5060", mss=536, answer="http")
    sip = register("samy", X, "%s:3306" % A_IP, "%s:3306" % A_IP, "slip-%d@%s" % (
        random.randrange(10 ** 6), A_IP), transport="TCP")
    sip_file = sec._path("register.txt")
    with open(sip_file, "w") as f:
        f.write(sip)
    args = ["browser", "--server", X + ":5060", "--sip-file", sip_file, "--align", "3"]
    b = sec.run(A_HOST, args + (["--unaligned"] if unaligned else []), "browser")
    if not unaligned and not b["sip_starts_segment"]:
        raise Fail("harness: the REGISTER did not start a segment (MSS %d, segments %s)" % (
            b["mss"], b["segment_sizes"]))
    time.sleep(0.5)
    got = _server_texts(srv)
    res = sec.probe(targets_from(got, ("tcp", "udp"), extra_ports=(3306,), sec=sec))
    where = "mid-segment after a CRLF" if unaligned else "at the start of segment %d" % (
        b["sip_offset"] // b["mss"] + 1)
    reply = b["reply"].split("\r\n", 1)[0] or "no HTTP reply"
    return sec, b["local"], "REGISTER %s (MSS %d, %d segments), browser got '%s'; %s" % (
        where, b["mss"], b["segments"], reply, probe_summary(res))


@scenario("S1", "slipstreaming: a browser's HTTP POST to WAN TCP 5060 whose body puts a "
          "REGISTER (Contact: A:3306;transport=TCP) at a segment boundary opens nothing", 60)
def s1(env):
    sec, browser, info = _slipstream(env, unaligned=False)
    return sec.verdict({browser}, info)


@scenario("S2", "an embedded start line is never scanned for: the POST with the REGISTER "
          "mid-segment, and a UDP datagram 'JUNK\\r\\nREGISTER ...', open nothing", 60)
def s2(env):
    sec, browser, info = _slipstream(env, unaligned=True)
    srv = sec.sip_server(X + ":5060")
    junk = "JUNK\r\n" + register("junk", X, "%s:3306" % A_IP, "%s:5060" % A_IP,
                                 "junk-%d@%s" % (random.randrange(10 ** 6), A_IP))
    sec.listen(A_HOST, udp=[5060], send=[(5060, (X, 5060), junk)], label="phone1 (junk sender)")
    time.sleep(1.0)
    got = _server_texts(srv)
    if not any("JUNK" in t for t in got):
        raise Fail("harness: the junk datagram never reached the attacker")
    res = sec.probe(targets_from(got, ("udp", "tcp"), extra_ports=(3306, 5060), sec=sec))
    return sec.verdict({browser, "%s:5060" % A_IP}, info + "; UDP junk: " + probe_summary(res))


# --- S3: a framing error in a SIP TCP stream, then a REGISTER ---------------------------------


FRAMING_ERRORS = (("non-numeric Content-Length", "Content-Length: 12abc\r\n"),
                  ("no Content-Length", ""),
                  ("Content-Length past the stream", "Content-Length: 99999\r\n"))


@scenario("S3", "a SIP TCP stream with a framing error (bad, absent, oversized Content-Length) "
          "and a valid REGISTER after it: the REGISTER is never acted on", 60)
def s3(env):
    sec = Sec(env)
    sec.listen(A_HOST, tcp=[3306], udp=[3306])
    srv = sec.tcp_server(X + ":5060", answer="sip")
    outcomes = []
    for n, (what, clen) in enumerate(FRAMING_ERRORS):
        via = "%s:5060" % A_IP  # A's SIP port; only the REGISTER names 3306
        options = ("OPTIONS sip:%s SIP/2.0\r\nVia: SIP/2.0/TCP %s;branch=z9hG4bK-o%d\r\n"
                   "Max-Forwards: 70\r\nFrom: <sip:s3@%s>;tag=o%d\r\nTo: <sip:%s>\r\n"
                   "Call-ID: s3-opt-%d@%s\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n") % (
            X, via, n, X, n, X, n, A_IP)
        body = "hello " * 8
        broken = ("MESSAGE sip:s3@%s SIP/2.0\r\nVia: SIP/2.0/TCP %s;branch=z9hG4bK-m%d\r\n"
                  "Max-Forwards: 70\r\nFrom: <sip:s3@%s>;tag=m%d\r\nTo: <sip:s3@%s>\r\n"
                  "Call-ID: s3-msg-%d@%s\r\nCSeq: 2 MESSAGE\r\nContent-Type: text/plain\r\n"
                  "%s\r\n%s") % (X, via, n, X, n, X, n, A_IP, clen, body)
        reg = register("s3-%d" % n, X, "%s:3306" % A_IP, "%s:3306" % A_IP,
                       "s3-reg-%d@%s" % (n, A_IP), cseq=3, transport="TCP")
        r = sec.run(A_HOST, ["tcp-send", "--to", X + ":5060", "--chunks",
                             sec._json("chunks-%d" % n, [options, broken, reg])],
                    "tcp-send-%d" % n)
        outcomes.append("%s: %s" % (what, "answered" if "SIP/2.0 200" in r["reply"]
                                    else "no answer" if not r["error"] else r["error"]))
    time.sleep(0.5)
    got = _server_texts(srv)
    if not any(ev.get("ev") == "accept" for ev in events(srv)):
        raise Fail("harness: no stream reached the attacker's server")
    regs = sum(t.count("REGISTER sip:") for t in got)
    outcomes.append("%d REGISTER(s) reached X" % regs)
    res = sec.probe(targets_from(got, ("tcp",), extra_ports=(3306,), sec=sec))
    extra = []
    if env.mode in SIPALG_MODES:
        for b in sec.sipalg_json("bindings")["bindings"]:
            if b["private"].endswith(":3306"):
                extra.append("binding %s -> %s from the REGISTER after the framing error" % (
                    b["public"], b["private"]))
    return sec.verdict({A_IP}, "; ".join(outcomes) + "; " + probe_summary(res), extra=extra)


# --- S4: third-party registration -------------------------------------------------------------


THIRD_PARTY = (("B", B_IP), ("router LAN", A.LAN_GW), ("router WAN", PUB),
               ("loopback", "127.0.0.1"), ("0.0.0.0", "0.0.0.0"),
               ("broadcast", "255.255.255.255"), ("LAN broadcast", "192.168.10.255"),
               ("multicast", "224.0.0.1"))


@scenario("S4", "REGISTERs from A whose Contact names B, the router, loopback, 0.0.0.0, "
          "broadcast or multicast: no binding, and nothing the registrar sends reaches them", 60)
def s4(env):
    reg = env.registrar()
    sec = Sec(env)
    sec.listen(B_HOST, udp=[5060], label="B", any_event=True)
    sec.listen("router", udp=["%s:5060" % A.LAN_GW, "127.0.0.1:5060"], label="router",
               any_event=True)
    before = sec.counters().get("reg_not_sender", 0)
    # Each variant from its own socket of A (5060, 5062, ...): a binding names its variant.
    send, port_of = [], {}
    for n, (what, ip) in enumerate(THIRD_PARTY):
        port_of[5060 + 2 * n] = what
        send.append((5060 + 2 * n, (REG, 5060), register(
            "s4u%d" % n, REG, "%s:5060" % ip, "%s:%d" % (A_IP, 5060 + 2 * n),
            "s4-%d-%d@%s" % (n, random.randrange(10 ** 6), A_IP), expires="120"), 0.1))
    sec.listen(A_HOST, udp=sorted(port_of), send=send, label="A", victim=False)
    time.sleep(1.5)
    stored = {what: (reg.location("s4u%d" % n) or ["none"])[0]
              for n, (what, _) in enumerate(THIRD_PARTY)}
    # The registrar relays to what it stored; it (an admitted source) also tries the ports.
    opts = [((REG, 5060), ("OPTIONS sip:s4u%d@%s SIP/2.0\r\nVia: SIP/2.0/UDP %s:5066;"
                           "branch=z9hG4bK-s4o%d\r\nMax-Forwards: 70\r\nFrom: <sip:2001@%s>;"
                           "tag=s4o%d\r\nTo: <sip:s4u%d@%s>\r\nCall-ID: s4-opt-%d@sec\r\n"
                           "CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n") % (
        n, REG, A.REMOTE_IP, n, REG, n, n, REG, n)) for n in range(len(THIRD_PARTY))]
    sec.send_udp("inet", "%s:5066" % A.REMOTE_IP, opts, seconds=2.0)
    res = sec.probe(targets_from(list(stored.values()), ("udp",), extra_ports=(5060,), sec=sec),
                    src=REG)
    extra = []
    if env.mode in SIPALG_MODES:
        for b in sec.sipalg_json("bindings")["bindings"]:
            port = int(b["private"].rsplit(":", 1)[1])
            extra.append("%s binding %s -> %s made by the REGISTER naming %s" % (
                "REGISTER" if b.get("registered") else "a", b["public"], b["private"],
                port_of.get(port, "?")))
    counted = sec.counters().get("reg_not_sender", 0) - before
    info = "stored %s; %s%s" % (", ".join("%s=%s" % kv for kv in stored.items()),
                                probe_summary(res),
                                "; reg_not_sender +%d of %d" % (counted, len(THIRD_PARTY))
                                if env.mode in SIPALG_MODES else "")
    return sec.verdict({A_IP}, info, extra=extra)


# --- S5: SDP naming another host or a privileged port -----------------------------------------


@scenario("S5", "INVITEs from A whose SDP names B, A's port 22 or the router: no pinhole "
          "towards them; the answering attacker reaches nothing", 60)
def s5(env):
    sec = Sec(env)
    srv = sec.sip_server(X + ":5060", {"INVITE": "200-sdp"}, media_port=42000)
    sec.listen(B_HOST, udp=[3306, 22], label="B", any_event=True)
    sec.listen("router", udp=["%s:3306" % A.LAN_GW], label="router", any_event=True)
    offers = (("B:3306", sdp(B_IP, 3306, A_IP)), ("A:22", sdp(A_IP, 22)),
              ("router:3306", sdp(A.LAN_GW, 3306, A_IP)))
    send = [(5060, (X, 5060), invite("x", "%s:5060" % X, "%s:5060" % A_IP,
                                     "s5-%d-%d@%s" % (n, random.randrange(10 ** 6), A_IP),
                                     body), 0.2) for n, (_, body) in enumerate(offers)]
    sec.listen(A_HOST, udp=[5060, 22, 3306], send=send, label="A")
    time.sleep(1.5)
    got = _server_texts(srv)
    arrived = sum(1 for t in got if t.startswith("INVITE"))
    # From its own negotiated media address: what a pinhole scoped to the answer admits.
    rtp = "\x80\x00\x00\x01\x00\x00\x00\x01\x00\x00\x00\x07"
    res = sec.probe(targets_from(got, ("udp",), extra_ports=(3306, 22), sec=sec, payload=rtp,
                                 sport=42000))
    return sec.verdict({A_IP}, "offers %s, %d of %d reached X; %s" % (
        ", ".join(o for o, _ in offers), arrived, len(offers), probe_summary(res)))


# --- S6: media from a source the answer did not name ------------------------------------------


@scenario("S6", "during a call, RTP to the phone's media port from X and from the remote's "
          "other port never reaches the phone", 60)
def s6(env):
    env.registrar()
    sec = Sec(env)
    remote = env.remote()
    C.registered(remote, "remote")
    p1 = env.phone(A_HOST, call_to="sip:%s@%s" % (A.REMOTE_USER, REG), calls=1, call_s=8,
                   call_delay_s=0.5)
    C.registered(p1, "phone1")
    remote.wait_received("INVITE", 1, timeout=5)
    time.sleep(2.5)
    offer = [m.body for m in remote.received("INVITE")]
    if not offer:
        raise Fail("harness: phone1's INVITE never reached the remote")
    rtp = "\x80\x00\x00\x02\x00\x00\x00\x02\x00\x00\x00\x09"
    targets = targets_from(offer, ("udp",), sec=sec, payload=rtp)
    eps = named_endpoints(offer)
    targets += [("udp", PUB, port, rtp) for _, port in eps]  # port-preserving NAT
    res_x = sec.probe(targets)
    res_r = sec.probe([t[:4] + (40002,) for t in targets], src=A.REMOTE_IP)
    state, summary = sec.audit({A_IP}, answered=True)  # while the call is up
    scopes = []
    if env.mode in SIPALG_MODES:
        scopes = ["%s from %s:%s" % (p["public"], p["remote"], p["remote_port"] or "any")
                  for p in sec.sipalg_json("pinholes")["pinholes"]]
    p1.wait(timeout=20)
    mine = C.media(p1, "out", timeout=10) or {}
    srcs = mine.get("sources", [])
    bad = [s for s in srcs if s.startswith(X + ":") or s == "%s:40002" % A.REMOTE_IP]
    problems = state
    if bad:
        problems.append("RTP reached phone1 from %s" % ", ".join(bad))
    info = "phone1 received RTP from %s; X: %s; remote's other port: %s%s" % (
        ", ".join(srcs) or "nobody", probe_summary(res_x), probe_summary(res_r),
        "; pinholes " + ", ".join(scopes) if scopes else "")
    if problems:
        raise Fail("; ".join(problems) + " [%s]" % info)
    return "nothing from an unnegotiated source reached phone1%s; %s" % (
        " (state during the call: %s)" % summary if summary else "", info)


# --- S7: a scanner's INVITE to a registered phone ---------------------------------------------


@scenario("S7", "after REGISTER + 2xx via the registrar, an INVITE (User-Agent: friendly-scanner) "
          "from a scanner to the phone's binding never rings the phone", 60)
def s7(env):
    reg = env.registrar()
    sec = Sec(env)
    p1 = env.phone(A_HOST, duration=30)
    C.registered(p1, "phone1")
    stored = reg.location(A.PHONE_USER[A_HOST])
    if not stored:
        raise Fail("harness: the registrar holds no contact for phone1")
    eps = named_endpoints(stored) | {(PUB, 5060)} | {(PUB, p) for p in sec.mapped_ports()}
    plan = []
    for n, (ip, port) in enumerate(sorted(eps)):
        target = "%s:%d" % (ip, port)
        for method in ("OPTIONS", "INVITE"):
            body = sdp(X, 42000) if method == "INVITE" else ""
            msg = invite(A.PHONE_USER[A_HOST], target, "%s:5060" % X,
                         "scan-%s-%d@%s" % (method, n, X), body, frm="100",
                         ua="friendly-scanner")
            plan.append(((ip, port), msg.replace("INVITE", method, 1).replace(
                "1 INVITE", "1 " + method)))
    sec.send_udp("inet", X + ":5060", plan, seconds=2.0)
    rang = [m.method for m in p1.received() if m.method in ("INVITE", "OPTIONS")]
    # Control: the registrar's own request still reaches the phone.
    opt = env.tk.send_options(A.NS_INET, A.REMOTE_IP, A.REMOTE_USER, REG,
                              "sip:%s@%s" % (A.PHONE_USER[A_HOST], REG), env.workdir, timeout=6)
    ctrl = "reached phone1" if opt.ok else "did not reach phone1"
    extra = ["the scanner's %s reached phone1 (%s)" % (", ".join(rang), stored[0])] if rang else []
    return sec.verdict({A_IP}, "scanned %s; control OPTIONS via the registrar %s" % (
        ", ".join("%s:%d" % e for e in sorted(eps)), ctrl), extra=extra)


# --- S8: registrations that never became valid ------------------------------------------------

S8_CASES = (("unanswered", A_HOST, 5060, "none"), ("403", B_HOST, 5060, "403"),
            ("spoofed 2xx from X", "phone3", 5060, "none"), ("2xx wrong CSeq", "lansrv", 5060,
                                                              "200-cseq"),
            ("2xx wrong Call-ID", A_HOST, 5070, "200-callid"))
S8_CONTROL = ("control: matching 2xx", B_HOST, 5070, "200")


def _lan_ip(host):
    return A.LANSRV_IP if host == "lansrv" else A.PHONE_IP[host]


@scenario("S8", "REGISTER unanswered, 403, spoofed 2xx from X, 2xx with wrong CSeq or Call-ID: "
          "an INVITE from the registrar afterwards never reaches the phone", 60)
def s8(env):
    sec = Sec(env)
    cases = S8_CASES + (S8_CONTROL,)
    policy = {"REGISTER:s8u%d" % n: c[3] for n, c in enumerate(cases)}
    g = sec.sip_server(REG + ":5060", policy)
    logs = {}
    by_host = {}
    for n, (what, host, port, _) in enumerate(cases):
        ip = _lan_ip(host)
        by_host.setdefault(host, []).append((n, port, register(
            "s8u%d" % n, REG, "%s:%d" % (ip, port), "%s:%d" % (ip, port),
            "s8-%d-%d@%s" % (n, random.randrange(10 ** 6), ip), expires="120")))
    for host, items in by_host.items():
        logs[host] = sec.listen(host, udp=sorted({p for _, p, _ in items}),
                                send=[(p, (REG, 5060), t) for _, p, t in items], victim=False)
    time.sleep(1.2)
    reqs = {ev["user"]: ev for ev in events(g) if ev.get("ev") == "request"}
    missing = [cases[n][0] for n in range(len(cases)) if "s8u%d" % n not in reqs]
    if missing:
        raise Fail("harness: the registrar never got the REGISTER of %s" % ", ".join(missing))
    spoof = reqs["s8u2"]
    h = spoof["headers"]
    ok = ("SIP/2.0 200 OK\r\n" + "".join("Via: %s\r\n" % v for v in h.get("via", [])) +
          "From: %s\r\nTo: %s;tag=spoof\r\nCall-ID: %s\r\nCSeq: %s\r\nContact: %s;expires=120\r\n"
          "Expires: 120\r\nContent-Length: 0\r\n\r\n") % (
        h["from"][0], h["to"][0], spoof["call_id"], spoof["cseq"], h["contact"][0])
    peer = spoof["peer"].rsplit(":", 1)
    sec.send_udp("inet", X + ":5060", [((peer[0], int(peer[1])), ok)], seconds=0.8)
    # From another port of G: only state the ALG made for the REGISTER may let it in, not the
    # REGISTER's own conntrack entry (a plain NAT's reply path for G:5060).
    plan = []
    for n, (what, host, port, _) in enumerate(cases):
        r = reqs["s8u%d" % n]
        dests = named_endpoints(r["contact"]) | {tuple([r["peer"].rsplit(":", 1)[0],
                                                        int(r["peer"].rsplit(":", 1)[1])])}
        for ip, dport in sorted(dests):
            plan.append(((ip, dport), invite("s8u%d" % n, "%s:%d" % (ip, dport), "%s:5070" % REG,
                                             "s8-inv-%d-%s-%d@%s" % (n, ip, dport, REG),
                                             sdp(REG, 42000), frm="2001")))
    sec.send_udp("inet", REG + ":5070", plan, seconds=1.5)
    reached, ctrl = [], "did not reach it"
    for n, (what, host, port, _) in enumerate(cases):
        got = [ev for ev in events(logs[host]) if ev["ev"] == "datagram" and
               ev["local"].endswith(":%d" % port) and ev["data"].startswith("INVITE ")]
        if cases[n] is S8_CONTROL:
            ctrl = "reached it" if got else ctrl
        elif got:
            reached.append("%s (%s:%d, from %s)" % (what, host, port, got[0]["peer"]))
    senders = {_lan_ip(c[1]) for c in cases}
    extra = ["the registrar's INVITE reached the phone after: " + ", ".join(reached)] if \
        reached else []
    return sec.verdict(senders, "%d cases; control (matching 2xx): G's INVITE %s" % (
        len(S8_CASES), ctrl), extra=extra)


# --- S9: de-registration of someone else ------------------------------------------------------


def _reaches_b(env, p2, before):
    env.tk.send_options(A.NS_INET, A.REMOTE_IP, A.REMOTE_USER, REG,
                        "sip:%s@%s" % (A.PHONE_USER[B_HOST], REG), env.workdir, timeout=6)
    return len(p2.wait_received("OPTIONS", before + 1, timeout=2)) > before


@scenario("S9", "Expires: 0 / ;expires=0 REGISTERs from A naming B's contact leave B's binding "
          "and reachability as they were", 60)
def s9(env):
    reg = env.registrar()
    sec = Sec(env)
    p2 = env.phone(B_HOST, duration=40)
    C.registered(p2, "phone2")
    sent = p2.sent("REGISTER")
    contact = sent[0].header("Contact").strip("<>").split(">")[0] if sent else None
    if not contact:
        raise Fail("harness: phone2's REGISTER not logged")
    b_bind = None
    if env.mode in SIPALG_MODES:
        b_bind = [b for b in sec.sipalg_json("bindings")["bindings"]
                  if b["private"].startswith(B_IP + ":")]
    stored_before = reg.location(A.PHONE_USER[B_HOST])
    reached_before = _reaches_b(env, p2, 0)
    hostport = contact.split("@", 1)[1].split(";", 1)[0]
    user = A.PHONE_USER[B_HOST]
    unreg = [register(user, REG, hostport, "%s:5060" % A_IP, "s9-a-%d@%s" % (
        random.randrange(10 ** 6), A_IP), expires="0"),
        register(user, REG, hostport, "%s:5060" % A_IP, "s9-b-%d@%s" % (
            random.randrange(10 ** 6), A_IP), expires=None, contact_params=";expires=0")]
    unreg = [t.replace("Contact: <sip:%s@%s>" % (user, hostport), "Contact: <%s>" % contact)
             for t in unreg]
    sec.listen(A_HOST, udp=[5060], send=[(5060, (REG, 5060), t, 0.2) for t in unreg],
               victim=False)
    time.sleep(1.5)
    stored_after = reg.location(A.PHONE_USER[B_HOST])
    n_before = len(p2.received("OPTIONS"))
    reached_after = _reaches_b(env, p2, n_before)
    extra = []
    if reached_before and not reached_after:
        extra.append("B reachable before A's de-REGISTERs, not after (registrar holds %s)" %
                     (stored_after or "nothing"))
    if b_bind is not None:
        now = [b for b in sec.sipalg_json("bindings")["bindings"]
               if b["private"].startswith(B_IP + ":")]
        if b_bind and (not now or now[0]["public"] != b_bind[0]["public"]):
            extra.append("B's binding %s became %s" % (b_bind[0]["public"],
                                                        now[0]["public"] if now else "nothing"))
    info = "B's contact %s; stored before %s, after %s; B reached by OPTIONS before: %s, " \
           "after: %s" % (contact, stored_before or "nothing", stored_after or "nothing",
                          "yes" if reached_before else "no", "yes" if reached_after else "no")
    if not reached_before:
        info += " (B was not reachable to begin with: nothing for the attack to take)"
    return sec.verdict({A_IP, B_IP}, info, extra=extra)


# --- S10: STUN/TURN-stuffed UDP, fake SIP in a later fragment ---------------------------------


def _stun(msg_type, attrs):
    body = b""
    for t, v in attrs:
        body += struct.pack("!HH", t, len(v)) + v + b"\0" * (-len(v) % 4)
    return struct.pack("!HHI", msg_type, len(body), 0x2112A442) + os.urandom(12) + body


@scenario("S10", "a TURN Allocate to WAN 5060 whose USERNAME puts a fake UDP header + REGISTER "
          "at the start of the second IP fragment, and SIP after a STUN header, open nothing", 60)
def s10(env):
    sec = Sec(env)
    srv = sec.sip_server(X + ":5060")
    mtu = int(env.topo.run(A.ns_phone(A_HOST), ["cat", "/sys/class/net/eth0/mtu"]).stdout)
    frag2_at = (mtu - 20) // 8 * 8 - 8  # UDP payload offset where fragment 2 begins
    sip = register("turn", X, "%s:3306" % A_IP, "%s:5060" % A_IP,
                   "turn-%d@%s" % (random.randrange(10 ** 6), A_IP)).encode()
    fake_udp = struct.pack("!HHHH", 5060, 5060, 8 + len(sip), 0) + sip
    # STUN header 20 + attribute header 4: the USERNAME value starts at 24.
    username = b"a" * (frag2_at - 24) + fake_udp
    big = _stun(0x0003, [(0x0006, username)])
    small = _stun(0x0001, [(0x8022, b"\r\n" + sip)])
    sport = 40123
    sec.listen(A_HOST, udp=[sport, 3306, 5060], tcp=[3306],
               send=[(sport, (X, 5060), big, 0.1), (sport, (X, 5060), small, 0.2)])
    time.sleep(1.2)
    sizes = [ev.get("size", len(ev.get("data", ""))) for ev in events(srv)]
    got = [ev.get("data", "") for ev in events(srv)]
    if not sizes:
        raise Fail("harness: no STUN datagram reached the attacker")
    res = sec.probe(targets_from(got + [sip.decode()], ("udp", "tcp"),
                                 extra_ports=(3306, 5060), sec=sec))
    return sec.verdict({"%s:%d" % (A_IP, sport)},
                       "fragment 2 at UDP offset %d (MTU %d), %d datagram(s) at X; %s" % (
                           frag2_at, mtu, len(sizes), probe_summary(res)))


# --- S11: H.323 -------------------------------------------------------------------------------


def _q931_facility(ip, port):
    """TPKT + Q.931 Facility whose H.225 Facility-UUIE carries alternativeAddress ip:port
    (an approximate PER encoding: the bytes of the address and port are where a decoder
    looks; no H.323 decoder runs in any mode of this sandbox)."""
    addr = bytes(int(x) for x in ip.split(".")) + struct.pack("!H", port)
    h225 = (b"\x05"  # user-user protocol discriminator: X.208/X.209 coded
            b"\x25\x80\x06\x00\x08\x91\x4a\x00\x04"  # h323-uu-pdu, protocolIdentifier
            b"\x01\x40" + addr +                       # alternativeAddress: ipAddress
            b"\x00\x11\x00" + os.urandom(16))          # conferenceID
    q931 = (b"\x08\x02\x12\x34\x62"  # protocol discriminator, call ref, Facility
            b"\x1c\x03\x91\xa1\x00"  # Facility IE
            b"\x7e" + struct.pack("!H", len(h225)) + h225)
    return struct.pack("!BBH", 3, 0, 4 + len(q931)) + q931


@scenario("S11", "H.323: a Q.931 Facility on TCP 1720 (and RAS on UDP 1719) whose alternative "
          "address names B opens nothing", 60)
def s11(env):
    sec = Sec(env)
    sec.listen(B_HOST, tcp=[1720, 3306], udp=[1719], label="B", any_event=True)
    sec.listen(A_HOST, tcp=[1720], udp=[1719], label="A")
    srv = sec.tcp_server(X + ":1720", answer="sip")
    chunks = [_q931_facility(B_IP, 1720).decode("latin-1"),
              _q931_facility(B_IP, 3306).decode("latin-1")]
    r = sec.run(A_HOST, ["tcp-send", "--to", X + ":1720", "--chunks",
                         sec._json("h323", chunks)], "tcp-send")
    ras = b"\x24\x00" + bytes(int(x) for x in B_IP.split(".")) + struct.pack("!H", 1720)
    sec.listen(A_HOST, udp=[41719], send=[(41719, (X, 1719), ras)], victim=False)
    time.sleep(0.8)
    if not any(ev.get("ev") == "closed" and ev.get("total", 0) > 0 for ev in events(srv)):
        raise Fail("harness: the Facility never reached the attacker (%s)" % (r["error"] or
                                                                           "no data"))
    targets = [("tcp", B_IP, 1720), ("tcp", B_IP, 3306), ("udp", B_IP, 1719)]
    targets += targets_from([], ("tcp",), extra_ports=(1720, 3306), sec=sec)
    targets += [("udp", PUB, 1719)]
    res = sec.probe(targets)
    return sec.verdict(set(), "Facility naming %s:1720 and :3306, RAS naming %s:1720; %s" % (
        B_IP, B_IP, probe_summary(res)))


# --- S12: SIP where the ALG does not look -----------------------------------------------------


@scenario("S12", "SIP on an unconfigured port (UDP 5070), SIP on an unsolicited WAN flow, "
          "single UDP packets to arbitrary public ports: no state, nothing reaches the LAN", 60)
def s12(env):
    sec = Sec(env)
    srv = sec.sip_server(X + ":5070")
    reg = register("s12", X, "%s:5070" % A_IP, "%s:5070" % A_IP,
                   "s12-%d@%s" % (random.randrange(10 ** 6), A_IP), expires="120")
    sec.listen(A_HOST, udp=[5070, 3306, 5060, 40000], tcp=[3306],
               send=[(5070, (X, 5070), reg)])
    time.sleep(1.0)
    got = _server_texts(srv)
    if not any(t.startswith("REGISTER") for t in got):
        raise Fail("harness: the REGISTER on 5070 never reached the attacker")
    # Unsolicited from the WAN: a REGISTER and an INVITE naming A, then junk to random ports.
    plan = [((PUB, 5060), register("s12w", PUB, "%s:3306" % A_IP, "%s:5060" % X,
                                   "s12w-%d@%s" % (random.randrange(10 ** 6), X))),
            ((PUB, 5060), invite("s12", "%s:5060" % PUB, "%s:5060" % X, "s12i@%s" % X,
                                 sdp(A_IP, 3306)))]
    rnd = random.Random(12)
    for port in [40000, 5070, 3306] + [rnd.randrange(1024, 65535) for _ in range(5)]:
        plan.append(((PUB, port), "INVITE sip:%s@%s:%d SIP/2.0\r\n\r\n" % (A_IP, PUB, port)))
    sec.send_udp("inet", X + ":5060", plan, seconds=1.0)
    res = sec.probe(targets_from(got, ("udp", "tcp"), extra_ports=(5070, 3306, 5060, 40000),
                                 sec=sec))
    # No sender at all: the ALG must not act on SIP to an unconfigured port, nor on SIP the
    # WAN started, so any binding or pinhole here fails.
    return sec.verdict(set(), "REGISTER on 5070 answered by X; %d unsolicited datagrams; %s" % (
        len(plan), probe_summary(res)))


# --- S13: public port exhaustion --------------------------------------------------------------


S13_RANGE = (20000, 20003)
S13_SOCKETS = [(h, p) for h in ("phone1", "phone2", "phone3", "lansrv") for p in (5060, 5062,
                                                                               5064)]


def _reload_tiny_range(topo):
    """sipalg loaded again with a public port range of 4 ports (the harness loads with the
    defaults; the router here is the scenario's own)."""
    topo.stop_daemon()
    topo.sipalg("unload", "--wan", A.WAN_IF, "--pin-root", PIN_ROOT)
    topo.sipalg("load", "--wan", A.WAN_IF, "--pin-root", PIN_ROOT, "--port-range",
                "%d-%d" % S13_RANGE)
    topo.start_daemon()
    if topo.mode == "sipalg":
        topo.set_alg(True)


@scenario("S13", "port exhaustion: 12 phone sockets and 4 offers against a 4-port range "
          "(sipalg modes): bounded, never port 0 or below 1024, refusals counted", 60)
def s13(env):
    if env.mode in SIPALG_MODES:
        _reload_tiny_range(env.topo)
    sec = Sec(env)
    env.start_capture()
    g = sec.sip_server(REG + ":5060")
    sec.sip_server(X + ":5060", {"INVITE": "200-sdp"})
    by_host = {}
    for host, port in S13_SOCKETS:
        ip = _lan_ip(host)
        by_host.setdefault(host, []).append((port, register(
            "s13-%s-%d" % (host, port), REG, "%s:%d" % (ip, port), "%s:%d" % (ip, port),
            "s13-%s-%d-%d@%s" % (host, port, random.randrange(10 ** 6), ip), expires="120")))
    offers = [(5060, (X, 5060), invite("x", "%s:5060" % X, "%s:5060" % A_IP,
                                       "s13-inv-%d@%s" % (n, A_IP), sdp(A_IP, 41000 + 2 * n)),
               0.1) for n in range(4)]
    for host, items in by_host.items():
        send = [(p, (REG, 5060), t, 0.02) for p, t in items]
        if host == A_HOST:
            send += offers
        sec.listen(host, udp=[p for p, _ in items], send=send, victim=False)
    time.sleep(2.0)
    problems = []
    n_reg = len([ev for ev in events(g) if ev.get("ev") == "request"])
    ports = []
    if env.mode in SIPALG_MODES:
        for kind in ("bindings", "pinholes"):
            for e in sec.sipalg_json(kind)[kind]:
                ports.append(int(e["public_port"]))
                if not S13_RANGE[0] <= int(e["public_port"]) <= S13_RANGE[1]:
                    problems.append("%s %s outside the range %d-%d" % (
                        kind[:-1], e["public"], S13_RANGE[0], S13_RANGE[1]))
        if len(ports) > S13_RANGE[1] - S13_RANGE[0] + 1:
            problems.append("%d public ports held from a range of %d" % (
                len(ports), S13_RANGE[1] - S13_RANGE[0] + 1))
        cnt = sec.counters()
        refused = cnt.get("bind_no_port", 0) + cnt.get("pin_no_port", 0)
        if env.mode == "sipalg" and refused == 0:
            problems.append("%d sockets + 4 offers against %d ports, yet no refusal counted "
                            "(bind_no_port, pin_no_port)" % (len(S13_SOCKETS),
                                                              len(set(ports))))
    time.sleep(0.3)
    bad = []
    for d in capture.datagrams(env._pcap):
        if d.src != PUB or d.proto != "udp":
            continue
        if d.sport == 0 or d.sport < 1024:
            bad.append("UDP from %s:%d" % (d.src, d.sport))
        if capture.is_sip(d.payload):
            for ip, port in named_endpoints([d.payload.decode("latin-1")]):
                if ip == PUB and (port == 0 or port < 1024):
                    bad.append("'%s' names %s:%d" % (d.first_line(), ip, port))
    if bad:
        problems.append("public port 0 or below 1024 on the WAN: " +
                        ", ".join(sorted(set(bad))[:4]))
    info = "%d REGISTERs reached the registrar; public ports held %s" % (
        n_reg, sorted(set(ports)) if env.mode in SIPALG_MODES else "(no ALG state)")
    if env.mode in SIPALG_MODES:
        info += "; bind_no_port %d, pin_no_port %d" % (cnt.get("bind_no_port", 0),
                                                         cnt.get("pin_no_port", 0))
    if problems:
        raise Fail("; ".join(problems) + " [%s]" % info)
    return info
