"""The security suite's hosts: listeners on victim ports, attacker servers, probes, a "browser".

Run inside a namespace (Python 3 stdlib only, every wait bounded), one job per subcommand:

  listen     UDP/TCP listeners on victim ports; logs every datagram and connection as JSON
             lines (--out). --send FILE: also send datagrams from those sockets first (a LAN
             host's SIP, STUN...), so answers to them are logged on the same socket.
  sip-server an attacker's (or fake registrar's) SIP endpoint on UDP: logs requests, answers
             them by a policy (200 / 403 / none / wrong CSeq / wrong Call-ID / 200 with SDP).
  tcp-server an attacker's server on TCP (HTTP or SIP): clamps the MSS it advertises, logs
             every byte received per connection, answers HTTP 200 or SIP 200.
  browser    a LAN host's HTTP POST to the attacker, its body padded so a SIP text starts at a
             TCP segment boundary (or not); checks on its own interface where segments began.
  tcp-send   a TCP client sending chunks as separate segments (a SIP stream with framing errors).
  probe      the attacker's attempts: TCP connects and UDP datagrams marked PROBE-n.
"""

import argparse
import json
import os
import random
import re
import select
import socket
import struct
import sys
import threading
import time

PROBE = b"PROBE-"
TCP_MAXSEG = getattr(socket, "TCP_MAXSEG", 2)
IP_MTU_DISCOVER = getattr(socket, "IP_MTU_DISCOVER", 10)
IP_PMTUDISC_DONT = 0
ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4
# Anywhere, not only at a line start: the attacker answers whatever an ALG might take for a
# request (a REGISTER right after the padding of a POST body, after a STUN header...).
REQ_LINE = re.compile(rb"(REGISTER|INVITE|OPTIONS|MESSAGE|NOTIFY|SUBSCRIBE|REFER|INFO|UPDATE|"
                      rb"PRACK|PUBLISH|BYE|CANCEL|ACK) (sips?:\S+) SIP/2\.0\r?\n")


class JsonLog:
    def __init__(self, path):
        self.f = open(path, "a")
        self.lock = threading.Lock()

    def __call__(self, **ev):
        ev["t"] = round(time.time(), 3)
        with self.lock:
            self.f.write(json.dumps(ev) + "\n")
            self.f.flush()


def text(data, limit=600):
    return data[:limit].decode("latin-1")


def hostport(s):
    host, _, port = s.rpartition(":")
    return host, int(port)


def ready(path):
    if path:
        open(path, "w").close()


# --- SIP text helpers (attacker-friendly: the request line may be anywhere) --------------


def parse_request(data):
    """(method, headers dict of lists, start offset) of the first request line anywhere in
    data, or None. Lower-case header names, compact forms expanded."""
    m = REQ_LINE.search(data)
    if not m:
        return None
    head = data[m.start():].split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
    compact = {"v": "via", "f": "from", "t": "to", "i": "call-id", "m": "contact",
               "l": "content-length"}
    hdrs = {}
    for line in head[1:]:
        name, _, value = line.partition(":")
        name = name.strip().lower()
        hdrs.setdefault(compact.get(name, name), []).append(value.strip())
    return m.group(1).decode(), hdrs, m.start()


def uri_user(value):
    m = re.search(r"sip:([^@;>]+)@", value or "")
    return m.group(1) if m else ""


def response(hdrs, code, reason, cseq_delta=0, callid=None, extra="", body=""):
    lines = ["SIP/2.0 %d %s" % (code, reason)]
    for v in hdrs.get("via", []):
        lines.append("Via: " + v)
    lines.append("From: " + (hdrs.get("from") or [""])[0])
    to = (hdrs.get("to") or [""])[0]
    if code >= 200 and "tag=" not in to:
        to += ";tag=sec%06d" % random.randrange(10 ** 6)
    lines.append("To: " + to)
    lines.append("Call-ID: " + (callid or (hdrs.get("call-id") or [""])[0]))
    cseq = (hdrs.get("cseq") or ["1 REGISTER"])[0].split()
    num = int(cseq[0]) if cseq and cseq[0].isdigit() else 1
    lines.append("CSeq: %d %s" % (num + cseq_delta, cseq[-1] if cseq else "REGISTER"))
    for c in hdrs.get("contact", []):
        lines.append("Contact: " + c)
    if extra:
        lines += extra.strip("\r\n").split("\r\n")
    if body:
        lines.append("Content-Type: application/sdp")
    lines.append("Content-Length: %d" % len(body))
    return ("\r\n".join(lines) + "\r\n\r\n" + body).encode()


