#!/usr/bin/env python3
"""Media forwarding through a router namespace: CPU ns per forwarded packet, per configuration.

For each configuration a fresh sandbox is built: the e2e harness's router
(tests/e2e/sipalg_e2e/topo.py, the one sandbox, under the namespace prefix bmf-), with phone1's
namespace as the LAN end host and one address per phone line on it:

    bmf-phone1  eth0 ── veth ── lan-p0 [br-lan] 192.168.10.1 │ bmf-router │ wan0 203.0.113.1 ── veth ── inet0  bmf-inet
    phones 192.168.10.100+k   (bmf-phone2/3, bmf-lansrv: idle)                        203.0.113.2 / .10 (registrar)
                                                                                      198.51.100.20 (remote UA)

and many concurrent RTP-sized flows (one UDP socket per flow on each side, distinct 5-tuples)
are forwarded LAN->WAN and WAN->LAN at the same time:

  0  no router: the two end hosts on one veth pair. Not a router configuration: it measures
     what the senders and the receiving XDP sinks cost, so that "router ns/pkt" = X - 0.
  a  Linux forwarding + nftables masquerade + stateful forward firewall (topo.py mode none)
  b  (a) + nftables `ct helper "sip"` (mode linux); calls set up by SIP (REGISTER,
     INVITE/200/ACK with SDP) through the router, media on the ports nf_nat_sip wrote into the SDP
  c  (a) + an nftables flowtable (n/a when the kernel lacks nf_flow_table)
  d  (a) + sipalg loaded and enabled on wan0 (mode sipalg, without the slow-path daemon, which
     no media reaches); calls set up by SIP through it, media on the pinholes it opened
     (checked: bindings, pinholes, media_in/media_out counters)
  e  bare XDP redirect between the router's two veths (MAC rewrite, TTL-1), on mode direct (no
     NAT, no firewall, the Internet routes to the LAN): the ceiling

Senders: bench/media_fwd_gen (C++, sendmmsg, paced, one socket per flow). Receivers: an XDP
program on each end host's veth that counts and drops the media (the same in every
configuration, and the XDP program veth needs on the peer of an XDP redirect).

CPU, whole machine: /proc/stat over all cores; busy = cores x wall - idle - iowait - steal
over the sending window (with NO_HZ the idle clock is exact, the busy categories are
tick-sampled; their sum is kept in the JSON as a cross-check), minus the busy rate of idle
windows just before and after (same sandbox, no traffic): "net busy". CPU ns/pkt = net busy /
packets received. XDP on a veth and the stack's forwarding run in softirq in the sender's
context (or ksoftirqd), so only whole-machine totals count everything. "router ns/pkt" is
X - config 0 of the same round. Cross-check that other jobs on a shared machine cannot
inflate: CPU time of the two sender processes (CLOCK_PROCESS_CPUTIME_ID: softirqs in their
context included) + ksoftirqd, per packet. At max rate (saturated) the whole-machine figure
is busy / packets with no idle subtraction.

The targets are judged on router ns/pkt: d <= 1/3 of a and of b, d < c, d <= 1.5 x e.

Usage (root):
    bench/media_fwd/media_fwd.py [run] [--runs 5] [--duration 3] [--rate 200000] [--flows 1000]
                       [--configs 0,a,b,c,d,e] [--max-runs 1] [--json F] [--md F] [--quick]
    bench/media_fwd/media_fwd.py clean        # remove what a killed run left behind
"""

import argparse
import ctypes
import glob
import json
import os
import re
import resource
import selectors
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "lib"))
import benchlib  # noqa: E402

# The e2e sandbox under this bench's own names: never the e2e run's or another bench's.
PREFIX = "bmf-"
PIN_ROOT = "/sys/fs/bpf/sipalg-bmf"
A, T = benchlib.e2e_sandbox(PREFIX, PIN_ROOT)
NS_LAN, NS_R, NS_INET = A.ns_phone("phone1"), A.NS_ROUTER, A.NS_INET
MF_PINS = PIN_ROOT + "/mf"
SINK_LAN, SINK_INET = MF_PINS + "/sink_lan", MF_PINS + "/sink_inet"

LAN_GW = A.LAN_GW
PHONE_BASE = 100  # phone k: 192.168.10.(100+k)
WAN_IP = A.ROUTER_WAN_IP
INET_IP = A.INET_IP
REGISTRAR_IP = A.REGISTRAR_IP
REMOTE_IP = A.REMOTE_IP
SIP_PORT = 5060
PORT_LO, PORT_HI = 20000, 59999  # what the sinks count: media only
MAX_FLOWS = 9999


def sip_port(f):  # the phone line's SIP socket
    return 10000 + f


def media_port(f):  # its RTP socket (RTCP would be +1)
    return 20000 + 2 * f


def remote_port(f):  # the remote UA's RTP socket for that call
    return 40000 + 2 * f


CONFIGS = {
    "0": "no router (end hosts on one veth; sender + sink cost)",
    "a": "Linux forwarding + masquerade + stateful firewall",
    "b": "(a) + ct helper sip (nf_nat_sip), calls by SIP",
    "c": "(a) + nftables flowtable",
    "d": "sipalg, calls by SIP (LAN port XDP + WAN XDP)",
    "e": "bare XDP redirect (ceiling)",
}

# Established flows go to the flowtable after the firewall accepted them.
FLOWTABLE_NFT = """
table inet bmf_ft {
    flowtable ft {
        hook ingress priority filter;
        devices = { DEVS };
    }
    chain forward {
        type filter hook forward priority filter + 1; policy accept;
        meta l4proto udp flow add @ft
    }
}
"""


class BenchError(RuntimeError):
    pass


def log(msg):
    print("[media_fwd] " + msg, file=sys.stderr, flush=True)


def sh(argv, timeout=30, check=True, input=None):
    p = subprocess.run([str(a) for a in argv], capture_output=True, text=True, timeout=timeout,
                       input=input, stdin=None if input is not None else subprocess.DEVNULL)
    if check and p.returncode != 0:
        raise BenchError("%s: exit %d: %s" % (" ".join(str(a) for a in argv), p.returncode,
                                               (p.stderr or p.stdout).strip()[:800]))
    return p


def nsx(ns, argv, **kw):
    """In namespace ns with its own /sys (ip netns exec)."""
    return sh(["ip", "netns", "exec", ns] + list(argv), **kw)


def nsh(ns, argv, **kw):
    """In namespace ns's network only: the host's /sys and bpffs stay visible."""
    return sh(["nsenter", "--net=/run/netns/" + ns] + list(argv), **kw)


# ------------------------------------------------------------------------------------------
# network namespaces from Python: sockets are created inside a namespace and stay there
# ------------------------------------------------------------------------------------------
_libc = ctypes.CDLL("libc.so.6", use_errno=True)
CLONE_NEWNET = 0x40000000


class InNetns:
    """with InNetns("bmf-lan"): socket.socket(...)  (main thread only)."""

    def __init__(self, ns):
        self.ns = ns

    def __enter__(self):
        self.home = os.open("/proc/self/ns/net", os.O_RDONLY)
        fd = os.open("/run/netns/" + self.ns, os.O_RDONLY)
        try:
            if _libc.setns(fd, CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), "setns " + self.ns)
        finally:
            os.close(fd)
        return self

    def __exit__(self, *exc):
        try:
            if _libc.setns(self.home, CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), "setns back")
        finally:
            os.close(self.home)
        return False


SIOCETHTOOL = 0x8946
ETHTOOL_STXCSUM = 0x17


