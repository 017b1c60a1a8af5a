#!/usr/bin/python3
"""The daemon's TCP proxy under a connection flood, in the sandbox router (security R3):

  - phone1 registers over TCP through the proxy, so the registrar's address may open new
    connections to phone1's binding (the only way a WAN host reaches the proxy);
  - from that WAN address, 250 connections to the binding: 200 that stay idle and 50 that
    trickle a REGISTER one byte a second (slowloris), interleaved;
  - while they are held, phone1 refreshes its registration on its connection and phone2
    registers on a new one: each must be answered within 1 s;
  - the per-source cap (--tcp-max-conns-per-source 32) admits 32 and resets the other 218,
    counted as tcp_limit_source; phone3 then opens 20 idle connections of its own, of which
    the total cap (--tcp-max-conns 40 here) admits 6 (tcp_limit_total 14);
  - every admitted connection that never completes a message is closed at the handshake
    timeout (--tcp-handshake-timeout 4 here), counted as tcp_timeout_msg; the phones' quiet
    connections go at --tcp-idle (8 here), counted as tcp_timeout_idle;
  - the daemon's VmRSS before, at the peak of the flood and after stays bounded.
Prints the figures; exits 0 if every check holds. Root; namespaces prefixed stl-, torn down on
exit; every wait bounded (about 30 s in all).
"""
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
os.environ["SAE_PREFIX"] = "stl-"
os.environ["SAE_PIN_ROOT"] = "/sys/fs/bpf/sipalg-stl"
sys.path.insert(0, HERE)
from sipalg_e2e import addresses as A  # noqa: E402
from sipalg_e2e import topo  # noqa: E402
from sipalg_e2e import standalone  # noqa: E402

PHONE = A.PHONE_IP["phone1"]
REG = A.REGISTRAR_IP
MAX_CONNS, PER_SOURCE, HANDSHAKE_S, IDLE_S = 40, 32, 4, 8
IDLE_CONNS, SLOW_CONNS, FILL_CONNS = 200, 50, 20
RSS_BOUND_KIB = 16 * 1024

# A registrar on REG:5060 (TCP) that answers every REGISTER with a 200 OK; prints the source
# port of each REGISTER's connection (the phone's binding port) as a JSON line.
REGISTRAR = r"""
import json, re, selectors, socket, sys, time
ls = socket.socket(); ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind((sys.argv[1], 5060)); ls.listen(64); ls.setblocking(False)
sel = selectors.DefaultSelector(); sel.register(ls, selectors.EVENT_READ)
bufs = {}
print("ready", flush=True)
end = time.monotonic() + float(sys.argv[2])
while time.monotonic() < end:
    for key, _ in sel.select(0.2):
        s = key.fileobj
        if s is ls:
            c, _ = ls.accept(); c.setblocking(False)
            sel.register(c, selectors.EVENT_READ); bufs[c] = b""
            continue
        try:
            d = s.recv(65536)
        except OSError:
            d = b""
        if not d:
            sel.unregister(s); s.close(); bufs.pop(s, None); continue
        bufs[s] += d
        while b"\r\n\r\n" in bufs[s]:
            head, rest = bufs[s].split(b"\r\n\r\n", 1)
            bufs[s] = rest
            lines = head.decode("latin-1").split("\r\n")
            if not lines[0].startswith("REGISTER"):
                continue
            keep = [l for l in lines[1:] if l.split(":")[0].strip().lower() in
                    ("via", "from", "call-id", "cseq", "contact")]
            to = [l for l in lines[1:] if l.lower().startswith("to:")]
            resp = ("SIP/2.0 200 OK\r\n" + "\r\n".join(keep) + "\r\n" + to[0] + ";tag=r\r\n"
                    "Expires: 300\r\nContent-Length: 0\r\n\r\n")
            s.sendall(resp.encode())
            print(json.dumps({"register_from_port": s.getpeername()[1]}), flush=True)
"""

