"""What the security scenarios share: the attacker host, victim listeners, probes, and the
audit of the router's state after each attack.

The attacker (and scanner) X is one more address on the Internet namespace; victims are
the phones' namespaces running sec_tool.py listeners. An attack "gains" something when a
probe datagram (marked PROBE-n) or a TCP connection from outside the LAN reaches a victim
listener, or, in the sipalg modes, when the router holds state for a host that did not
send the SIP it came from (audit()).
"""

import json
import os
import re
import sys
import time

from . import addresses as A
from .runner import Fail
from .topo import PIN_ROOT

HERE = os.path.dirname(os.path.abspath(__file__))
TOOL = os.path.join(HERE, "sec_tool.py")

X = "198.51.100.66"  # the attacker's server, the scanner
A_HOST, B_HOST = "phone1", "phone2"
A_IP, B_IP = A.PHONE_IP[A_HOST], A.PHONE_IP[B_HOST]
PUB = A.ROUTER_WAN_IP
LAN_NET = "192.168."
SIPALG_MODES = ("sipalg", "sipalg-off")


def ns_of(host):
    if host in A.PHONES:
        return A.ns_phone(host)
    return {"lansrv": A.NS_LANSRV, "inet": A.NS_INET, "router": A.NS_ROUTER}[host]


def register(user, domain, contact, via, call_id, cseq=1, expires="3600", transport="UDP",
             contact_params="", ua="sec-suite"):
    """A REGISTER as text. contact/via: host:port."""
    exp_hdr = "Expires: %s\r\n" % expires if expires is not None else ""
    return ("REGISTER sip:%s SIP/2.0\r\n"
            "Via: SIP/2.0/%s %s;branch=z9hG4bK-%s-%d;rport\r\n"
            "Max-Forwards: 70\r\n"
            "From: <sip:%s@%s>;tag=sec%d\r\n"
            "To: <sip:%s@%s>\r\n"
            "Call-ID: %s\r\n"
            "CSeq: %d REGISTER\r\n"
            "Contact: <sip:%s@%s%s>%s\r\n"
            "%sUser-Agent: %s\r\n"
            "Content-Length: 0\r\n\r\n") % (
        domain, transport, via, re.sub(r"\W", "", call_id)[:16], cseq, user, domain,
        cseq, user, domain, call_id, cseq, user, contact,
        ";transport=%s" % transport if transport != "UDP" else "", contact_params, exp_hdr, ua)


def invite(user, target, via, call_id, sdp, frm="sec", ua="sec-suite"):
    """An INVITE to target (host:port) as text; sdp: the body or ''."""
    return ("INVITE sip:%s@%s SIP/2.0\r\n"
            "Via: SIP/2.0/UDP %s;branch=z9hG4bK-%s;rport\r\n"
            "Max-Forwards: 70\r\n"
            "From: <sip:%s@%s>;tag=inv%d\r\n"
            "To: <sip:%s@%s>\r\n"
            "Call-ID: %s\r\n"
            "CSeq: 1 INVITE\r\n"
            "Contact: <sip:%s@%s>\r\n"
            "User-Agent: %s\r\n"
            "%s"
            "Content-Length: %d\r\n\r\n%s") % (
        user, target, via, re.sub(r"\W", "", call_id)[:16], frm, via.split(":")[0],
        len(call_id), user, target, call_id, frm, via, ua,
        "Content-Type: application/sdp\r\n" if sdp else "", len(sdp), sdp)


def sdp(ip, port, origin=None):
    return ("v=0\r\no=- 1 1 IN IP4 %s\r\ns=-\r\nc=IN IP4 %s\r\nt=0 0\r\n"
            "m=audio %d RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n") % (origin or ip, ip, port)


def named_endpoints(texts):
    """Every ip:port a SIP/SDP text names (Contact/Via/URI host:port, c= with m= ports)."""
    out = set()
    for t in texts:
        for ip, port in re.findall(r"@(\d+\.\d+\.\d+\.\d+):(\d+)", t):
            out.add((ip, int(port)))
        cs = re.findall(r"c=IN IP4 (\d+\.\d+\.\d+\.\d+)", t)
        for port in re.findall(r"m=\w+ (\d+)", t):
            for ip in cs:
                out.add((ip, int(port)))
    return out


