#!/usr/bin/python3
"""Faults and lifecycle with calls up, through the sandbox router with sipalg and its daemon:

  kill:    a call with two-way media and a phone registered over TCP through the daemon's
           proxy; loader commands (enable, status, bindings, pinholes, dialogs) SIGKILLed
           mid-way, then the daemon SIGKILLed. Bindings, pinholes and dialogs stay, the media
           counters keep rising while the daemon is dead, status shows it not attached within
           a few seconds, and once it is restarted the TCP phone's next REGISTER goes through
           the proxy again (rewritten); the call ends with its audio intact.
  unload:  `unload` during a call: the daemon exits by itself, no pins, clsact qdiscs, XDP
           programs, nft tables, policy rules or routes of its table are left; `load` works.
  wan:     WAN link down/up and a second address keep every binding, pinhole and dialog; the
           old address removed (the new one in its place) moves the public address to the new
           one within seconds and flushes the old address's state; a phone then registers on
           the new address; the address gone with none in its place changes nothing; an
           address changed while no daemon ran is followed when the next one starts.
Prints what it measured; exits 0 if all hold. Root; namespaces flt-*, pin root
/sys/fs/bpf/sipalg-flt, all torn down on exit.
"""
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
os.environ["SAE_PREFIX"] = "flt-"
os.environ["SAE_PIN_ROOT"] = "/sys/fs/bpf/sipalg-flt"
sys.path.insert(0, HERE)
from sipalg_e2e import addresses as A  # noqa: E402
from sipalg_e2e import checks as C  # noqa: E402
from sipalg_e2e import env as E  # noqa: E402
from sipalg_e2e import topo  # noqa: E402
from sipalg_e2e.topo import PIN_ROOT  # noqa: E402

NEW_WAN_IP = "203.0.113.5"
LATER_WAN_IP = "203.0.113.6"
ROUTE_TABLE = "1306"  # the daemon's default --route-table

# Runs in a phone's namespace: one REGISTER over TCP per line on stdin, on the open connection
# or, if the other side closed it, on a new one; prints one JSON line per REGISTER.
TCP_PHONE = r"""
import json, select, socket, sys
ip, reg, user = sys.argv[1:4]
sock = None
for n, _ in enumerate(sys.stdin, 1):
    out = {"n": n, "new_connection": False}
    if sock is not None:
        try:
            r, _, _ = select.select([sock], [], [], 0)
            if r and not sock.recv(1, socket.MSG_PEEK):
                sock = None
        except OSError:
            sock = None
        if sock is None:
            out["closed_by_peer"] = True
    try:
        if sock is None:
            sock = socket.create_connection((reg, 5060), timeout=5, source_address=(ip, 0))
            out["new_connection"] = True
        port = sock.getsockname()[1]
        msg = ("REGISTER sip:%s SIP/2.0\r\nVia: SIP/2.0/TCP %s:%d;branch=z9hG4bK-flt%d;rport\r\n"
               "Max-Forwards: 70\r\nFrom: <sip:%s@%s>;tag=flt\r\nTo: <sip:%s@%s>\r\n"
               "Call-ID: flt-tcp-1\r\nCSeq: %d REGISTER\r\n"
               "Contact: <sip:%s@%s:%d;transport=tcp>\r\nExpires: 300\r\nContent-Length: 0\r\n\r\n"
               % (reg, ip, port, n, user, reg, user, reg, n, user, ip, port))
        sock.sendall(msg.encode())
        sock.settimeout(5)
        buf = b""
        while b"\r\n\r\n" not in buf:
            chunk = sock.recv(4096)
            if not chunk:
                break
            buf += chunk
        first = buf.split(b"\r\n", 1)[0].decode("latin-1")
        out["status"] = int(first.split()[1]) if first.startswith("SIP/2.0 ") else None
    except OSError as e:
        out["error"] = str(e)
        sock = None
    print(json.dumps(out), flush=True)
"""


class Failures(list):
    def check(self, ok, what):
        if not ok:
            self.append(what)
            print("FAIL: " + what, flush=True)
        return ok


def status(t):
    j = json.loads(t.alg_status_json())
    return j[0] if isinstance(j, list) else j


def entries(t, verb):
    out = t.sipalg(verb, "--wan", A.WAN_IF, "--pin-root", PIN_ROOT, "-j").stdout
    return json.loads(out)[verb]