SDP_ANSWER = ("v=0\r\no=- 1 1 IN IP4 {ip}\r\ns=-\r\nc=IN IP4 {ip}\r\nt=0 0\r\n"
              "m=audio {port} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n")


# --- listen ----------------------------------------------------------------------------


def cmd_listen(a):
    log = JsonLog(a.out)
    socks = {}
    for spec in a.udp:
        host, port = hostport(spec) if ":" in spec else ("0.0.0.0", int(spec))
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
        s.setsockopt(socket.IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_DONT)
        s.bind((host, port))
        socks[s] = ("udp", "%s:%d" % (host, port), port)
    for spec in a.tcp:
        host, port = hostport(spec) if ":" in spec else ("0.0.0.0", int(spec))
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((host, port))
        s.listen(16)
        socks[s] = ("tcp-listen", "%s:%d" % (host, port), port)
    ready(a.ready)
    if a.send:
        with open(a.send) as f:
            plan = json.load(f)
        by_port = {v[2]: k for k, v in socks.items() if v[0] == "udp"}
        for item in plan:
            time.sleep(item.get("delay", 0))
            data = bytes.fromhex(item["hex"]) if "hex" in item else item["text"].encode("latin-1")
            s = by_port[item["port"]]
            s.sendto(data, tuple(item["to"]))
            log(ev="sent", proto="udp", local=socks[s][1], peer="%s:%d" % tuple(item["to"]),
                size=len(data), data=text(data, 200))
    conns = {}
    deadline = time.monotonic() + a.seconds
    while time.monotonic() < deadline:
        r, _, _ = select.select(list(socks) + list(conns), [], [], 0.2)
        for s in r:
            if s in conns:
                kind, local, peer, start = conns[s]
                try:
                    data = s.recv(65536)
                except OSError:
                    data = b""
                if data:
                    log(ev="data", proto="tcp", local=local, peer=peer, data=text(data),
                        probe=PROBE in data)
                if not data or time.monotonic() - start > 3:
                    s.close()
                    del conns[s]
                continue
            kind, local, port = socks[s]
            if kind == "udp":
                data, peer = s.recvfrom(65536)
                log(ev="datagram", proto="udp", local=local, peer="%s:%d" % peer,
                    size=len(data), data=text(data), probe=PROBE in data)
            else:
                c, peer = s.accept()
                c.setblocking(False)
                peer = "%s:%d" % peer
                log(ev="accept", proto="tcp", local=local, peer=peer)
                conns[c] = ("tcp", local, peer, time.monotonic())
        for c, (kind, local, peer, start) in list(conns.items()):
            if time.monotonic() - start > 3:
                c.close()
                del conns[c]
    return 0


# --- sip-server ------------------------------------------------------------------------