class Sec:
    def __init__(self, env):
        self.env, self.topo, self.mode = env, env.topo, env.mode
        self.wd = os.path.join(env.workdir, "sec")
        os.makedirs(self.wd, exist_ok=True)
        self.n = 0
        self.victims = []  # (label, log path, any event counts as a gain)
        self.topo.run(A.NS_INET, ["ip", "addr", "add", X + "/24", "dev", A.INET_IF])

    def _path(self, name):
        self.n += 1
        return os.path.join(self.wd, "%02d-%s" % (self.n, name))

    def _json(self, name, obj):
        p = self._path(name + ".json")
        with open(p, "w") as f:
            json.dump(obj, f, indent=1)
        return p

    def spawn(self, host, args, name):
        """A sec_tool.py job in the background; returns once it is listening (bounded)."""
        out, rdy = self._path(name + ".jsonl"), self._path(name + ".ready")
        open(out, "w").close()
        self.topo.spawn(ns_of(host), [sys.executable, TOOL] + args + ["--out", out, "--ready",
                                                                      rdy], "sec-tool.log")
        deadline = time.monotonic() + 5
        while not os.path.exists(rdy):
            if time.monotonic() > deadline:
                raise RuntimeError("sec_tool %s in %s did not start" % (args[0], host))
            time.sleep(0.05)
        return out

    def run(self, host, args, name, timeout=20):
        """A sec_tool.py job to completion; its JSON result."""
        out = self._path(name + ".json")
        r = self.topo.run(ns_of(host), [sys.executable, TOOL] + args + ["--out", out],
                          timeout=timeout, check=False)
        if r.returncode != 0:
            raise RuntimeError("sec_tool %s in %s: %s" % (args[0], host,
                                                         (r.stderr or r.stdout).strip()[-300:]))
        with open(out) as f:
            return json.load(f)

    # --- victims and attackers ---------------------------------------------------------

    def listen(self, host, udp=(), tcp=(), send=None, seconds=45, label=None, any_event=False,
               victim=True):
        """Listeners in a LAN host (or the router); send: [(port, (ip, port), text)] from
        them first. any_event: every datagram/connection there is the attack's (the host
        sent nothing that could be answered)."""
        args = ["listen", "--seconds", str(seconds)]
        for p in udp:
            args += ["--udp", str(p)]
        for p in tcp:
            args += ["--tcp", str(p)]
        if send:
            plan = [dict(port=p, to=list(to), delay=d, **({"hex": t.hex()} if isinstance(t, bytes)
                                                           else {"text": t}))
                    for p, to, t, d in [(s + (0.05,))[:4] for s in send]]
            args += ["--send", self._json("send-%s" % host, plan)]
        out = self.spawn(host, args, "listen-%s" % host)
        if victim:
            self.victims.append((label or host, out, any_event))
        return out

    def send_udp(self, host, bind, plan, seconds=1.5):
        """Datagrams from bind (ip:port) in host: [(to, text)]; logs the answers."""
        ip, port = bind.rsplit(":", 1)
        args = ["listen", "--seconds", str(seconds), "--udp", bind,
                "--send", self._json("send-%s" % port,
                                     [dict(port=int(port), to=list(to), delay=0.05, text=t)
                                      for to, t in plan])]
        out = self.spawn(host, args, "send-%s" % ip)
        time.sleep(seconds + 0.2)
        return events(out)

    def sip_server(self, bind, policy=None, seconds=45, media_port=42000, host="inet"):
        args = ["sip-server", "--bind", bind, "--seconds", str(seconds), "--media-port",
                str(media_port)]
        if policy:
            args += ["--policy", json.dumps(policy)]
        return self.spawn(host, args, "sip-server-%s" % bind.replace(":", "_"))

    def tcp_server(self, bind, mss=0, answer="http", seconds=45):
        return self.spawn("inet", ["tcp-server", "--bind", bind, "--mss", str(mss), "--answer",
                                   answer, "--seconds", str(seconds)],
                          "tcp-server-%s" % bind.replace(":", "_"))

    def probe(self, targets, src=X):
        """The attacker's attempts: [(proto, ip, port[, payload[, sport]])], deduplicated."""
        seen, todo = set(), []
        for t in targets:
            key = t[:3] + (t[4] if len(t) > 4 else 0,)
            if key in seen:
                continue
            seen.add(key)
            d = {"proto": t[0], "ip": t[1], "port": t[2]}
            if len(t) > 3:
                d["payload"] = t[3]
            if len(t) > 4:
                d["sport"] = t[4]
            todo.append(d)
        res = self.run("inet", ["probe", "--src", src, "--targets", self._json("targets", todo)],
                       "probe", timeout=15)
        time.sleep(0.5)  # the listeners log what arrived
        return res

    # --- the router ----------------------------------------------------------------------

    def sipalg_json(self, what):
        out = self.topo.sipalg(what, "--wan", A.WAN_IF, "--pin-root", PIN_ROOT, "-j").stdout
        return json.loads(out)

    def counters(self):
        if self.mode not in SIPALG_MODES:
            return {}
        st = json.loads(self.topo.alg_status_json())
        st = st[0] if isinstance(st, list) else st
        return st.get("counters", {})

    def mapped_ports(self):
        """Public ports the router's ALG holds now: sipalg's bindings and pinholes, the
        kernel helper's expectations (linux)."""
        ports = set()
        if self.mode in SIPALG_MODES:
            for kind in ("bindings", "pinholes"):
                for e in self.sipalg_json(kind)[kind]:
                    ports.add(int(e["public_port"]))
        elif self.mode == "linux":
            r = self.topo.run(A.NS_ROUTER, ["conntrack", "-L", "expect"], check=False)
            for line in r.stdout.splitlines():
                m = re.search(r"dst=%s .*?dport=(\d+)" % re.escape(PUB), line)
                if m:
                    ports.add(int(m.group(1)))
        return ports

    def audit(self, senders, answered=True):
        """sipalg modes: the router's pinholes and bindings after the attack. Problems: a
        pinhole with no remote after an answer (open to anyone), a pinhole to a port below
        1024, a pinhole or binding for a LAN host or socket that sent nothing here. senders:
        "ip" (any port of that host sent SIP) or "ip:port" (only that socket sent, e.g. the
        browser's connection: state for it is its own NAT mapping, not the attack's)."""

        def sent(private):
            return private in senders or private.rsplit(":", 1)[0] in senders

        if self.mode not in SIPALG_MODES:
            return [], ""
        problems = []
        pins = self.sipalg_json("pinholes")["pinholes"]
        binds = self.sipalg_json("bindings")["bindings"]
        with open(self._path("state.json"), "w") as f:
            json.dump({"pinholes": pins, "bindings": binds}, f, indent=1)
        for p in pins:
            if answered and p.get("remote") is None:
                problems.append("pinhole %s -> %s open to any source" % (p["public"],
                                                                          p["private"]))
            if not sent(p["private"]):
                problems.append("pinhole %s -> %s for a socket that sent nothing" % (
                    p["public"], p["private"]))
            if int(p["private"].rsplit(":", 1)[1]) < 1024:
                problems.append("pinhole %s -> %s to a port below 1024" % (p["public"],
                                                                          p["private"]))
        for b in binds:
            if not sent(b["private"]):
                problems.append("%s binding %s -> %s for a socket that sent nothing" % (
                    "REGISTER" if b.get("registered") else "a", b["public"], b["private"]))
        return problems, "%d binding(s), %d pinhole(s)" % (len(binds), len(pins))

    # --- verdict -----------------------------------------------------------------------

    def gains(self):
        """What reached a victim from outside: ['phone1 udp 0.0.0.0:3306 <- 198.51.100.66:..']"""
        out = []
        for label, path, any_event in self.victims:
            for ev in events(path):
                if ev["ev"] == "sent":
                    continue
                peer = ev.get("peer", "")
                outside = not peer.startswith(LAN_NET)
                hit = (ev["ev"] == "accept" and outside) or ev.get("probe") or (
                    any_event and ev["ev"] in ("datagram", "accept"))
                if hit:
                    what = "connection" if ev["ev"] == "accept" else \
                        "PROBE" if ev.get("probe") else repr(ev.get("data", "")[:24])
                    out.append("%s %s at %s:%s from %s" % (what, ev["proto"], label,
                                                          ev["local"].rsplit(":", 1)[1], peer))
        return sorted(set(out))

    def verdict(self, senders, info, answered=True, extra=()):
        problems = list(extra)
        got = self.gains()
        if got:
            problems.append("reached the LAN: " + ", ".join(got[:5]) +
                            (" (+%d more)" % (len(got) - 5) if len(got) > 5 else ""))
        state, summary = self.audit(senders, answered)
        problems += state
        if problems:
            raise Fail("; ".join(problems) + (" [%s]" % info if info else ""))
        return "nothing reached the LAN%s; %s" % (", state " + summary if summary else "", info)


def events(path):
    out = []
    try:
        with open(path) as f:
            for line in f:
                try:
                    out.append(json.loads(line))
                except json.JSONDecodeError:
                    pass
    except FileNotFoundError:
        pass
    return out


def probe_summary(res):
    """'3 probes: 2 no answer, 1 refused'"""
    kinds = {}
    for r in res:
        k = r.get("result", "?").split(",")[0]
        kinds[k] = kinds.get(k, 0) + 1
    return "%d probe(s): %s" % (len(res), ", ".join("%d %s" % (v, k) for k, v in
                                                       sorted(kinds.items())))


def targets_from(texts, protos=("tcp",), extra_ports=(), sec=None, payload="", sport=0):
    """The attacker tries every ip:port the messages it received name, the public address
    at extra_ports, and every port the router's ALG mapped."""
    eps = named_endpoints(texts)
    ports = set(extra_ports) | (sec.mapped_ports() if sec else set())
    eps |= {(PUB, p) for p in ports}
    return [(proto, ip, port, payload, sport) for ip, port in sorted(eps) for proto in protos
            if 0 < port < 65536 and ip not in ("0.0.0.0", "127.0.0.1")]