def tx_checksum_off(ns, dev):
    """Turns off `dev`'s transmit checksum offload, so the host's sockets send complete UDP
    checksums, as frames arriving from a wire have (ETHTOOL_STXCSUM; no ethtool binary
    needed). A local socket over a veth otherwise leaves only the pseudo-header seed and marks
    the skb CHECKSUM_PARTIAL, a state a router never receives from a NIC, and one that XDP
    cannot see (sipalg's XDP programs leave such packets to tc). Done on both end hosts in
    every configuration: the senders' extra checksum work is in config 0 too."""
    import fcntl
    with InNetns(ns):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        val = ctypes.create_string_buffer(struct.pack("II", ETHTOOL_STXCSUM, 0))
        ifr = struct.pack("16sP", dev.encode(), ctypes.addressof(val))
        fcntl.ioctl(s.fileno(), SIOCETHTOOL, ifr)
    finally:
        s.close()


def udp_socket(ns, ip, port, rcvbuf=4 << 20):
    with InNetns(ns):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.setsockopt(socket.SOL_SOCKET, 33, rcvbuf)  # SO_RCVBUFFORCE (root)
    except OSError:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.bind((ip, port))
    s.setblocking(False)
    return s


# ------------------------------------------------------------------------------------------
# cleanup
# ------------------------------------------------------------------------------------------
def clean_all(sipalg_bin=None):
    """Unloads a sipalg a killed run left in the router (its pins), then removes the sandbox's
    namespaces and pins (topo.py's cleanup under this bench's prefix and pin root)."""
    if sipalg_bin and os.path.isdir(PIN_ROOT + "/wan0") and NS_R in T.list_sandbox_namespaces():
        nsh(NS_R, [sipalg_bin, "unload", "--wan", A.WAN_IF, "--pin-root", PIN_ROOT],
            check=False, timeout=20)
    T.cleanup_stale()


# ------------------------------------------------------------------------------------------
# CPU accounting
# ------------------------------------------------------------------------------------------
HZ = os.sysconf("SC_CLK_TCK")


NCPU = os.sysconf("SC_NPROCESSORS_ONLN")


def cpu_snapshot():
    """/proc/stat, all cores, in jiffies (USER_HZ): {"t": monotonic s, "ticks": busy by the
    tick-sampled categories (user+nice+system+irq+softirq), "idle": idle+iowait, "steal",
    "fields": the 8 counters summed, "per_cpu": {cpuN: busy ticks}}.

    With NO_HZ the kernel reports idle and iowait from its precise nohz idle clock, while the
    busy categories are sampled at the scheduler tick; so "busy" below is computed as
    cores x wall time - idle - iowait - steal (precise), and the tick-sampled sum is kept as a
    cross-check."""
    snap = {"t": time.monotonic(), "per_cpu": {}}
    with open("/proc/stat") as f:
        for line in f:
            if not line.startswith("cpu"):
                break
            p = line.split()
            v = ([int(x) for x in p[1:]] + [0] * 10)[:8]
            user, nice, system, idle, iowait, irq, softirq, steal = v
            ticks = user + nice + system + irq + softirq
            if p[0] == "cpu":
                snap.update(ticks=ticks, idle=idle + iowait, steal=steal, fields=v)
            else:
                snap["per_cpu"][p[0]] = ticks
    return snap


def ksoftirqd_ns():
    """Summed run time (ns, /proc/PID/schedstat) of the ksoftirqd threads: softirq work the
    kernel deferred out of the senders' context."""
    total = 0
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/comm" % d) as f:
                if not f.read().startswith("ksoftirqd/"):
                    continue
            with open("/proc/%s/schedstat" % d) as f:
                total += int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            pass
    return total


def cpu_delta(a, b):
    """Busy jiffies between two snapshots: precise (cores x wall - idle - steal) and
    tick-sampled, with the wall time and the per-category/per-CPU detail."""
    wall = b["t"] - a["t"]
    idle = b["idle"] - a["idle"]
    steal = b["steal"] - a["steal"]
    return {"wall": wall, "busy": NCPU * wall * HZ - idle - steal,
            "ticks": b["ticks"] - a["ticks"], "idle": idle, "steal": steal,
            "fields": [y - x for x, y in zip(a["fields"], b["fields"])],
            "per_cpu": {k: b["per_cpu"][k] - a["per_cpu"].get(k, 0) for k in b["per_cpu"]}}


# ------------------------------------------------------------------------------------------
# SIP: phone lines on the LAN, a registrar and a remote UA on the Internet
# ------------------------------------------------------------------------------------------
def _headers(msg):
    head = msg.split("\r\n\r\n", 1)[0].split("\r\n")
    return head[0], head[1:]


def _hdr(lines, name):
    n = name.lower() + ":"
    for l in lines:
        if l.lower().startswith(n):
            return l.split(":", 1)[1].strip()
    return None


def _sdp_media(msg):
    """(c= address, first m=audio port) of the SDP body, or None."""
    parts = msg.split("\r\n\r\n", 1)
    if len(parts) < 2:
        return None
    c = re.search(r"^c=IN IP4 ([0-9.]+)", parts[1], re.M)
    m = re.search(r"^m=audio (\d+) ", parts[1], re.M)
    return (c.group(1), int(m.group(1))) if c and m else None


def _sdp(ip, port, sess):
    return ("v=0\r\no=- %d 1 IN IP4 %s\r\ns=-\r\nc=IN IP4 %s\r\nt=0 0\r\n"
            "m=audio %d RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n" % (sess, ip, ip, port))


def _with_body(head, body, ctype="application/sdp"):
    if body:
        head += "Content-Type: %s\r\n" % ctype
    return head + "Content-Length: %d\r\n\r\n%s" % (len(body), body)