def cmd_sip_server(a):
    log = JsonLog(a.out)
    policy = json.loads(a.policy) if a.policy else {}
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    host, port = hostport(a.bind)
    s.bind((host, port))
    ready(a.ready)
    deadline = time.monotonic() + a.seconds
    while time.monotonic() < deadline:
        r, _, _ = select.select([s], [], [], 0.2)
        if not r:
            continue
        data, peer = s.recvfrom(65536)
        req = parse_request(data)
        if not req:
            log(ev="datagram", peer="%s:%d" % peer, size=len(data), data=text(data))
            continue
        method, hdrs, off = req
        user = uri_user((hdrs.get("to") or [""])[0]) or uri_user((hdrs.get("from") or [""])[0])
        rule = policy.get("%s:%s" % (method, user), policy.get(method, "200"))
        log(ev="request", peer="%s:%d" % peer, method=method, user=user, offset=off,
            call_id=(hdrs.get("call-id") or [""])[0], cseq=(hdrs.get("cseq") or [""])[0],
            contact=hdrs.get("contact", []), headers=hdrs, answer=rule,
            data=text(data, 1500))
        if method == "ACK" or rule == "none":
            continue
        if rule == "403":
            out = response(hdrs, 403, "Forbidden")
        elif rule == "200-cseq":
            out = response(hdrs, 200, "OK", cseq_delta=1, extra="Expires: 120")
        elif rule == "200-callid":
            out = response(hdrs, 200, "OK", callid="other-%d@sec" % random.randrange(10 ** 6),
                           extra="Expires: 120")
        elif rule == "200-sdp":
            out = response(hdrs, 200, "OK", extra="Contact: <sip:x@%s:%d>" % (host, port),
                           body=SDP_ANSWER.format(ip=host, port=a.media_port))
        else:
            out = response(hdrs, 200, "OK", extra="Expires: 120" if method == "REGISTER" else "")
        s.sendto(out, peer)
    return 0


# --- tcp-server ------------------------------------------------------------------------


def _serve_tcp(c, peer, log, a):
    c.settimeout(0.2)
    buf = b""
    start = time.monotonic()
    last = start
    answered = False
    while time.monotonic() - start < a.conn_seconds:
        try:
            got = c.recv(65536)
        except socket.timeout:
            got = None
        except OSError:
            break
        if got == b"":
            break
        if got:
            buf += got
            last = time.monotonic()
            log(ev="data", peer=peer, size=len(got), total=len(buf))
        if not answered and buf and time.monotonic() - last > a.idle:
            req = parse_request(buf)
            if a.answer == "http":
                # As samyk/slipstream's server: the HTTP head, then 100 ms later the SIP 200 in
                # a segment of its own, so a per-segment parser sees it start a message.
                sip = (response(req[1], 200, "OK", extra="Expires: 3600") if req else
                       b"SIP/2.0 200 OK\r\n\r\n")
                try:
                    c.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                              b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(sip))
                except OSError:
                    pass
                time.sleep(0.1)
                out = sip
            else:
                # The answer to the last REGISTER on the stream (the one an ALG must not see).
                regs = [m.start() for m in REQ_LINE.finditer(buf) if m.group(1) == b"REGISTER"]
                req = parse_request(buf[regs[-1]:]) if regs else req
                out = response(req[1], 200, "OK", extra="Expires: 3600") if req else b""
            try:
                if out:
                    c.sendall(out)
            except OSError:
                pass
            answered = True
    log(ev="closed", peer=peer, total=len(buf), data=text(buf, 12000))
    c.close()


def cmd_tcp_server(a):
    log = JsonLog(a.out)
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if a.mss:
        # Advertised in the SYN-ACK: the client's segments carry at most this (less options).
        s.setsockopt(socket.IPPROTO_TCP, TCP_MAXSEG, a.mss)
    s.bind(hostport(a.bind))
    s.listen(8)
    ready(a.ready)
    deadline = time.monotonic() + a.seconds
    threads = []
    while time.monotonic() < deadline:
        r, _, _ = select.select([s], [], [], 0.2)
        if r:
            c, peer = s.accept()
            peer = "%s:%d" % peer
            log(ev="accept", peer=peer)
            t = threading.Thread(target=_serve_tcp, args=(c, peer, log, a), daemon=True)
            t.start()
            threads.append(t)
    for t in threads:
        t.join(timeout=1)
    return 0


# --- browser / tcp-send ----------------------------------------------------------------


class Sniffer:
    """Outgoing TCP segments of this host to one destination port, seen on an interface:
    where each one's payload starts."""

    def __init__(self, ifname, dport):
        self.s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        self.s.bind((ifname, 0))
        self.s.settimeout(0.1)
        self.dport = dport
        self.segments = []
        self.stop = False
        self.t = threading.Thread(target=self._run, daemon=True)
        self.t.start()

    def _run(self):
        while not self.stop:
            try:
                frame, addr = self.s.recvfrom(65535)
            except socket.timeout:
                continue
            if addr[2] != PACKET_OUTGOING or len(frame) < 34 or frame[12:14] != b"\x08\x00":
                continue
            ip = frame[14:]
            ihl = (ip[0] & 15) * 4
            total = struct.unpack_from("!H", ip, 2)[0]
            if ip[9] != 6:
                continue
            tcp = ip[ihl:total]
            if struct.unpack_from("!H", tcp, 2)[0] != self.dport:
                continue
            payload = tcp[(tcp[12] >> 4) * 4:]
            if payload:
                self.segments.append(payload)

    def close(self):
        self.stop = True
        self.t.join(timeout=1)