def nat_state(t):
    """Bindings and pinholes by (private endpoint, public port), and the dialog count."""
    def key(e):
        return tuple(sorted((k, v) for k, v in e.items() if k in (
            "private", "public_port", "remote", "lan", "public")))
    return ({key(e) for e in entries(t, "bindings")}, {key(e) for e in entries(t, "pinholes")},
            len(entries(t, "dialogs")))


def media_counters(t):
    c = status(t)["counters"]
    return c["media_in"], c["media_out"]


def wait_until(what, timeout, step=0.1):
    end = time.monotonic() + timeout
    while True:
        v = what()
        if v or time.monotonic() >= end:
            return v
        time.sleep(step)


def router(t, *argv, check=True):
    return t.run(A.NS_ROUTER, list(argv), check=check).stdout


class TcpPhone:
    def __init__(self, t, name):
        self.p = subprocess.Popen(
            ["ip", "netns", "exec", A.ns_phone(name), sys.executable, "-c", TCP_PHONE,
             A.PHONE_IP[name], A.REGISTRAR_IP, A.PHONE_USER[name]],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, start_new_session=True)
        t.procs.append(self.p)  # the topology's teardown kills it

    def register(self):
        self.p.stdin.write("r\n")
        self.p.stdin.flush()
        return json.loads(self.p.stdout.readline() or "{}")


def stored_contacts(reg, user):
    return wait_until(lambda: reg.location(user), 3) or []


def kill_phase(t, env, f):
    reg = env.registrar()
    p1 = env.phone("phone1", duration=120)
    C.registered(p1, "phone1")
    tcp = TcpPhone(t, "phone2")
    r = tcp.register()
    f.check(r.get("status") == 200, "TCP REGISTER before the kill: %s" % r)
    contacts = stored_contacts(reg, A.PHONE_USER["phone2"])
    f.check(any(A.ROUTER_WAN_IP in c for c in contacts) and
            not any("192.168." in c for c in contacts),
            "TCP REGISTER before the kill not rewritten by the proxy: %s" % contacts)

    call = env.remote_call(A.PHONE_USER["phone1"], call_s=18, wait=False)
    if not wait_until(lambda: status(t)["dialogs"] >= 1 and status(t)["pinholes"] >= 2, 10):
        f.check(False, "the call made no dialog and pinholes within 10 s")
        return
    time.sleep(1.5)
    before = nat_state(t)

    # Loader commands killed mid-way: none may change or lose state.
    cmds = [["enable"], ["status"], ["bindings"], ["pinholes"], ["dialogs"]]
    rnd = random.Random(7)
    for i in range(15):
        p = subprocess.Popen(["nsenter", "--net=/run/netns/" + A.NS_ROUTER, t.sipalg_bin] +
                             cmds[i % len(cmds)] + ["--wan", A.WAN_IF, "--pin-root", PIN_ROOT],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rnd.uniform(0, 0.03))
        p.kill()
        p.wait(timeout=5)
    f.check(nat_state(t) == before, "state changed after 15 killed loader commands")

    m0 = media_counters(t)
    t0 = time.monotonic()
    os.killpg(t.daemon.pid, signal.SIGKILL)
    t.daemon.wait(timeout=5)
    seen_dead = wait_until(lambda: status(t)["daemon_attached"] is False, 8)
    dead_after = time.monotonic() - t0
    f.check(seen_dead, "status still says the daemon is attached 8 s after SIGKILL")
    text = t.sipalg("status", "--wan", A.WAN_IF, "--pin-root", PIN_ROOT, check=False).stdout
    f.check("stopped without detaching" in text, "status text: %s" % [
        line for line in text.splitlines() if "slow path" in line])
    time.sleep(max(0.0, 4 - (time.monotonic() - t0)))
    m1 = media_counters(t)
    f.check(m1[0] > m0[0] and m1[1] > m0[1],
            "media counters did not keep rising with the daemon dead: %s -> %s" % (m0, m1))
    after = nat_state(t)
    f.check(after == before, "state lost with the daemon killed: %s -> %s" % (before, after))
    print("kill: status showed the daemon not attached %.1f s after SIGKILL; media_in %d -> %d, "
          "media_out %d -> %d in the %.1f s without it; %d bindings, %d pinholes, %d dialogs kept"
          % (dead_after, m0[0], m1[0], m0[1], m1[1], time.monotonic() - t0, len(before[0]),
             len(before[1]), before[2]), flush=True)

    t.start_daemon()
    r = tcp.register()
    contacts = stored_contacts(reg, A.PHONE_USER["phone2"])
    f.check(r.get("status") == 200, "TCP REGISTER after the restart: %s" % r)
    f.check(any(A.ROUTER_WAN_IP in c for c in contacts) and
            not any("192.168." in c for c in contacts),
            "TCP REGISTER after the restart not rewritten: %s" % contacts)
    print("kill: after the restart the TCP phone's next REGISTER: %s (its old connection %s), "
          "stored %s" % (r.get("status"), "closed" if r.get("closed_by_peer") else "kept",
                         contacts), flush=True)
    call.wait(timeout=40)
    try:
        C.call_answered(call, "remote to 1001")
        print("kill: the call through the kill: " +
              C.media_both_ways(call, "out", "remote", p1, "in", "phone1"), flush=True)
    except Exception as e:  # runner.Fail
        f.check(False, "the call through the kill: %s" % e)
    p1.stop()