# A phone registering over TCP as phones do: one connection to the registrar, a REGISTER on it
# (time to its 200 OK printed as a JSON line), and a refresh on the same connection each time a
# line comes on stdin ("close" ends that); then it holds the connection until the proxy closes
# it (or `hold` s), printing how long that took.
REGISTER = r"""
import json, socket, sys, time
phone, reg, user, hold = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
def msg(n):
    return ("REGISTER sip:%s SIP/2.0\r\nVia: SIP/2.0/TCP %s:5060;branch=z9hG4bK-lim%d\r\n"
            "From: <sip:%s@%s>;tag=p%d\r\nTo: <sip:%s@%s>\r\nCall-ID: tcp-limits-%s\r\n"
            "CSeq: %d REGISTER\r\nContact: <sip:%s@%s:5060;transport=tcp>\r\n"
            "Expires: 300\r\nContent-Length: 0\r\n\r\n" %
            (reg, phone, n, user, reg, n, user, reg, user, n, user, phone)).encode()
s = socket.socket(); s.bind((phone, 0)); s.settimeout(3)
s.connect((reg, 5060))
n = 0
while True:
    n += 1
    t0 = time.monotonic()
    got = b""
    try:
        s.sendall(msg(n))
        while b"\r\n\r\n" not in got:
            d = s.recv(4096)
            if not d:
                break
            got += d
    except OSError:
        pass
    print(json.dumps({"answered": got.startswith(b"SIP/2.0 200"),
                      "latency_s": time.monotonic() - t0}), flush=True)
    if sys.stdin.readline().strip() != "again":
        break
s.settimeout(0.5)
t1 = time.monotonic()
closed = None
while time.monotonic() - t1 < hold:
    try:
        if not s.recv(4096):
            closed = time.monotonic() - t1; break
    except socket.timeout:
        continue
    except OSError:
        closed = time.monotonic() - t1; break
print(json.dumps({"closed_after_s": closed}), flush=True)
"""

# Phone1's SIP port: takes every connection the proxy opens to it and holds it.
PHONE_LISTENER = r"""
import socket, sys, time, json
ls = socket.socket(); ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind((sys.argv[1], 5060)); ls.listen(256); ls.settimeout(0.2)
held = []
print("ready", flush=True)
end = time.monotonic() + float(sys.argv[2])
while time.monotonic() < end:
    try:
        c, _ = ls.accept(); held.append(c)
    except socket.timeout:
        pass
print(json.dumps({"accepted": len(held)}), flush=True)
"""

# From the registrar's address: `idle` + `slow` connections to the binding, interleaved; the
# slow ones send one byte of a REGISTER a second. Prints "flooded" once every connect has been
# started, then, after `secs`, how many the proxy reset at once (within 1 s: refused) and when
# the others were closed.
FLOOD = r"""
import errno, json, select, socket, sys, time
src, dst, port, idle, slow, secs = sys.argv[1], sys.argv[2], int(sys.argv[3]), \
    int(sys.argv[4]), int(sys.argv[5]), float(sys.argv[6])
drip = b"REGISTER sip:x SIP/2.0\r\nVia: SIP/2.0/TCP x\r\n" * 4
total = idle + slow
every = total // slow if slow else 0
conns = []
t0 = time.monotonic()
for i in range(total):
    s = socket.socket(); s.setblocking(False); s.bind((src, 0))
    try:
        s.connect((dst, port))
    except BlockingIOError:
        pass
    conns.append({"s": s, "slow": bool(every) and i % every == 0 and
                  sum(c["slow"] for c in conns) < slow,
                  "open": True, "closed": None, "sent": 0})
print("flooded", flush=True)
last_drip = 0.0
while time.monotonic() - t0 < secs:
    now = time.monotonic() - t0
    live = [c for c in conns if c["open"]]
    if not live:
        break
    r, _, _ = select.select([c["s"] for c in live], [], [], 0.1)
    for c in live:
        if c["s"] in r:
            try:
                d = c["s"].recv(4096)
                if d:
                    continue
            except BlockingIOError:
                continue
            except OSError:
                pass
            c["open"], c["closed"] = False, now
    if now - last_drip >= 1.0:
        last_drip = now
        for c in conns:
            if c["open"] and c["slow"]:
                try:
                    c["s"].send(drip[c["sent"] % len(drip):][:1]); c["sent"] += 1
                except OSError:
                    c["open"], c["closed"] = False, now
closed = [c["closed"] for c in conns if c["closed"] is not None]
print(json.dumps({
    "opened": total,
    "reset_within_1s": sum(1 for t in closed if t < 1.0),
    "held": sum(1 for c in conns if c["closed"] is None or c["closed"] >= 1.0),
    "held_slow": sum(1 for c in conns if c["slow"] and (c["closed"] is None or c["closed"] >= 1.0)),
    "still_open": sum(1 for c in conns if c["open"]),
    "last_closed_s": max(closed) if closed else None,
    "slow_bytes_sent": max((c["sent"] for c in conns if c["slow"]), default=0),
}), flush=True)
"""