class SipCalls:
    """Sets up one call per flow through the router: REGISTER from the line's socket to the
    registrar, then INVITE (SDP) to the remote UA, 200 OK (SDP) back, ACK. The remote UA
    records where the router says the phone's media is (the SDP as it arrives on the WAN)."""

    def __init__(self, nflows, phones, prime_batch):
        self.n = nflows
        self.phones = phones
        self.prime_batch = prime_batch
        self.sel = selectors.DefaultSelector()
        self.lines = []
        self.registered = [False] * nflows
        self.answered = [False] * nflows
        self.public_media = [None] * nflows  # (ip, port) from the INVITE's SDP on the WAN
        self.answer_media = [None] * nflows  # (ip, port) from the 200 OK's SDP on the LAN
        self.reg_src = set()
        self.to_hdr = [None] * nflows
        self.stats = {"register_tx": 0, "invite_tx": 0, "retransmits": 0}
        self.registrar = udp_socket(NS_INET, REGISTRAR_IP, SIP_PORT, 16 << 20)
        self.ua = udp_socket(NS_INET, REMOTE_IP, SIP_PORT, 16 << 20)
        self.sel.register(self.registrar, selectors.EVENT_READ, ("registrar", None))
        self.sel.register(self.ua, selectors.EVENT_READ, ("ua", None))
        for f in range(nflows):
            s = udp_socket(NS_LAN, phone_ip(f, phones), sip_port(f), 256 << 10)
            self.lines.append(s)
            self.sel.register(s, selectors.EVENT_READ, ("line", f))

    def close(self):
        for s in self.lines + [self.registrar, self.ua]:
            try:
                self.sel.unregister(s)
            except (KeyError, ValueError):
                pass
            s.close()
        self.sel.close()

    # --- messages ------------------------------------------------------------------------
    def _line(self, f):
        """Phone line f's address, SIP port and user name."""
        return phone_ip(f, self.phones), sip_port(f), "u%d" % (10000 + f)

    def _register(self, f, cseq):
        ip, port, user = self._line(f)
        return ("REGISTER sip:%s SIP/2.0\r\n"
                "Via: SIP/2.0/UDP %s:%d;branch=z9hG4bK-mfr-%d-%d;rport\r\n"
                "Max-Forwards: 70\r\n"
                "From: <sip:%s@%s>;tag=r%d\r\n"
                "To: <sip:%s@%s>\r\n"
                "Call-ID: mfreg-%d@%s\r\n"
                "CSeq: %d REGISTER\r\n"
                "Contact: <sip:%s@%s:%d>\r\n"
                "Expires: 3600\r\n"
                "User-Agent: media_fwd\r\n"
                "Content-Length: 0\r\n\r\n"
                % (REGISTRAR_IP, ip, port, f, cseq, user, REGISTRAR_IP, f, user, REGISTRAR_IP,
                   f, ip, cseq, user, ip, port))

    def _invite(self, f):
        ip, port, user = self._line(f)
        head = ("INVITE sip:2001@%s SIP/2.0\r\n"
                "Via: SIP/2.0/UDP %s:%d;branch=z9hG4bK-mfi-%d;rport\r\n"
                "Max-Forwards: 70\r\n"
                "From: <sip:%s@%s>;tag=i%d\r\n"
                "To: <sip:2001@%s>\r\n"
                "Call-ID: mf-%d@%s\r\n"
                "CSeq: 1 INVITE\r\n"
                "Contact: <sip:%s@%s:%d>\r\n"
                % (REMOTE_IP, ip, port, f, user, REGISTRAR_IP, f, REMOTE_IP, f, ip, user, ip,
                   port))
        return _with_body(head, _sdp(ip, media_port(f), 1000 + f))

    def _ack(self, f):
        ip, port, user = self._line(f)
        return ("ACK sip:2001@%s:%d SIP/2.0\r\n"
                "Via: SIP/2.0/UDP %s:%d;branch=z9hG4bK-mfa-%d;rport\r\n"
                "Max-Forwards: 70\r\n"
                "From: <sip:%s@%s>;tag=i%d\r\n"
                "To: %s\r\n"
                "Call-ID: mf-%d@%s\r\n"
                "CSeq: 1 ACK\r\n"
                "Content-Length: 0\r\n\r\n"
                % (REMOTE_IP, SIP_PORT, ip, port, f, user, REGISTRAR_IP, f, self.to_hdr[f],
                   f, ip))

    @staticmethod
    def _response(req_lines, status, to_tag, extra, body):
        head = "SIP/2.0 %s\r\n" % status
        for l in req_lines:
            name = l.split(":", 1)[0].strip().lower()
            if name in ("via", "v", "from", "f", "call-id", "i", "cseq"):
                head += l + "\r\n"
            elif name in ("to", "t"):
                head += l + (";tag=%s" % to_tag if ";tag=" not in l else "") + "\r\n"
        return _with_body(head + extra, body)

    # --- event handling ------------------------------------------------------------------
    def _poll(self, timeout):
        for key, _ in self.sel.select(timeout):
            kind, f = key.data
            for _ in range(256):  # bounded drain
                try:
                    data, src = key.fileobj.recvfrom(65535)
                except BlockingIOError:
                    break
                msg = data.decode("latin-1")
                start, lines = _headers(msg)
                if kind == "registrar" and start.startswith("REGISTER "):
                    self.reg_src.add(src)
                    contact = _hdr(lines, "Contact") or ""
                    resp = self._response(lines, "200 OK", "reg",
                                          "Contact: %s;expires=3600\r\n" % contact, "")
                    key.fileobj.sendto(resp.encode(), src)
                elif kind == "ua" and start.startswith("INVITE "):
                    cid = _hdr(lines, "Call-ID") or _hdr(lines, "i") or ""
                    m = re.match(r"mf-(\d+)@", cid)
                    if not m:
                        continue
                    g = int(m.group(1))
                    self.public_media[g] = _sdp_media(msg)
                    resp = self._response(lines, "200 OK", "u%d" % g,
                                          "Contact: <sip:2001@%s:%d>\r\n" % (REMOTE_IP, SIP_PORT),
                                          _sdp(REMOTE_IP, remote_port(g), 2000 + g))
                    key.fileobj.sendto(resp.encode(), src)
                elif kind == "line" and start.startswith("SIP/2.0 200"):
                    cseq = _hdr(lines, "CSeq") or ""
                    if cseq.endswith("REGISTER"):
                        self.registered[f] = True
                    elif cseq.endswith("INVITE"):
                        self.to_hdr[f] = _hdr(lines, "To")
                        self.answer_media[f] = _sdp_media(msg)
                        if not self.answered[f]:
                            self.answered[f] = True
                            key.fileobj.sendto(self._ack(f).encode(), (REMOTE_IP, SIP_PORT))

    def _transact(self, todo, send, done, what, window=100, rto=1.0, tries=4, timeout=60):
        """Sends send(f) for every f in todo, at most `window` outstanding, retransmitting
        after rto up to `tries` times; done(f) says it completed."""
        todo = list(todo)
        sent_at, count = {}, {}
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            outstanding = [f for f in sent_at if not done(f)]
            for f in list(sent_at):
                if done(f):
                    del sent_at[f]
            now = time.monotonic()
            for f in outstanding:
                if now - sent_at[f] > rto:
                    if count[f] >= tries:
                        raise BenchError("%s of line %d: no answer after %d tries" %
                                         (what, f, tries))
                    send(f)
                    count[f] += 1
                    self.stats["retransmits"] += 1
                    sent_at[f] = now
            while todo and len(sent_at) < window:
                f = todo.pop(0)
                send(f)
                sent_at[f] = time.monotonic()
                count[f] = 1
            if not todo and not sent_at:
                return
            self._poll(0.05)
        raise BenchError("%s: not finished within %d s" % (what, timeout))

    def setup(self, after_batch):
        """REGISTER every line, then the calls in batches; after_batch(fs) runs after each
        batch of answered calls (the media priming: nf_conntrack_sip keeps few expectations)."""
        def reg(f):
            self.lines[f].sendto(self._register(f, 1).encode(), (REGISTRAR_IP, SIP_PORT))
            self.stats["register_tx"] += 1
        self._transact(range(self.n), reg, lambda f: self.registered[f], "REGISTER")

        def inv(f):
            self.lines[f].sendto(self._invite(f).encode(), (REMOTE_IP, SIP_PORT))
            self.stats["invite_tx"] += 1
        for lo in range(0, self.n, self.prime_batch):
            batch = list(range(lo, min(self.n, lo + self.prime_batch)))
            self._transact(batch, inv, lambda f: self.answered[f], "INVITE")
            self._poll(0.02)  # let the ACKs out
            after_batch(batch)
        bad = [f for f in range(self.n) if not self.public_media[f] or not self.answer_media[f]]
        if bad:
            raise BenchError("calls without SDP on one side: %s" % bad[:10])
        return self.public_media


def phone_ip(f, phones):
    return "192.168.10.%d" % (PHONE_BASE + f % phones)