def leftovers(t):
    """What of sipalg is left in the router namespace (empty: nothing)."""
    left = []
    tables = router(t, "nft", "list", "tables")
    if "sipalg" in tables:
        left.append("nft: " + tables.strip())
    rules = [r for r in router(t, "ip", "-4", "rule", "show").splitlines() if "fwmark" in r]
    left += ["ip rule: " + r for r in rules]
    routes = router(t, "ip", "-4", "route", "show", "table", ROUTE_TABLE, check=False).strip()
    if routes:
        left.append("table %s: %s" % (ROUTE_TABLE, routes))
    links = json.loads(router(t, "ip", "-d", "-j", "link", "show"))
    for link in links:
        name = link["ifname"]
        if "xdp" in link:
            left.append("%s: xdp %s" % (name, link["xdp"]))
        q = router(t, "tc", "qdisc", "show", "dev", name)
        if "clsact" in q:
            left.append("%s: clsact qdisc" % name)
    if os.path.exists(os.path.join(PIN_ROOT, A.WAN_IF)):
        left.append("pins: " + " ".join(sorted(os.listdir(os.path.join(PIN_ROOT, A.WAN_IF)))))
    return left


def unload_phase(t, env, f):
    p3 = env.phone("phone3", duration=60)
    call = env.remote_call(A.PHONE_USER["phone3"], call_s=10, wait=False)
    f.check(wait_until(lambda: status(t)["dialogs"] >= 1, 10), "the unload call made no dialog")
    time.sleep(1)
    held = nat_state(t)
    t.sipalg("unload", "--wan", A.WAN_IF, "--pin-root", PIN_ROOT)
    exited = wait_until(lambda: t.daemon.poll() is not None, 5)
    f.check(exited, "the daemon still runs 5 s after unload")
    left = leftovers(t)
    f.check(not left, "left after unload: %s" % left)
    print("unload: with %d bindings, %d pinholes, %d dialogs up: daemon %s, left behind: %s" % (
        len(held[0]), len(held[1]), held[2], "exited" if exited else "STILL RUNNING",
        left or "nothing"), flush=True)
    t.sipalg("load", "--wan", A.WAN_IF, "--pin-root", PIN_ROOT)
    t.start_daemon()
    t.set_alg(True)
    st = status(t)
    f.check(st["healthy"] and st["daemon_attached"], "load after unload: %s" % st.get("problems"))
    call.wait(timeout=30)
    p3.stop()