def _read_reply(s, seconds):
    s.settimeout(0.2)
    buf = b""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            got = s.recv(65536)
        except socket.timeout:
            continue
        except OSError:
            break
        if not got:
            break
        buf += got
    return buf


def _send_chunks(s, chunks, gap):
    for ch in chunks:
        s.sendall(ch)
        time.sleep(gap)  # each write leaves as its own segment (TCP_NODELAY, all acked)


def cmd_browser(a):
    """The attacker's page makes the browser POST to the attacker's server. The body is padded
    so that the SIP text begins exactly at a segment boundary (--align N: at the start of
    segment N), or (--unaligned) in the middle of a segment after a CRLF."""
    sip = open(a.sip_file, "rb").read()
    host, port = hostport(a.server)
    sniff = Sniffer(a.ifname, port)
    s = socket.create_connection((host, port), timeout=5)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    mss = s.getsockopt(socket.IPPROTO_TCP, TCP_MAXSEG)
    head_fmt = ("POST /samy.pl HTTP/1.1\r\nHost: %s:%d\r\nUser-Agent: Mozilla/5.0\r\n"
                "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: %%06d\r\n"
                "\r\n" % (host, port))
    head_len = len(head_fmt % 0)
    if a.unaligned:
        sip_at = (a.align - 1) * mss - mss // 2  # mid-segment
        pad = b"x=" + b"A" * (sip_at - head_len - 4) + b"\r\n"
    else:
        sip_at = (a.align - 1) * mss
        pad = b"x=" + b"A" * (sip_at - head_len - 2)
    body = pad + sip
    head = (head_fmt % len(body)).encode()
    req = head + body
    chunks = [req[i:i + mss] for i in range(0, len(req), mss)]
    _send_chunks(s, chunks, a.gap)
    reply = _read_reply(s, a.reply_seconds)
    local = "%s:%d" % s.getsockname()
    s.close()
    time.sleep(0.2)
    sniff.close()
    starts = [seg[:24].decode("latin-1") for seg in sniff.segments]
    out = {"local": local, "mss": mss, "sip_offset": len(head) + len(pad),
           "segments": len(sniff.segments),
           "segment_sizes": [len(x) for x in sniff.segments], "segment_starts": starts,
           "sip_starts_segment": any(seg.startswith(sip[:16]) for seg in sniff.segments),
           "reply": text(reply, 800)}
    with open(a.out, "w") as f:
        json.dump(out, f, indent=1)
    return 0