# ------------------------------------------------------------------------------------------
# the sandbox of one configuration
# ------------------------------------------------------------------------------------------
def d_load_options(args):
    """topo.py loads with the defaults, made for a few phones: here every phone address
    carries flows/phones phone lines, each with its binding, its call and the call's
    pinholes, all set up at once. Limits the loader does not have are left out."""
    lines = -(-args.flows // args.phones)
    opts = [("--max-pinholes-per-phone", max(64, 4 * args.flows)),
            ("--max-bindings-per-phone", max(16, lines)),
            ("--max-dialogs-per-phone", max(64, lines)),
            ("--register-rate", 0), ("--invite-rate", 0)]
    return benchlib.load_options(args.sipalg, opts) if args.sipalg else []


class Sandbox(benchlib.loads_with_options(T.Topology)):
    """One configuration's sandbox: the e2e router in the topo.py mode the configuration needs,
    phone1's namespace as the LAN end host with the phone lines' addresses, and the receivers'
    XDP sinks on both end hosts. Config 0 has no router: the two end hosts on one veth pair."""

    MODES = {"0": "none", "a": "none", "b": "linux", "c": "none", "d": "sipalg", "e": "direct"}
    LAN_PORT = "lan-p0"  # phone1's port of br-lan (topo.py numbers them in host order)

    def __init__(self, cfg, args, workdir):
        super().__init__(self.MODES[cfg], workdir, sipalg_bin=args.sipalg)
        self.cfg = cfg
        self.a = args
        self.wd = workdir
        self.info = {}
        self.load_extra = d_load_options(args) if cfg == "d" else []

    # --- helpers -----------------------------------------------------------------------
    def gen(self, *argv, ns=None, host_sys=False, **kw):
        cmd = [self.a.gen] + list(argv)
        if ns is None:
            return sh(cmd, **kw)
        return nsh(ns, cmd, **kw) if host_sys else nsx(ns, cmd, **kw)

    def start_daemon(self):
        # No slow-path daemon: none of the media reaches it, and d measures what it did before
        # this bench used the e2e sandbox.
        pass

    def alg_status(self):
        return json.loads(self.alg_status_json())

    def mac(self, ns, dev):
        return json.loads(nsx(ns, ["ip", "-j", "link", "show", dev]).stdout)[0]["address"]

    def redirect_counts(self):
        out = json.loads(self.gen("count", MF_PINS + "/redir_out", MF_PINS + "/redir_in").stdout)
        return out[MF_PINS + "/redir_out"], out[MF_PINS + "/redir_in"]

    def counts(self):
        out = json.loads(self.gen("count", SINK_LAN, SINK_INET).stdout)
        return out[SINK_LAN], out[SINK_INET]

    # --- bring-up ------------------------------------------------------------------------
    def up(self):
        clean_all(self.sipalg_bin)
        return super().up()

    def _build(self):
        lan_addrs = ["192.168.10.%d/24" % (PHONE_BASE + k) for k in range(self.a.phones)]
        if self.cfg == "0":
            inet_addrs = [INET_IP + "/24", REGISTRAR_IP + "/24", REMOTE_IP + "/24"]
            for ns in (NS_LAN, NS_INET):
                self._add_ns(ns)
            self._veth(NS_LAN, "eth0", NS_INET, A.INET_IF)
            self._batch(NS_LAN, ["addr add %s dev eth0" % a for a in lan_addrs] +
                        ["route add default dev eth0"])
            self._batch(NS_INET, ["addr add %s dev %s" % (a, A.INET_IF) for a in inet_addrs] +
                        ["route add 192.168.0.0/16 dev %s" % A.INET_IF])
        else:
            super()._build()
            self._batch(NS_LAN, ["addr add %s dev eth0" % a for a in lan_addrs])
            # The end hosts send complete checksums (tx offload off, see tx_checksum_off) and a
            # veth has no receive offload, so conntrack would verify every UDP checksum in
            # software (nf_conntrack_checksum=1), which a router NIC's receive checksum offload
            # spares it. Off, as if the hardware had verified: the stack configurations (a, b,
            # c) are measured at their cheapest. sipalg never verifies checksums anyway.
            self.sysctl(NS_R, "net.netfilter.nf_conntrack_checksum", 0, check=False)
        tx_checksum_off(NS_LAN, "eth0")
        tx_checksum_off(NS_INET, A.INET_IF)
        # The receivers: count-and-drop XDP on both end hosts, in every configuration.
        os.makedirs(MF_PINS, exist_ok=True)
        self.gen("attach-sink", "--dev", "eth0", "--pin", SINK_LAN, ns=NS_LAN, host_sys=True)
        self.gen("attach-sink", "--dev", A.INET_IF, "--pin", SINK_INET, ns=NS_INET,
                 host_sys=True)
        if self.cfg == "c":
            self.nft(NS_R, FLOWTABLE_NFT.replace("DEVS", "%s, %s" % (self.LAN_PORT, A.WAN_IF)))
        if self.cfg == "d":
            st = self.alg_status()
            self.info["sipalg_lan"] = [l.get("interface") for l in st.get("lan") or []]
            if not st.get("enabled") or not self.info["sipalg_lan"]:
                raise BenchError("sipalg not enabled or no LAN hook: %s" % json.dumps(st)[:600])
        if self.cfg == "e":
            mac_inet, mac_lan = self.mac(NS_INET, A.INET_IF), self.mac(NS_LAN, "eth0")
            self.gen("attach-redirect", "--dev", self.LAN_PORT, "--to", A.WAN_IF, "--dmac",
                     mac_inet, "--pin", MF_PINS + "/redir_out", ns=NS_R, host_sys=True)
            self.gen("attach-redirect", "--dev", A.WAN_IF, "--to", self.LAN_PORT, "--dmac",
                     mac_lan, "--pin", MF_PINS + "/redir_in", ns=NS_R, host_sys=True)
        # Neighbours resolved before anything is counted.
        if self.cfg == "0":
            nsx(NS_LAN, ["ping", "-c1", "-W1", "-I", lan_addrs[0].split("/")[0], REMOTE_IP],
                check=False)
        else:
            # Every phone address ARPs its gateway, as a real phone does (DHCP, first packet),
            # so the router has a neighbour entry for each: the ALG's fast path bypasses the
            # stack and never creates one itself.
            nsx(NS_LAN, ["sh", "-c", "for a in %s; do ping -c1 -W1 -I $a %s >/dev/null; done"
                         % (" ".join(a.split("/")[0] for a in lan_addrs), LAN_GW)],
                check=False, timeout=60)
            nsx(NS_INET, ["ping", "-c1", "-W1", WAN_IP], check=False)
            nsx(NS_R, ["ping", "-c1", "-W1", INET_IP], check=False)

    def _batch(self, ns, cmds):
        nsx(ns, ["ip", "-batch", "-"], input="\n".join(cmds) + "\n")

    # --- flows ---------------------------------------------------------------------------
    def write_flows(self, inbound_dst):
        """inbound_dst[f]: where the remote sends flow f's media (ip, port)."""
        lan = os.path.join(self.wd, "flows_lan.txt")
        inet = os.path.join(self.wd, "flows_inet.txt")
        with open(lan, "w") as fl, open(inet, "w") as fi:
            for f in range(self.a.flows):
                fl.write("%s %d %s %d\n" % (phone_ip(f, self.a.phones), media_port(f),
                                             REMOTE_IP, remote_port(f)))
                fi.write("%s %d %s %d\n" % (REMOTE_IP, remote_port(f), inbound_dst[f][0],
                                             inbound_dst[f][1]))
        return lan, inet

    def prime(self, fs, inbound_dst, inbound_first):
        """One packet per flow each way from Python sockets (the senders use the same
        ports later). Returns the sink counts it added (lan, inet)."""
        c0 = self.counts()
        order = ("in", "out") if inbound_first else ("out", "in")
        for d in order:
            socks = []
            try:
                for f in fs:
                    if d == "out":
                        s = udp_socket(NS_LAN, phone_ip(f, self.a.phones), media_port(f), 65536)
                        s.sendto(b"\x80" + b"\0" * 171, (REMOTE_IP, remote_port(f)))
                    else:
                        s = udp_socket(NS_INET, REMOTE_IP, remote_port(f), 65536)
                        s.sendto(b"\x80" + b"\0" * 171, tuple(inbound_dst[f]))
                    socks.append(s)
                    if len(socks) % 64 == 0:
                        time.sleep(0.001)
            finally:
                for s in socks:
                    s.close()
            time.sleep(0.05)
        time.sleep(0.1)
        c1 = self.counts()
        return c1[0] - c0[0], c1[1] - c0[1]

    def prepare(self):
        """Whatever the configuration needs before media flows; returns the flows files."""
        n = self.a.flows
        if self.cfg in ("0", "e"):
            dst = [(phone_ip(f, self.a.phones), media_port(f)) for f in range(n)]
        elif self.cfg in ("a", "c"):
            dst = [(WAN_IP, media_port(f)) for f in range(n)]  # masquerade keeps the port
        else:
            dst = self._sip_setup()
        if self.cfg not in ("b", "d"):
            got = self.prime(range(n), dst, inbound_first=False)
            self.info["prime"] = {"in_lan": got[0], "out_inet": got[1]}
            if got != (n, n):
                raise BenchError("config %s: priming one packet per flow arrived %d/%d "
                                 "WAN->LAN, %d/%d LAN->WAN" % (self.cfg, got[0], n, got[1], n))
        return self.write_flows(dst)

    def _sip_setup(self):
        n = self.a.flows
        st0 = self.alg_status() if self.cfg == "d" else None
        calls = SipCalls(n, self.a.phones, self.a.sip_batch)
        primed = [0, 0]
        t0 = time.monotonic()
        try:
            def after_batch(fs):
                # Inbound first: with the stateful firewall nothing gets in unless the ALG
                # (nf_nat_sip's expectations / sipalg's pinholes) let it.
                got = self.prime(fs, calls.public_media, inbound_first=True)
                primed[0] += got[0]
                primed[1] += got[1]
                if self.cfg == "b":
                    # nf_conntrack_sip leaves expectations the media never uses (RTCP both
                    # ways, the outbound RTP one shadowed by the conntrack the inbound packet
                    # made, the REGISTER's): ~4 per call, and a network namespace's table holds
                    # nf_conntrack_expect_max (4096, read-only outside the initial netns), so
                    # call ~1000 would fail with "expectation table full". The calls' media
                    # conntracks exist by now; drop the leftovers.
                    ex = nsx(NS_R, ["conntrack", "-L", "expect"], check=False).stdout
                    n_ex = len([l for l in ex.splitlines() if l.strip()])
                    self.info["expectations_max_seen"] = max(
                        n_ex, self.info.get("expectations_max_seen", 0))
                    nsx(NS_R, ["conntrack", "-F", "expect"], check=False)
            dst = calls.setup(after_batch)
            self.info["sip"] = dict(calls.stats, setup_s=round(time.monotonic() - t0, 2),
                                    public_media_sample=dst[:2],
                                    answer_media_sample=calls.answer_media[:2])
        finally:
            calls.close()
        self.info["prime"] = {"in_lan": primed[0], "out_inet": primed[1]}
        if primed != [n, n]:
            extra = ""
            if self.cfg == "d":
                extra = "; sipalg: %s" % json.dumps(self._alg_summary(st0, self.alg_status()))
            raise BenchError("config %s: after the SIP calls, one packet per flow arrived "
                             "%d/%d WAN->LAN (through the ALG), %d/%d LAN->WAN%s"
                             % (self.cfg, primed[0], n, primed[1], n, extra))
        if self.cfg == "d":
            st = self.alg_status()
            s = self._alg_summary(st0, st)
            self.info["sipalg_after_setup"] = s
            if s["bindings"] < n or s["pinholes"] < n or s["media_in"] < n or s["media_out"] < n:
                raise BenchError("config d: sipalg did not take the calls' media: %s" %
                                 json.dumps(s))
        if self.cfg == "b":
            ct = nsx(NS_R, ["conntrack", "-C"], check=False).stdout.strip()
            self.info["conntrack_entries"] = int(ct) if ct.isdigit() else ct
        return [tuple(x) for x in dst]

    @staticmethod
    def _alg_summary(st0, st):
        def ctr(s, k):
            c = s.get("counters") or {}
            return int(c.get(k, 0) or 0)
        out = {"enabled": st.get("enabled"),
               "bindings": int(st.get("bindings") or 0), "pinholes": int(st.get("pinholes") or 0)}
        for k in ("media_out", "media_in", "xdp_fwd", "xdp_out", "xdp_in_direct",
                  "csum_partial", "sip_out", "sip_in", "sip_rewritten",
                  "scope_miss", "pin_pending", "pin_limit_phone", "pin_limit_total",
                  "pin_no_port", "no_route", "dropped", "lan_pass", "wan_in_pass"):
            out[k] = ctr(st, k) - (ctr(st0, k) if st0 else 0)
        return out


# ------------------------------------------------------------------------------------------
# one measurement
# ------------------------------------------------------------------------------------------
def measure(cfg, args, rate, workdir):
    sb = Sandbox(cfg, args, workdir)
    t_setup = time.monotonic()
    try:
        sb.up()
        lan_flows, inet_flows = sb.prepare()
        setup_s = time.monotonic() - t_setup
        st0 = sb.alg_status() if cfg == "d" else None
        time.sleep(args.settle)
        # Idle baseline: the same sandbox, no traffic.
        i0 = cpu_snapshot()
        time.sleep(args.idle)
        idle = cpu_delta(i0, cpu_snapshot())

        c0 = sb.counts()
        x0 = sb.redirect_counts() if cfg == "e" else None
        per_dir = rate / 2.0 if rate else 0
        start_at = time.time() + args.start_margin
        common = ["--rate", "%.0f" % per_dir, "--duration", str(args.duration),
                  "--payload", str(args.payload), "--batch", str(args.batch),
                  "--step-us", str(args.step_us),
                  "--start-at", str(int(start_at * 1e9))]
        procs = []
        for ns, fl in ((NS_LAN, lan_flows), (NS_INET, inet_flows)):
            procs.append(subprocess.Popen(["ip", "netns", "exec", ns, args.gen, "send",
                                           "--flows", fl] + common,
                                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                          text=True, start_new_session=True))
        try:
            time.sleep(max(0.0, start_at - time.time()))
            s0, k0 = cpu_snapshot(), ksoftirqd_ns()
            time.sleep(max(0.0, start_at + args.duration - time.time()))
            win, k1 = cpu_delta(s0, cpu_snapshot()), ksoftirqd_ns()
            wall = win["wall"]
            outs = []
            for p in procs:
                o, e = p.communicate(timeout=args.duration + 30)
                if p.returncode != 0:
                    raise BenchError("sender exited %d: %s" % (p.returncode, e.strip()[:400]))
                outs.append(json.loads(o.strip().splitlines()[-1]))
        finally:
            for p in procs:
                if p.poll() is None:
                    os.killpg(p.pid, signal.SIGKILL)
                    p.wait()
        time.sleep(0.2)  # in flight
        c1 = sb.counts()
        x1 = sb.redirect_counts() if cfg == "e" else None
        st1 = sb.alg_status() if cfg == "d" else None
        # Second idle window after the traffic: the baseline is the mean of both, so a change
        # in the machine's background load during the run biases it less.
        i0 = cpu_snapshot()
        time.sleep(args.idle)
        idle_after = cpu_delta(i0, cpu_snapshot())
    finally:
        sb.down()

    busy = win["busy"]
    # busy jiffies per second with no traffic, before and after
    idle_rate = (idle["busy"] + idle_after["busy"]) / (idle["wall"] + idle_after["wall"])
    idle_ticks_rate = (idle["ticks"] + idle_after["ticks"]) / (idle["wall"] + idle_after["wall"])
    net_busy = busy - idle_rate * wall
    rx_in, rx_out = c1[0] - c0[0], c1[1] - c0[1]  # WAN->LAN at the LAN sink, LAN->WAN at inet
    rx = rx_in + rx_out
    sent_out, sent_in = outs[0]["sent"], outs[1]["sent"]
    sent = sent_out + sent_in
    ns_per = lambda j: (j * 1e9 / HZ / rx) if rx else float("nan")
    res = {
        "config": cfg, "rate_offered": rate, "wall_s": wall, "setup_s": setup_s,
        "sent_out": sent_out, "sent_in": sent_in, "send_errors": outs[0]["errors"] +
        outs[1]["errors"], "start_late_ms": [o["start_late_ns"] / 1e6 for o in outs],
        "rx_out": rx_out, "rx_in": rx_in, "rx_pps": rx / wall,
        "loss_pct": 100.0 * (1 - rx / sent) if sent else float("nan"),
        "busy_jiffies": busy, "idle_busy_per_s": idle_rate,
        "cpu_ns_per_pkt": ns_per(net_busy), "cpu_ns_per_pkt_raw": ns_per(busy),
        "idle_busy_per_s_before_after": [idle["busy"] / idle["wall"],
                                         idle_after["busy"] / idle_after["wall"]],
        "cpu_ns_per_pkt_ticks": ns_per(win["ticks"] - idle_ticks_rate * wall),
        # Cross-check that other jobs on the machine cannot inflate: CPU time of the two
        # senders (softirqs in their context included) + ksoftirqd, per packet received.
        "task_ns_per_pkt": ((outs[0]["cpu_ns"] + outs[1]["cpu_ns"] + k1 - k0) / rx
                            if rx else float("nan")),
        "sender_cpu_ns": [o["cpu_ns"] for o in outs], "ksoftirqd_ns": k1 - k0,
        "cpu_util_pct": 100.0 * busy / (NCPU * wall * HZ),
        # What the machine did without our traffic, % of all cores: high = a noisy machine.
        "background_pct": 100.0 * idle_rate / (NCPU * HZ),
        "per_cpu_busy_ticks": win["per_cpu"], "stat_fields": dict(zip(
            ("user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal"),
            win["fields"])),
        "info": sb.info,
    }
    if cfg == "e":
        # Every packet must have taken the XDP redirect, not the router's stack.
        res["xdp_redirected"] = [x1[0] - x0[0], x1[1] - x0[1]]
        if x1[0] - x0[0] < 0.99 * rx_out or x1[1] - x0[1] < 0.99 * rx_in:
            raise BenchError("config e: XDP redirected %d/%d LAN->WAN, %d/%d WAN->LAN" %
                             (x1[0] - x0[0], rx_out, x1[1] - x0[1], rx_in))
    if cfg == "d":
        s = Sandbox._alg_summary(st0, st1)
        res["sipalg"] = s
        # Every media packet of the run must have been the ALG's: otherwise the column would
        # measure the stack.
        res["alg_share_out"] = s["media_out"] / rx_out if rx_out else 0
        res["alg_share_in"] = s["media_in"] / rx_in if rx_in else 0
        if res["alg_share_out"] < 0.99 or res["alg_share_in"] < 0.99:
            raise BenchError("config d: sipalg counted media_out %d for %d packets received "
                             "LAN->WAN, media_in %d for %d received WAN->LAN: %s" %
                             (s["media_out"], rx_out, s["media_in"], rx_in, json.dumps(s)))
    return res


# ------------------------------------------------------------------------------------------
# flowtable support
# ------------------------------------------------------------------------------------------
def probe_flowtable():
    ns = PREFIX + "ftprobe"
    sh(["ip", "netns", "del", ns], check=False)
    try:
        sh(["ip", "netns", "add", ns])
        nsx(ns, ["ip", "link", "add", "p0", "type", "veth", "peer", "name", "p1"])
        p = nsx(ns, ["nft", "-f", "-"], check=False,
                input="table inet probe {\n  flowtable ft {\n    hook ingress priority filter;\n"
                      "    devices = { p0, p1 };\n  }\n}\n")
        return p.returncode == 0, (p.stderr or p.stdout).strip().splitlines()[:1]
    finally:
        sh(["ip", "netns", "del", ns], check=False)


# ------------------------------------------------------------------------------------------
# summary
# ------------------------------------------------------------------------------------------
med = benchlib.median


def summarize(runs, configs, phase):
    """Medians per configuration, "router" costs (X - config 0 of the same round) and the
    d/X ratios, each the median of the per-round values. At max rate the machine is
    saturated: other jobs' time is taken from the senders, not added to it, so the whole-
    machine figure is busy/packets without the idle-baseline subtraction."""
    METRICS = (("whole", "cpu_ns_per_pkt_raw" if phase == "max" else "cpu_ns_per_pkt"),
               ("task", "task_ns_per_pkt"))
    rs = [r for r in runs if r["phase"] == phase and "error" not in r]
    rounds = sorted({r["round"] for r in rs})
    get = {(r["round"], r["config"]): r for r in rs}
    summ = {}
    for c in configs:
        lst = [r for r in rs if r["config"] == c]
        if not lst:
            continue
        summ[c] = {
            "runs": len(lst),
            "offered_pps": med([(r["sent_out"] + r["sent_in"]) / r["wall_s"] for r in lst]),
            "rx_pps": med([r["rx_pps"] for r in lst]),
            "rx_out_pps": med([r["rx_out"] / r["wall_s"] for r in lst]),
            "rx_in_pps": med([r["rx_in"] / r["wall_s"] for r in lst]),
            "loss_pct": med([r["loss_pct"] for r in lst]),
            "cpu_ns_raw": med([r["cpu_ns_per_pkt_raw"] for r in lst]),
            "cpu_util_pct": med([r["cpu_util_pct"] for r in lst]),
            "background_pct": med([r["background_pct"] for r in lst]),
        }
        for name, key in METRICS:
            summ[c][name] = med([r[key] for r in lst])
            if c != "0":
                diffs = [get[(n, c)][key] - get[(n, "0")][key] for n in rounds
                         if (n, c) in get and (n, "0") in get]
                summ[c]["router_" + name] = med(diffs) if diffs else float("nan")
    ratios = {}
    for other in ("a", "b", "c", "e"):
        for name, key in METRICS:
            whole, router = [], []
            for n in rounds:
                d, o, z = get.get((n, "d")), get.get((n, other)), get.get((n, "0"))
                if not (d and o):
                    continue
                if name == "whole" and o[key] > 0:
                    whole.append(d[key] / o[key])
                if z and o[key] - z[key] > 0:
                    router.append((d[key] - z[key]) / (o[key] - z[key]))
            if whole:
                ratios["d/%s whole" % other] = {"median": med(whole), "values": whole}
            if router:
                ratios["d/%s router_%s" % (other, name)] = {"median": med(router),
                                                            "values": router}
    return summ, ratios


def fmt(x, nd=0):
    if x is None or x != x:
        return "-"
    return ("%%.%df" % nd) % x


def render(summary, ratios, configs, phase_label, ft_ok, errors, saturated=False):
    out = ["**%s**" % phase_label, "",
           "| config | offered kpps | received kpps (LAN→WAN / WAN→LAN) | loss %% | "
           "CPU ns/pkt, whole machine (%s) | router ns/pkt, whole machine − config 0 | "
           % ("busy, no idle subtraction: saturated" if saturated else "net of idle") +
           "cross-check: senders + ksoftirqd ns/pkt | router ns/pkt by the cross-check | "
           "CPU busy %, run / background | runs |",
           "|---|---|---|---|---|---|---|---|---|---|"]
    for c in configs:
        if c == "c" and not ft_ok:
            out.append("| c: %s | n/a: kernel lacks nf_flow_table |||||||||" % CONFIGS[c])
            continue
        s = summary.get(c)
        if not s:
            err = errors.get(c, "no successful run").replace("|", "/")
            out.append("| %s: %s | failed: %s |||||||||" % (c, CONFIGS[c], err[:200]))
            continue
        out.append("| %s: %s | %s | %s (%s / %s) | %s | %s | %s | %s | %s | %s | %d |" % (
            c, CONFIGS[c], fmt(s["offered_pps"] / 1e3), fmt(s["rx_pps"] / 1e3),
            fmt(s["rx_out_pps"] / 1e3), fmt(s["rx_in_pps"] / 1e3), fmt(s["loss_pct"], 2),
            fmt(s["whole"]), "-" if c == "0" else fmt(s.get("router_whole")),
            fmt(s["task"]), "-" if c == "0" else fmt(s.get("router_task")),
            "%s / %s" % (fmt(s["cpu_util_pct"]), fmt(s["background_pct"])), s["runs"]))
    out.append("")
    if ratios:
        out += ["| ratio (median of per-round ratios) | whole machine | router only, whole "
                "machine | router only, cross-check |", "|---|---|---|---|"]
        for other in ("a", "b", "c", "e"):
            if other == "c" and not ft_ok:
                out.append("| d/c | n/a | n/a | n/a |")
                continue
            v = [ratios.get("d/%s %s" % (other, k)) for k in ("whole", "router_whole",
                                                              "router_task")]
            if any(v):
                out.append("| d/%s | %s |" % (other, " | ".join(fmt(x and x["median"], 2)
                                                                for x in v)))
        out.append("")
    return "\n".join(out)


def targets(ratios, summary, ft_ok):
    """The media targets, judged on the router's own cost (config 0 subtracted): the
    whole-machine ratio includes the senders, which no router design can remove."""
    lines = []
    goals = [("(d) ≤ 1/3 of (a)", "a", 1 / 3), ("(d) ≤ 1/3 of (b)", "b", 1 / 3)]
    if ft_ok:
        goals.append(("(d) < (c)", "c", 1.0))
    goals.append(("(d) within 1.5× of (e)", "e", 1.5))
    for name, other, limit in goals:
        parts = []
        for key, label in (("router_whole", "router, whole machine"),
                           ("router_task", "router, cross-check")):
            r = ratios.get("d/%s %s" % (other, key))
            if not r:
                parts.append("%s: not measured" % label)
                continue
            v = r["median"]
            parts.append("%s %.2f → %s" % (label, v, "met" if v <= limit else
                                            "not met (%.1f× the target)" % (v / limit)))
        w = ratios.get("d/%s whole" % other)
        if w:
            parts.append("whole machine incl. senders %.2f" % w["median"])
        d, o = summary.get("d", {}), summary.get(other, {})
        if "router_whole" in d and "router_whole" in o:
            parts.append("router ns/pkt d %s vs %s %s (cross-check %s vs %s)" % (
                fmt(d["router_whole"]), other, fmt(o["router_whole"]), fmt(d["router_task"]),
                fmt(o["router_task"])))
        lines.append("- %s: %s" % (name, "; ".join(parts)))
    if not ft_ok:
        lines.append("- (d) < (c): not measurable, the kernel lacks nf_flow_table")
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------
# main
# ------------------------------------------------------------------------------------------
def find_binary(explicit, names):
    if explicit:
        return explicit
    cands = []
    for n in names:
        cands += glob.glob(os.path.join(REPO, n))
    cands = [c for c in cands if os.path.isfile(c) and os.access(c, os.X_OK)]
    cands = sorted(cands, key=lambda p: -os.path.getmtime(p))  # the newest build
    return cands[0] if cands else None


def machine_info():
    m = benchlib.machine("%Y-%m-%d %H:%M:%S %Z")
    rev = sh(["git", "-C", REPO, "describe", "--always", "--dirty"], check=False).stdout.strip()
    return {"date": m["date"], "kernel": m["kernel"], "cpu": m["cpu"], "cores": m["cpus"],
            "hz": HZ, "commit": rev or "?"}


def cmd_run(args):
    if os.geteuid() != 0:
        raise BenchError("run as root")
    if args.quick:
        args.runs, args.max_runs, args.duration = 1, 0, min(args.duration, 2.0)
    if not (1 <= args.flows <= MAX_FLOWS) or not (1 <= args.phones <= 100):
        raise BenchError("--flows 1..%d, --phones 1..100" % MAX_FLOWS)
    if not (0.5 <= args.duration <= 60) or not (1 <= args.runs <= 50) or not (
            0 <= args.max_runs <= 50):
        raise BenchError("--duration 0.5..60, --runs 1..50, --max-runs 0..50")
    configs = [c for c in args.configs.split(",") if c]
    for c in configs:
        if c not in CONFIGS:
            raise BenchError("unknown config %s" % c)
    args.gen = find_binary(args.gen, ["build*/bench/media_fwd_gen"])
    if not args.gen:
        raise BenchError("media_fwd_gen not built: cmake --build BUILD --target media_fwd_gen")
    if "d" in configs:
        args.sipalg = find_binary(args.sipalg, ["build*/sipalg"])
        if not args.sipalg:
            raise BenchError("sipalg not built (or pass --sipalg PATH)")
    try:
        lim = resource.getrlimit(resource.RLIMIT_NOFILE)
        want = min(lim[1], max(lim[0], 4 * args.flows + 256))
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, lim[1]))
    except (ValueError, OSError):
        pass
    ft_ok, ft_msg = probe_flowtable()
    ft_msg = " ".join(ft_msg)[:120]
    if not ft_ok:
        log("flowtable not available (%s): config c is n/a" % ft_msg)
    run_cfgs = [c for c in configs if c != "c" or ft_ok]
    info = machine_info()
    log("gen %s, sipalg %s; %s, %s, %d cores" % (args.gen, args.sipalg, info["kernel"],
                                                info["cpu"], info["cores"]))
    phases = [("fixed", args.rate, args.runs)]
    if args.max_runs:
        phases.append(("max", 0, args.max_runs))
    runs, errors = [], {}
    workdir = tempfile.mkdtemp(prefix="bmf-")
    t_start = time.monotonic()
    try:
        for phase, rate, nruns in phases:
            for rnd in range(nruns):
                for c in run_cfgs:
                    if time.monotonic() - t_start > args.time_limit:
                        raise BenchError("time limit of %d s reached" % args.time_limit)
                    log("%s rate, round %d/%d, config %s" % (phase, rnd + 1, nruns, c))
                    try:
                        r = measure(c, args, rate, workdir)
                    except BenchError as e:
                        log("config %s failed: %s" % (c, e))
                        errors[c] = str(e)
                        r = {"config": c, "error": str(e)}
                        if not args.keep_going:
                            raise
                    r.update(phase=phase, round=rnd)
                    runs.append(r)
                    if "error" not in r:
                        log("  rx %.0f kpps (out %.0f / in %.0f), loss %.2f%%, %.0f ns/pkt "
                            "(raw %.0f, cross-check %.0f), busy %.0f%%, background %.0f%%" % (
                                r["rx_pps"] / 1e3, r["rx_out"] / r["wall_s"] / 1e3,
                                r["rx_in"] / r["wall_s"] / 1e3, r["loss_pct"],
                                r["cpu_ns_per_pkt"], r["cpu_ns_per_pkt_raw"],
                                r["task_ns_per_pkt"], r["cpu_util_pct"], r["background_pct"]))
                    if args.json:  # progressively: a later failure keeps what was measured
                        benchlib.write_json(args.json, {"meta": info, "partial": True,
                                                        "runs": runs})
                    time.sleep(args.settle)
    finally:
        clean_all(args.sipalg)
        shutil.rmtree(workdir, ignore_errors=True)

    result = {"meta": info, "params": {k: v for k, v in vars(args).items() if k != "func"},
              "flowtable": {"available": ft_ok, "message": ft_msg}, "runs": runs,
              "summary": {}, "errors": errors}
    d_load = d_load_options(args) if "d" in run_cfgs else []
    md = ["## Media forwarding through the router namespace (bench/media_fwd/media_fwd.py)", "",
          "%s · kernel %s · %s, %d cores · commit %s" % (
              info["date"], info["kernel"], info["cpu"], info["cores"], info["commit"]), "",
          "Method: for each configuration a fresh namespace sandbox (LAN host ─ veth ─ router "
          "─ veth ─ Internet host; router LAN side %s). %d concurrent flows (one UDP socket "
          "per flow on each side, %d-byte payload) sent both ways at once by "
          "`bench/media_fwd_gen` (sendmmsg, %d packets per call, sockets round-robin, paced "
          "in randomised ~%d µs steps) for %.1f s; received = counted and dropped by an XDP "
          "program on each end host's veth (the same in every configuration; it also makes "
          "each veth accept XDP frames, as a NIC driver does, so sipalg attaches its LAN port "
          "XDP program and d's media goes XDP to XDP both ways, like e). The end hosts send "
          "with transmit checksum offload off: complete UDP checksums, as frames from a wire "
          "carry (the senders' extra work is in config 0 too); the router's conntrack does not "
          "verify them again (nf_conntrack_checksum=0, as with a NIC's receive checksum "
          "offload). b and d: the "
          "calls are set up by SIP through the router (REGISTER, INVITE/200 OK with SDP, ACK; "
          "one phone line per flow on %d phone addresses) and the media goes where the SDP "
          "the router rewrote says; checked before measuring: one packet per flow gets in "
          "from the WAN (the firewall drops unsolicited inbound, so only the ALG's "
          "expectations/pinholes can let it in), and for d sipalg's media_out/media_in "
          "counters cover every packet of the run; d loads sipalg with limits for %d phone "
          "lines per address (`%s`). "
          "CPU, whole machine: /proc/stat over all cores, busy = cores × wall − idle − iowait "
          "− steal (NO_HZ: the idle clock is exact; the tick-sampled user+system+softirq sum "
          "agrees and is in the JSON), minus the busy rate of %.2f s idle windows just "
          "before and after (same sandbox, no traffic), divided by packets received. Router ns/pkt = "
          "that minus config 0 (the two end hosts on one veth pair, no router) in the same "
          "round: what the router adds. Cross-check that other jobs on the machine cannot "
          "inflate: CPU time of the two sender processes (softirqs run in their context: "
          "forwarding and XDP on veth happen there) plus ksoftirqd, per packet. "
          "Configurations interleaved (%s), medians of the runs; ratios are medians of "
          "per-round ratios."
          % ("the e2e sandbox's router (`tests/e2e/sipalg_e2e/topo.py`), its LAN a bridge "
             "br-lan whose port to phone1's namespace carries the media",
             args.flows, args.payload, args.batch, args.step_us, args.duration, args.phones,
             -(-args.flows // args.phones), " ".join(d_load), args.idle, ", ".join(run_cfgs)),
          ""]
    table_txt = []
    for phase, rate, nruns in phases:
        summ, ratios = summarize(runs, configs, phase)
        result["summary"][phase] = {"configs": summ, "ratios": ratios}
        label = ("offered %d kpps (%d each way), %d runs" % (rate / 1e3, rate / 2e3, nruns)
                 if rate else "max rate (senders unpaced), %d runs" % nruns)
        t = render(summ, ratios, configs, label, ft_ok, errors, saturated=not rate)
        if phase == "fixed":
            t += "\nTargets, at the fixed rate:\n\n" + targets(ratios, summ, ft_ok) + "\n"
        table_txt.append(t)
    md += table_txt
    bg = med([r["background_pct"] for r in runs if "background_pct" in r])
    if bg > 5:
        warn = ("**Warning: the machine was busy with other work: %.0f%% of all cores in the "
                "idle windows (median). The whole-machine columns subtract that as an average "
                "and are unreliable; the cross-check columns are less affected.**" % bg)
        md.append(warn)
        table_txt.append(warn)
    if errors:
        md.append("Failures: " + "; ".join("%s: %s" % kv for kv in errors.items()))
    text = "\n".join(md) + "\n"
    print("\n".join(table_txt))
    if args.json:
        benchlib.write_json(args.json, result)
    if args.md:
        with open(args.md, "w") as f:
            f.write(text)
    return 1 if errors else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("cmd", nargs="?", choices=("run", "clean"), default="run",
                    help="run the benchmark (default) / remove what a killed run left behind")
    for p in (ap,):
        p.add_argument("--runs", type=int, default=5, help="rounds at the fixed rate (default 5)")
        p.add_argument("--max-runs", type=int, default=1,
                       help="extra rounds with unpaced senders (default 1; 0: none)")
        p.add_argument("--duration", type=float, default=3.0, help="seconds of traffic per run")
        p.add_argument("--rate", type=float, default=200000,
                       help="offered packets/s, both directions together (default 200000)")
        p.add_argument("--flows", type=int, default=1000, help="concurrent flows (default 1000)")
        p.add_argument("--phones", type=int, default=10,
                       help="LAN phone addresses the flows are spread over (default 10)")
        p.add_argument("--payload", type=int, default=200, help="UDP payload bytes (200)")
        p.add_argument("--batch", type=int, default=4, help="packets per sendmmsg call (4)")
        p.add_argument("--step-us", type=int, default=1000,
                       help="senders' mean pacing step in µs (randomised ±50%%; default 1000)")
        p.add_argument("--configs", default="0,a,b,c,d,e",
                       help="comma-separated, run in this order each round (0,a,b,c,d,e)")
        p.add_argument("--idle", type=float, default=0.75,
                       help="idle baseline window before and after the traffic, s (0.75)")
        p.add_argument("--settle", type=float, default=0.5, help="pause between steps (0.5)")
        p.add_argument("--start-margin", type=float, default=0.8,
                       help="senders set up their sockets, then start together after this")
        p.add_argument("--sip-batch", type=int, default=100,
                       help="calls set up before their media is primed (b, d)")
        p.add_argument("--time-limit", type=int, default=900, help="give up after this (s)")
        p.add_argument("--keep-going", action="store_true",
                       help="record a failing configuration and go on")
        p.add_argument("--quick", action="store_true", help="1 run, no max-rate round, 2 s")
        p.add_argument("--json", help="write all runs and the summary here")
        p.add_argument("--md", help="write a markdown section here")
        p.add_argument("--gen", help="media_fwd_gen binary (default: the newest build*/bench/...)")
        p.add_argument("--sipalg", help="sipalg binary (default: the newest build*/sipalg)")
    args = ap.parse_args()

    def on_term(signum, frame):
        raise KeyboardInterrupt()
    signal.signal(signal.SIGTERM, on_term)
    try:
        if args.cmd == "clean":
            clean_all(find_binary(args.sipalg, ["build*/sipalg"]))
            return 0
        return cmd_run(args)
    except BenchError as e:
        print("media_fwd: %s" % e, file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        clean_all(getattr(args, "sipalg", None))
        print("media_fwd: interrupted (cleaned up)", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
