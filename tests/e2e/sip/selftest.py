#!/usr/bin/python3
"""Self-test of the SIP toolkit on a small routed topology WITHOUT NAT or ALG.

  sdt-p1/2/3 (192.168.10.11-13, 2001:db8:10::11-13) -- br-lan in sdt-rtr (plain
  forwarding) -- sdt-inet (203.0.113.10 registrar, 203.0.113.20 hosted proxy,
  198.51.100.20 remote UA, 2001:db8:ff::10/20)

Checks that Kamailio, the SIPp scenarios and rtp_peer do what the e2e harness
needs.  Prints PASS/FAIL per item; exit status 0 when all pass.  Tears the
namespaces down on exit (also on Ctrl-C / SIGTERM).  Needs root.

    sudo /usr/bin/python3 tests/e2e/sip/selftest.py [--rtp-peer PATH] [--workdir DIR] [--keep]
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, str(Path(__file__).resolve().parent))
import toolkit as T  # noqa: E402

NS = ["sdt-p1", "sdt-p2", "sdt-p3", "sdt-rtr", "sdt-inet"]
REG = "203.0.113.10"
HOSTED = "203.0.113.20"
REMOTE = "198.51.100.20"
REG6 = "2001:db8:ff::10"
REMOTE6 = "2001:db8:ff::20"
PHONES = {"sdt-p1": ("192.168.10.11", "2001:db8:10::11", "1001"),
          "sdt-p2": ("192.168.10.12", "2001:db8:10::12", "1002"),
          "sdt-p3": ("192.168.10.13", "2001:db8:10::13", "1003")}


def sh(*argv: str, check: bool = True) -> subprocess.CompletedProcess:
    r = subprocess.run(list(argv), capture_output=True, text=True, timeout=20)
    if check and r.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)}: {r.stderr.strip()}")
    return r


def topo_down() -> None:
    existing = sh("ip", "netns", "list", check=False).stdout
    for ns in NS:
        if any(line.split()[0] == ns for line in existing.splitlines() if line.strip()):
            sh("ip", "netns", "del", ns, check=False)


def topo_up() -> None:
    topo_down()
    for ns in NS:
        sh("ip", "netns", "add", ns)
        sh("ip", "-n", ns, "link", "set", "lo", "up")
    r = ["ip", "-n", "sdt-rtr"]
    sh(*r, "link", "add", "br-lan", "type", "bridge")
    sh(*r, "link", "set", "br-lan", "up")
    sh(*r, "addr", "add", "192.168.10.1/24", "dev", "br-lan")
    sh(*r, "addr", "add", "2001:db8:10::1/64", "dev", "br-lan", "nodad")
    for i, (ns, (ip4, ip6, _)) in enumerate(PHONES.items(), 1):
        sh("ip", "link", "add", "eth0", "netns", ns, "type", "veth", "peer", "name", f"lan{i}", "netns", "sdt-rtr")
        sh(*r, "link", "set", f"lan{i}", "master", "br-lan", "up")
        p = ["ip", "-n", ns]
        sh(*p, "link", "set", "eth0", "up")
        sh(*p, "addr", "add", f"{ip4}/24", "dev", "eth0")
        sh(*p, "addr", "add", f"{ip6}/64", "dev", "eth0", "nodad")
        sh(*p, "route", "add", "default", "via", "192.168.10.1")
        sh(*p, "-6", "route", "add", "default", "via", "2001:db8:10::1")
    sh("ip", "link", "add", "wan0", "netns", "sdt-rtr", "type", "veth", "peer", "name", "inet0", "netns", "sdt-inet")
    sh(*r, "link", "set", "wan0", "up")
    sh(*r, "addr", "add", "203.0.113.1/24", "dev", "wan0")
    sh(*r, "addr", "add", "2001:db8:ff::1/64", "dev", "wan0", "nodad")
    sh(*r, "route", "add", "default", "via", "203.0.113.2")
    sh(*r, "-6", "route", "add", "default", "via", "2001:db8:ff::2")
    sh("ip", "netns", "exec", "sdt-rtr", "sysctl", "-qw", "net.ipv4.ip_forward=1",
       "net.ipv6.conf.all.forwarding=1")
    i = ["ip", "-n", "sdt-inet"]
    sh(*i, "link", "set", "inet0", "up")
    for a in ("203.0.113.2/24", "203.0.113.10/24", "203.0.113.20/24", "198.51.100.20/24"):
        sh(*i, "addr", "add", a, "dev", "inet0")
    for a in ("2001:db8:ff::2/64", "2001:db8:ff::10/64", "2001:db8:ff::20/64"):
        sh(*i, "addr", "add", a, "dev", "inet0", "nodad")
    sh(*i, "route", "add", "192.168.10.0/24", "via", "203.0.113.1")
    sh(*i, "-6", "route", "add", "2001:db8:10::/64", "via", "2001:db8:ff::1")


class Results:
    def __init__(self) -> None:
        self.items: list[tuple[str, bool, str]] = []

    def check(self, name: str, ok: bool, detail: str = "") -> bool:
        self.items.append((name, bool(ok), detail))
        print(f"{'PASS' if ok else 'FAIL'}  {name}{('  -- ' + detail) if detail else ''}", flush=True)
        return bool(ok)


def both_ways(a: dict | None, b: dict | None, ratio: float = 0.9) -> tuple[bool, str]:
    """a and b are the two ends' rtp_peer results: each must have received >= ratio of what the
    other sent."""
    if not a or not b:
        return False, f"missing media result (a={bool(a)}, b={bool(b)})"
    ok = (a["sent"] > 0 and b["sent"] > 0 and b["received"] >= ratio * a["sent"]
          and a["received"] >= ratio * b["sent"])
    return ok, f"A sent {a['sent']} B got {b['received']}; B sent {b['sent']} A got {a['received']}"


def for_call(results: list[dict], call_id: str | None) -> dict | None:
    for r in results:
        if r.get("tag") == call_id:
            return r
    return None


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rtp-peer")
    ap.add_argument("--workdir")
    ap.add_argument("--keep", action="store_true", help="keep the workdir (logs)")
    args = ap.parse_args()
    if os.geteuid() != 0:
        print("selftest needs root (network namespaces)", file=sys.stderr)
        return 2

    wd = Path(args.workdir or tempfile.mkdtemp(prefix="sdt-selftest-"))
    wd.mkdir(parents=True, exist_ok=True)
    rtp_peer = args.rtp_peer or T.find_rtp_peer()
    if not rtp_peer:
        print("building rtp_peer ...", flush=True)
        rtp_peer = T.build_rtp_peer(wd / "build")
    print(f"workdir {wd}\nrtp_peer {rtp_peer}", flush=True)

    def on_term(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)  # also when started in the background (SIG_IGN inherited)
    signal.signal(signal.SIGHUP, on_term)
    t_start = time.monotonic()
    res = Results()
    handles: list = []
    tk = T.Toolkit(rtp_peer=rtp_peer)

    def keep(h):
        handles.append(h)
        return h

    try:
        topo_up()
        reg = keep(tk.start_registrar("sdt-inet", [REG, REG6], wd))

        # 1. register phone1 + phone2 (and the remote UA as 2001)
        p1 = keep(tk.start_phone("sdt-p1", "192.168.10.11", "1001", REG, wd, duration=60, expires=60))
        p2 = keep(tk.start_phone("sdt-p2", "192.168.10.12", "1002", REG, wd, duration=60, expires=60))
        rem = keep(tk.start_phone("sdt-inet", REMOTE, "2001", REG, wd, duration=60, media_port=30000))
        loc1, loc2 = reg.location("1001"), reg.location("1002")
        res.check("register phone1+phone2 (+remote 2001)",
                  p1.registered and p2.registered and rem.registered
                  and loc1 == ["sip:1001@192.168.10.11:5060;transport=UDP"]
                  and loc2 == ["sip:1002@192.168.10.12:5060;transport=UDP"],
                  f"1001={loc1} 1002={loc2} 2001={reg.location('2001')}")

        # 2. remote calls phone2: rings phone2 only, media both ways
        c = keep(tk.call("sdt-inet", REMOTE, "2001", REG, f"sip:1002@{REG}", wd, call_s=3,
                         media_port=31000))
        cid = c.sent("INVITE")[0].call_id if c.sent("INVITE") else None
        p2.wait_media(1, timeout=5, kind="in")
        ok_media, det = both_ways(for_call(c.media_results("out"), cid),
                                  for_call(p2.media_results("in"), cid))
        res.check("remote -> phone2: phone2 rings, phone1 does not, BYE ok",
                  c.ok and len(p2.received("INVITE")) == 1 and len(p1.received("INVITE")) == 0
                  and len(p2.received("BYE")) == 1,
                  f"rc={c.rc} p2 INVITE={len(p2.received('INVITE'))} p1 INVITE={len(p1.received('INVITE'))}")
        res.check("remote -> phone2: RTP both ways > 90%", ok_media, det)

        # 3a. phone1 calls remote (separate SIPp on 5062) with media
        c = keep(tk.call("sdt-p1", "192.168.10.11", "1001", REG, f"sip:2001@{REG}", wd, call_s=3,
                         media_port=41000))
        cid = c.sent("INVITE")[0].call_id if c.sent("INVITE") else None
        rem.wait_media(1, timeout=5, kind="in")
        ok_media, det = both_ways(for_call(c.media_results("out"), cid),
                                  for_call(rem.media_results("in"), cid))
        res.check("phone1 -> remote (port 5062): call + RTP both ways", c.ok and ok_media,
                  f"rc={c.rc} {det}")

        # 3b. phone3 registers and calls from the same socket (5060)
        p3 = keep(tk.start_phone("sdt-p3", "192.168.10.13", "1003", REG, wd, duration=4,
                                 call_to=f"sip:2001@{REG}", calls=1, call_s=2, call_delay_s=1,
                                 unregister=True))
        p3.wait(timeout=20)
        outs = p3.wait_media(1, timeout=5, kind="out")
        cid = p3.sent("INVITE")[0].call_id if p3.sent("INVITE") else None
        srcports = {m.headers_all("Via")[0].split()[1].split(";")[0]
                    for m in p3.sent() if m.is_request and m.headers_all("Via")}
        rem.wait_media(2, timeout=5, kind="in")
        ok_media, det = both_ways(for_call(outs, cid), for_call(rem.media_results("in"), cid))
        res.check("phone3 registers + calls from one socket (5060)",
                  p3.ok and ok_media and srcports == {"192.168.10.13:5060"},
                  f"rc={p3.rc} via={sorted(srcports)} {det}")

        # 4. MWI NOTIFY to phone2
        n = keep(tk.send_notify("sdt-inet", REMOTE, "2001", REG, f"sip:1002@{REG}", wd))
        nots = [m for m in p2.received("NOTIFY") if "message-summary" in (m.header("Event") or "")]
        res.check("NOTIFY message-summary reaches phone2 (not phone1)",
                  n.ok and len(nots) == 1 and "Messages-Waiting: yes" in nots[0].body
                  and not p1.received("NOTIFY"),
                  f"rc={n.rc} p2 NOTIFY={len(nots)} p1 NOTIFY={len(p1.received('NOTIFY'))}")

        # 5. REFER in dialog + sipfrag NOTIFY back
        c = keep(tk.call("sdt-inet", REMOTE, "2001", REG, f"sip:1002@{REG}", wd, call_s=1,
                         refer_to=f"sip:1003@{REG}", refer_after_s=1, media_port=31000))
        frag = [m for m in c.received("NOTIFY") if "sipfrag" in (m.header("Content-Type") or "")]
        res.check("in-dialog REFER -> 202 + NOTIFY sipfrag 200",
                  c.ok and len(p2.received("REFER")) == 1 and len(c.received_responses("REFER", 202)) == 1
                  and len(frag) == 1 and frag[0].body.startswith("SIP/2.0 200"),
                  f"rc={c.rc} p2 REFER={len(p2.received('REFER'))} frag={[f.body.strip() for f in frag]}")

        # 6. TCP: phone registers over TCP, remote calls it over TCP
        pt = keep(tk.start_phone("sdt-p3", "192.168.10.13", "1003", REG, wd, duration=20,
                                 transport="tcp", name="phone-1003-tcp"))
        loct = reg.location("1003")
        c = keep(tk.call("sdt-inet", REMOTE, "2001", REG, f"sip:1003@{REG}", wd, call_s=2,
                         transport="tcp", media_port=31000))
        cid = c.sent("INVITE")[0].call_id if c.sent("INVITE") else None
        pt.wait_media(1, timeout=5, kind="in")
        ok_media, det = both_ways(for_call(c.media_results("out"), cid),
                                  for_call(pt.media_results("in"), cid))
        tcp_msgs = all(m.transport == "TCP" for m in pt.messages())
        res.check("TCP register + incoming call + RTP",
                  pt.registered and loct == ["sip:1003@192.168.10.13:5060;transport=TCP"] and c.ok
                  and ok_media and tcp_msgs and len(pt.received("INVITE")) == 1,
                  f"loc={loct} rc={c.rc} all-TCP={tcp_msgs} {det}")
        pt.stop()

        # 7. large SDP INVITE over UDP (> 1400 bytes)
        c = keep(tk.call("sdt-p1", "192.168.10.11", "1001", REG, f"sip:2001@{REG}", wd, call_s=2,
                         large_sdp=True, media_port=41000))
        invs = rem.received("INVITE")
        big = [m for m in invs if len(m.raw) > 1400 and "m=video" in m.body and "a=candidate" in m.body]
        sizes = [len(m.raw.replace("\n", "\r\n")) for m in c.sent("INVITE")]
        res.check("large SDP INVITE (>1400 B, audio+video+ICE) over UDP, answered",
                  c.ok and bool(big) and sizes and min(sizes) > 1400 and
                  all(m.transport == "UDP" for m in c.sent("INVITE")),
                  f"rc={c.rc} sent sizes={sizes} big received={len(big)}")

        # 8. un-REGISTER phone2 (one-shot, same port), then IPv6 register + call
        p2.stop()
        u = keep(tk.sipp_register("sdt-p2", "192.168.10.12", "1002", REG, wd, expires=0))
        res.check("one-shot un-REGISTER (Expires 0) removes phone2's binding",
                  u.ok and reg.location("1002") == [], f"rc={u.rc} loc={reg.location('1002')}")
        p6 = keep(tk.start_phone("sdt-p2", "2001:db8:10::12", "1002", REG6, wd, duration=15,
                                 name="phone-1002-v6", media_port=42000))
        c = keep(tk.call("sdt-inet", REMOTE6, "2001", REG6, f"sip:1002@[{REG6}]", wd, call_s=2,
                         media_port=32000))
        cid = c.sent("INVITE")[0].call_id if c.sent("INVITE") else None
        p6.wait_media(1, timeout=5, kind="in")
        ok_media, det = both_ways(for_call(c.media_results("out"), cid),
                                  for_call(p6.media_results("in"), cid))
        res.check("IPv6 register + call + RTP", p6.registered and c.ok and ok_media,
                  f"loc={reg.location('1002')} rc={c.rc} {det}")
        p6.stop()

        # 9. hosted proxy: registers through it, stores contact, OPTIONS keepalive answered
        hosted = keep(tk.start_registrar("sdt-inet", HOSTED, wd, hosted=True))
        ph = keep(tk.start_phone("sdt-p3", "192.168.10.13", "1003", HOSTED, wd, duration=15,
                                 name="phone-1003-hosted", expires=30))
        o = keep(tk.send_options("sdt-inet", REMOTE, "2001", HOSTED, f"sip:1003@{HOSTED}", wd))
        res.check("hosted proxy: register + OPTIONS routed to phone",
                  ph.registered and hosted.location("1003") and o.ok and len(ph.received("OPTIONS")) >= 1,
                  f"loc={hosted.location('1003')} options rc={o.rc}")

        # 10. un-REGISTER removes the binding; re-register loop with short expires
        pr = keep(tk.start_phone("sdt-p1", "192.168.10.11", "1001", REG, wd, expires=5,
                                 reregister_every=2, duration=5, unregister=True,
                                 name="phone-1001-rereg", port=5070))
        pr.wait(timeout=20)
        regs = pr.registrations()
        left = [c_ for c_ in reg.location("1001") if ":5070" in c_]
        res.check("re-REGISTER every 2 s (Expires 5) then un-REGISTER",
                  pr.ok and len(regs) >= 4 and all(st == 200 for _, st in regs) and not left,
                  f"registrations={regs} left={left}")

        # nothing leaked: all rtp_peers done/killed after stop
        for h in handles:
            h.stop()
        leftovers = sum(h.media_running() for h in handles if isinstance(h, T.UA))
        res.check("no rtp_peer left running after stop()", leftovers == 0, f"running={leftovers}")
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        res.check("selftest completed", False, "interrupted")
    except Exception as e:  # noqa: BLE001
        traceback.print_exc()
        res.check("selftest completed", False, repr(e))
    finally:
        for h in reversed(handles):
            try:
                h.stop()
            except Exception:  # noqa: BLE001
                pass
        topo_down()
        if not args.keep and not args.workdir:
            shutil.rmtree(wd, ignore_errors=True)
        else:
            print(f"logs kept in {wd}")

    failed = [n for n, ok, _ in res.items if not ok]
    print(f"\n{len(res.items) - len(failed)}/{len(res.items)} passed in {time.monotonic() - t_start:.1f}s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