def cmd_tcp_send(a):
    with open(a.chunks) as f:
        chunks = [c.encode("latin-1") for c in json.load(f)]
    host, port = hostport(a.to)
    s = socket.socket()
    if a.bind:
        s.bind(hostport(a.bind))
    s.settimeout(5)
    s.connect((host, port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    local = "%s:%d" % s.getsockname()
    err = None
    try:
        _send_chunks(s, chunks, a.gap)
    except OSError as e:
        err = str(e)
    reply = _read_reply(s, a.reply_seconds)
    s.close()
    with open(a.out, "w") as f:
        json.dump({"local": local, "error": err,
                   "reply": text(reply, 4000)}, f, indent=1)
    return 0


# --- probe -----------------------------------------------------------------------------


def _probe_one(src, t, n, res):
    proto, ip, port = t["proto"], t["ip"], int(t["port"])
    mark = PROBE + b"%d %s:%d\r\n" % (n, ip.encode(), port)
    r = {"proto": proto, "target": "%s:%d" % (ip, port)}
    try:
        if proto == "tcp":
            s = socket.socket()
            s.bind((src, 0))
            s.settimeout(2)
            try:
                s.connect((ip, port))
            except socket.timeout:
                r["result"] = "no answer"
                return
            except OSError as e:
                r["result"] = "refused" if e.errno == 111 else (e.strerror or str(e))
                return
            try:
                s.sendall(t.get("payload", "").encode("latin-1") + mark)
                s.settimeout(1.5)
                got = s.recv(4096)
                r["result"] = "connected, got %d bytes" % len(got) if got else "connected, closed"
            except socket.timeout:
                r["result"] = "connected, silent"
            except OSError as e:
                r["result"] = "connected, then %s" % (e.strerror or e)
            s.close()
        else:
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            # Several probes may come from the one media port the attacker negotiated.
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((src, int(t.get("sport", 0))))
            data = t.get("payload", "").encode("latin-1") + mark
            try:
                for _ in range(3):
                    s.sendto(data, (ip, port))
                    time.sleep(0.05)
                s.settimeout(0.8)
                got = s.recv(4096)
                r["result"] = "answered (%d bytes)" % len(got)
            except socket.timeout:
                r["result"] = "sent"
            except OSError as e:
                r["result"] = e.strerror or str(e)
            s.close()
    finally:
        res.append(r)


def cmd_probe(a):
    with open(a.targets) as f:
        targets = json.load(f)
    res, threads = [], []
    for n, t in enumerate(targets):
        th = threading.Thread(target=_probe_one, args=(a.src, t, n, res), daemon=True)
        th.start()
        threads.append(th)
    for th in threads:
        th.join(timeout=6)
    with open(a.out, "w") as f:
        json.dump(res, f, indent=1)
    return 0


def _server_args(p):
    """What every listening subcommand takes last: its results file, the file it creates once
    bound (so the caller need not guess when to send) and how long it stays up."""
    p.add_argument("--out", required=True)
    p.add_argument("--ready")
    p.add_argument("--seconds", type=float, default=40)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("listen")
    p.add_argument("--udp", action="append", default=[], help="[IP:]PORT")
    p.add_argument("--tcp", action="append", default=[], help="[IP:]PORT")
    p.add_argument("--send", help="JSON list of {port, to: [ip, port], text|hex, delay}")
    _server_args(p)
    p = sub.add_parser("sip-server")
    p.add_argument("--bind", required=True)
    p.add_argument("--policy", help='JSON {"METHOD[:user]": "200|403|none|200-cseq|..."}')
    p.add_argument("--media-port", type=int, default=42000)
    _server_args(p)
    p = sub.add_parser("tcp-server")
    p.add_argument("--bind", required=True)
    p.add_argument("--mss", type=int, default=0)
    p.add_argument("--answer", choices=("http", "sip"), default="http")
    p.add_argument("--idle", type=float, default=0.8)
    p.add_argument("--conn-seconds", type=float, default=6)
    _server_args(p)
    p = sub.add_parser("browser")
    p.add_argument("--server", required=True)
    p.add_argument("--sip-file", required=True)
    p.add_argument("--align", type=int, default=2)
    p.add_argument("--unaligned", action="store_true")
    p.add_argument("--ifname", default="eth0")
    p.add_argument("--gap", type=float, default=0.05)
    p.add_argument("--reply-seconds", type=float, default=3)
    p.add_argument("--out", required=True)
    p = sub.add_parser("tcp-send")
    p.add_argument("--to", required=True)
    p.add_argument("--bind")
    p.add_argument("--chunks", required=True, help="JSON list of strings, one segment each")
    p.add_argument("--gap", type=float, default=0.15)
    p.add_argument("--reply-seconds", type=float, default=2.5)
    p.add_argument("--out", required=True)
    p = sub.add_parser("probe")
    p.add_argument("--src", required=True)
    p.add_argument("--targets", required=True, help="JSON list of {proto, ip, port, payload}")
    p.add_argument("--out", required=True)
    a = ap.parse_args()
    return {"listen": cmd_listen, "sip-server": cmd_sip_server, "tcp-server": cmd_tcp_server,
            "browser": cmd_browser, "tcp-send": cmd_tcp_send, "probe": cmd_probe}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