def wan_phase(t, env, f):
    reg = env.registrar()
    t.sysctl(A.NS_ROUTER, "net.ipv4.conf.%s.promote_secondaries" % A.WAN_IF, 1)
    env.phone("phone1", duration=60)
    call = env.remote_call(A.PHONE_USER["phone1"], call_s=25, wait=False)
    f.check(wait_until(lambda: status(t)["dialogs"] >= 1 and status(t)["pinholes"] >= 2, 10),
            "the WAN call made no dialog and pinholes")
    time.sleep(1)
    held = nat_state(t)

    t.wan_link(False)
    time.sleep(2)
    t.wan_link(True)
    router(t, "ip", "route", "replace", "default", "via", A.INET_IP)
    time.sleep(1.5)
    st = status(t)
    f.check(st["public_ip"] == A.ROUTER_WAN_IP and nat_state(t) == held,
            "link down/up changed state: public %s, %s -> %s" % (st["public_ip"], held,
                                                                  nat_state(t)))
    router(t, "ip", "addr", "add", NEW_WAN_IP + "/24", "dev", A.WAN_IF)
    time.sleep(1.5)
    f.check(status(t)["public_ip"] == A.ROUTER_WAN_IP and nat_state(t) == held,
            "a second WAN address changed state")
    print("wan: link down 2 s / up and a second address: public %s, %d bindings, %d pinholes, "
          "%d dialogs kept" % (A.ROUTER_WAN_IP, len(held[0]), len(held[1]), held[2]), flush=True)

    t0 = time.monotonic()
    router(t, "ip", "addr", "del", A.ROUTER_WAN_IP + "/24", "dev", A.WAN_IF)
    router(t, "ip", "route", "replace", "default", "via", A.INET_IP)
    moved = wait_until(lambda: status(t)["public_ip"] == NEW_WAN_IP, 5)
    took = time.monotonic() - t0
    f.check(moved, "the public address did not follow the WAN to %s within 5 s" % NEW_WAN_IP)
    st = status(t)
    f.check((st["bindings"], st["pinholes"], st["dialogs"]) == (0, 0, 0),
            "the old address's state was not flushed: %d bindings, %d pinholes, %d dialogs" % (
                st["bindings"], st["pinholes"], st["dialogs"]))
    log = open(os.path.join(t.workdir, "sipalg-daemon.log")).read()
    f.check("WAN address %s -> %s" % (A.ROUTER_WAN_IP, NEW_WAN_IP) in log,
            "the daemon did not log the address change")
    print("wan: address %s -> %s: public address followed in %.1f s, flushed to %d bindings, "
          "%d pinholes, %d dialogs" % (A.ROUTER_WAN_IP, NEW_WAN_IP, took, st["bindings"],
                                       st["pinholes"], st["dialogs"]), flush=True)

    p2 = env.phone("phone2", duration=30)
    C.registered(p2, "phone2 on the new address")
    contacts = stored_contacts(reg, A.PHONE_USER["phone2"])
    f.check(any(NEW_WAN_IP in c for c in contacts), "phone2 registered as %s" % contacts)
    held = nat_state(t)
    router(t, "ip", "addr", "del", NEW_WAN_IP + "/24", "dev", A.WAN_IF)
    time.sleep(1.5)
    router(t, "ip", "addr", "add", NEW_WAN_IP + "/24", "dev", A.WAN_IF)
    router(t, "ip", "route", "replace", "default", "via", A.INET_IP)
    time.sleep(1.5)
    f.check(status(t)["public_ip"] == NEW_WAN_IP and nat_state(t) == held,
            "the address gone and back changed state")
    print("wan: phone2 registered as %s; the address gone 1.5 s and back: %d bindings kept" % (
        contacts, len(held[0])), flush=True)
    call.wait(timeout=40)

    # Changed while no daemon ran: the next daemon follows at its start.
    t.stop_daemon()
    router(t, "ip", "addr", "add", LATER_WAN_IP + "/24", "dev", A.WAN_IF)
    router(t, "ip", "addr", "del", NEW_WAN_IP + "/24", "dev", A.WAN_IF)
    router(t, "ip", "route", "replace", "default", "via", A.INET_IP)
    t.start_daemon()
    f.check(wait_until(lambda: status(t)["public_ip"] == LATER_WAN_IP, 3),
            "a daemon started after the address changed did not follow it")
    st = status(t)
    f.check(st["bindings"] == 0, "the old address's bindings survived a daemon start")
    print("wan: address changed to %s with no daemon running: the next daemon followed at start"
          % LATER_WAN_IP, flush=True)


def main():
    sipalg = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "..", "build",
                                                                  "sipalg")
    f = Failures()
    workdir = tempfile.mkdtemp(prefix="sipalg-flt-")
    with topo.Topology("sipalg", workdir, sipalg) as t:
        env = E.make_env(t, workdir, True)
        try:
            for phase in (kill_phase, unload_phase, wan_phase):
                try:
                    phase(t, env, f)
                except Exception as e:  # a phase that cannot go on; the others still run
                    f.check(False, "%s: %s: %s" % (phase.__name__, type(e).__name__, e))
        finally:
            env.close()
    if not f:
        print("PASS: faults and lifecycle (logs in %s)" % workdir)
    return 1 if f else 0


if __name__ == "__main__":
    sys.exit(main())