def status(t):
    return standalone.status(t)["counters"]


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return -1


def spawn(ns, script, *args):
    return subprocess.Popen(["ip", "netns", "exec", ns, sys.executable, "-c", script] +
                            [str(a) for a in args], stdout=subprocess.PIPE,
                            stdin=subprocess.PIPE, text=True)


def tell(p, line):
    p.stdin.write(line + "\n")
    p.stdin.flush()


def lines(p, timeout=30):
    out, _ = p.communicate(timeout=timeout)
    return [json.loads(line) for line in out.splitlines() if line.strip().startswith("{")]


def start_daemon(t, extra):
    """The default daemon goes; one with the test's limits takes its place."""
    t.stop_daemon()
    p = t.spawn(A.NS_ROUTER, [t.sipalg_bin, "daemon", "--wan", A.WAN_IF, "--pin-root",
                              topo.PIN_ROOT] + extra, "sipalg-daemon-limits.log", host_sys=True)
    t.daemon = p
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if p.poll() is not None:
            raise RuntimeError("the daemon exited with %d" % p.returncode)
        if '"daemon_attached":true' in t.alg_status_json().replace(" ", ""):
            return p
        time.sleep(0.1)
    raise RuntimeError("the daemon did not attach within 5 s")


def main():
    sipalg = standalone.sipalg_bin()
    failures = []
    workdir = tempfile.mkdtemp(prefix="sipalg-stl-")
    with topo.Topology("sipalg", workdir, sipalg) as t:
        daemon = start_daemon(t, ["--tcp-max-conns", str(MAX_CONNS),
                                  "--tcp-max-conns-per-source", str(PER_SOURCE),
                                  "--tcp-handshake-timeout", str(HANDSHAKE_S),
                                  "--tcp-idle", str(IDLE_S)])
        registrar = spawn(A.NS_INET, REGISTRAR, REG, 40)
        assert registrar.stdout.readline().strip() == "ready"
        listener = spawn(A.ns_phone("phone1"), PHONE_LISTENER, PHONE, 20)
        assert listener.stdout.readline().strip() == "ready"

        # The first REGISTER: confirms the TCP binding, tells us its public port.
        phone1 = spawn(A.ns_phone("phone1"), REGISTER, PHONE, REG, "1001", IDLE_S + 6)
        first = json.loads(phone1.stdout.readline())
        bport = json.loads(registrar.stdout.readline())["register_from_port"]
        if not first["answered"]:
            failures.append("the first REGISTER was not answered")
        before = status(t)
        rss0 = rss_kib(daemon.pid)

        flood = spawn(A.NS_INET, FLOOD, REG, A.ROUTER_WAN_IP, bport, IDLE_CONNS, SLOW_CONNS,
                      HANDSHAKE_S + 4)
        assert flood.stdout.readline().strip() == "flooded"
        time.sleep(1.5)  # every connection accepted or reset, the admitted ones held
        rss_peak = rss_kib(daemon.pid)
        mid = status(t)
        # Under the flood: phone1 refreshes on its connection, phone2 registers on a new one.
        tell(phone1, "again")
        refresh = json.loads(phone1.stdout.readline())
        tell(phone1, "close")
        phone2 = spawn(A.ns_phone("phone2"), REGISTER, A.PHONE_IP["phone2"], REG, "1002",
                       IDLE_S + 6)
        fresh = json.loads(phone2.stdout.readline())
        tell(phone2, "close")
        # The rest of the total: phone3 opens more than is left of --tcp-max-conns.
        fill = spawn(A.ns_phone("phone3"), FLOOD, A.PHONE_IP["phone3"], REG, 5060, FILL_CONNS, 0,
                     HANDSHAKE_S + 2)
        assert fill.stdout.readline().strip() == "flooded"
        rss_peak = max(rss_peak, rss_kib(daemon.pid))
        fl = lines(flood)[0]
        fi = lines(fill)[0]
        rss1 = rss_kib(daemon.pid)
        idle_closed = [c["closed_after_s"] for p in (phone1, phone2) for c in lines(p)
                       if "closed_after_s" in c]
        end = status(t)
        phone_side = lines(listener)

    d = lambda c, a, b: b[c] - a[c]  # noqa: E731
    refused = d("tcp_limit_source", before, end)
    refused_total = d("tcp_limit_total", before, end)
    timed_out = d("tcp_timeout_msg", before, end)
    idled = d("tcp_timeout_idle", before, end)
    fill_want = FILL_CONNS - (MAX_CONNS - PER_SOURCE - 2)
    print("binding port %d; flood of %d (%d idle, %d slowloris) from %s" % (
        bport, IDLE_CONNS + SLOW_CONNS, IDLE_CONNS, SLOW_CONNS, REG))
    print("per-source cap %d: %d reset by the proxy (tcp_limit_source %d, %d of them by 1.5 s); "
          "held %d (%d slowloris); the phone accepted %s proxied connections" % (
              PER_SOURCE, fl["reset_within_1s"], refused, d("tcp_limit_source", before, mid),
              fl["held"], fl["held_slow"], phone_side[0]["accepted"] if phone_side else "?"))
    print("total cap %d: phone3 opened %d, %d reset (tcp_limit_total %d), %d held" % (
        MAX_CONNS, FILL_CONNS, fi["reset_within_1s"], refused_total, fi["held"]))
    print("held connections closed by the handshake timeout (%d s): tcp_timeout_msg %d, last at "
          "%.1f s, %d still open; slowloris peers sent %d bytes each" % (
              HANDSHAKE_S, timed_out, fl["last_closed_s"] or -1, fl["still_open"],
              fl["slow_bytes_sent"]))
    print("REGISTER under the flood: phone1's refresh answered %s in %.3f s, phone2's new "
          "connection answered %s in %.3f s" % (refresh["answered"], refresh["latency_s"],
                                               fresh["answered"], fresh["latency_s"]))
    print("phone1's and phone2's quiet connections closed by --tcp-idle %d s after %s s; "
          "tcp_timeout_idle %d" % (IDLE_S, ["%.1f" % c for c in idle_closed if c], idled))
    print("daemon VmRSS: %d KiB before, %d KiB at the flood, %d KiB after" % (rss0, rss_peak,
                                                                              rss1))

    for what, r in (("phone1's refresh", refresh), ("phone2's REGISTER", fresh)):
        if not r["answered"] or r["latency_s"] >= 1.0:
            failures.append("%s under the flood was not answered within 1 s" % what)
    if refused != IDLE_CONNS + SLOW_CONNS - PER_SOURCE:
        failures.append("tcp_limit_source counted %d, want %d" % (
            refused, IDLE_CONNS + SLOW_CONNS - PER_SOURCE))
    if fl["reset_within_1s"] != refused:
        failures.append("the flood saw %d resets within 1 s, the daemon counted %d refusals" % (
            fl["reset_within_1s"], refused))
    if fl["held_slow"] < 1 or fl["held"] - fl["held_slow"] < 1:
        failures.append("the admitted flood was not a mix of idle and slowloris connections")
    if refused_total != fill_want or fi["reset_within_1s"] != fill_want:
        failures.append("total cap: tcp_limit_total %d, phone3 saw %d resets, want %d" % (
            refused_total, fi["reset_within_1s"], fill_want))
    if timed_out != PER_SOURCE + FILL_CONNS - fill_want or fl["still_open"] or fi["still_open"]:
        failures.append("tcp_timeout_msg %d (want %d), %d + %d connections still open" % (
            timed_out, PER_SOURCE + FILL_CONNS - fill_want, fl["still_open"], fi["still_open"]))
    if fl["last_closed_s"] is None or fl["last_closed_s"] > HANDSHAKE_S + 2.5:
        failures.append("the held flood connections were not closed by %.1f s" %
                        (HANDSHAKE_S + 2.5))
    if fl["slow_bytes_sent"] < 2:
        failures.append("the slowloris peers did not get to trickle (%d bytes)" %
                        fl["slow_bytes_sent"])
    if idled != 2 or len([c for c in idle_closed if c]) != 2:
        failures.append("the phones' quiet connections were not closed by --tcp-idle (%d)" %
                        idled)
    if d("tcp_overflow", before, end) or d("tcp_timeout_connect", before, end):
        failures.append("a limit this test does not reach was counted")
    if rss_peak - rss0 > RSS_BOUND_KIB or rss1 - rss0 > RSS_BOUND_KIB:
        failures.append("the daemon's RSS grew by more than %d KiB" % RSS_BOUND_KIB)
    return standalone.report(failures, "the flood was capped and timed out, the phones' "
                             "REGISTERs went through")


if __name__ == "__main__":
    sys.exit(main())
