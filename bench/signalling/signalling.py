#!/usr/bin/python3
"""SIP signalling through the router: transactions/s and added latency.

For each router mode (none: nftables masquerade + stateful firewall; linux: the same + `ct
helper "sip"`, i.e. nf_conntrack_sip/nf_nat_sip; sipalg: the same + sipalg enabled, with its
slow-path daemon), on the e2e harness's sandbox (tests/e2e/sipalg_e2e/topo.py, run here under
the namespace prefix bsg- and the pin root /sys/fs/bpf/sipalg-bsg so it never touches an e2e
run), two SIPp workloads from a phone on the LAN to a SIPp user agent on the Internet side:

  register: REGISTER -> 200                                  (to 203.0.113.10)
  call:     INVITE+SDP -> 100 -> 200+SDP -> ACK -> pause -> BYE -> 200   (to 198.51.100.20)

at increasing rates (calls/s; a REGISTER is one "call"), one short step each, until a step
is not clean: more than 1% of the calls fail or do not finish, or retransmissions exceed 1% of
the messages, or SIPp could not even start calls at 90% of the rate asked for (then SIPp, not
the router, is the limit; noted as such). Per mode: the highest clean rate.

Latency: SIPp's response times (-trace_rtt) have a resolution of 1 ms and include SIPp's own
scheduling, far coarser than what a router adds to a message. So at a low and a moderate rate
(--latency-rates; cold and warm caches) the router namespace also runs a packet capture
(AF_PACKET, kernel timestamps) on all its interfaces: a message's transit time is the time it
left the router (wan0 or the phone's bridge port, outgoing) minus the time it arrived there
(the other side, incoming); the medians per message type and mode, and their difference to
`none`, are the added latency per message. The latency steps are repeated in a second round
with the modes in reverse order (--latency-rounds), and pooled, because the machine's load
drifts. SIPp's median response time is reported beside it.

A single SIPp process per side on a 2-core machine: if every mode tops out at the same rate,
the load generator, not the router, is the limit; the table shows SIPp's CPU use per step.

  signalling.py [--modes none,linux,sipalg] [--workloads register,call]
                [--rates 100,200,400,800,1600,3200,6400,12800,25600] [--step-seconds 2]
                [--pause-ms 500]
                [--latency-rates 100,800] [--latency-rounds 2] [--sipalg PATH] [--quick]
                [--md FILE] [--json FILE]

Root. Everything (namespaces bsg-*, pins under /sys/fs/bpf/sipalg-bsg) is torn down on exit,
also on failure and Ctrl-C. Default run: about 4 minutes.
"""

import argparse
import json
import os
import re
import resource
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "lib"))
import benchlib  # noqa: E402
PREFIX = "bsg-"
PIN_ROOT = "/sys/fs/bpf/sipalg-bsg"

SCENARIOS = {
    "register": ("signalling_register_uac.xml", "signalling_register_uas.xml"),
    "call": ("signalling_call_uac.xml", "signalling_call_uas.xml"),
}
# Messages per call on the wire (for the retransmission ratio): REGISTER + 200;
# INVITE + 100 + 200 + ACK + BYE + 200.
MSGS_PER_CALL = {"register": 2, "call": 6}
# One UAC socket offers far more requests a second than sipalg's per-address flood limits
# allow: off, so that the steps measure the router's processing, not the limit.
RATE_OFF = [("--register-rate", 0), ("--invite-rate", 0)]
MODE_TITLES = {"none": "none (masquerade)", "linux": "linux (nf_nat_sip)", "sipalg": "sipalg"}
# Call-number-derived media ports (signalling_call_*.xml): 30000 + 2 x calls must stay a port.
MAX_CALLS_PER_STEP = 17000

SO_TIMESTAMPNS = 35
ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4


def log(msg):
    print(msg, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------
# capture (runs as a child inside the router namespace: `signalling.py _capture ...`)
# ---------------------------------------------------------------------------------------------

def capture_main(out, ready, max_seconds):
    """Every IPv4/UDP packet to or from port 5060 on any interface of this namespace, with the
    kernel's timestamp: records of (ns, pkttype, ifname, frame)."""
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
    try:
        s.setsockopt(socket.SOL_SOCKET, 33, 16 << 20)  # SO_RCVBUFFORCE
    except OSError:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16 << 20)
    s.settimeout(0.2)
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    deadline = time.monotonic() + max_seconds
    with open(out, "wb") as f:
        open(ready, "w").close()
        while not stop and time.monotonic() < deadline:
            try:
                data, anc, _, addr = s.recvmsg(65535, 64)
            except socket.timeout:
                continue
            except InterruptedError:
                continue
            # Ethernet + IPv4 + UDP with port 5060 on either side.
            if len(data) < 42 or data[12:14] != b"\x08\x00" or data[23] != 17:
                continue
            ihl = (data[14] & 0x0F) * 4
            sport, dport = struct.unpack_from("!HH", data, 14 + ihl)
            if 5060 not in (sport, dport):
                continue
            ts = 0
            for level, typ, val in anc:
                if level == socket.SOL_SOCKET and typ == SO_TIMESTAMPNS and len(val) >= 16:
                    sec, nsec = struct.unpack_from("qq", val)
                    ts = sec * 1000000000 + nsec
            if not ts:
                ts = time.time_ns()
            name = addr[0].encode()[:16]
            f.write(struct.pack("<qB16sI", ts, addr[2], name, len(data)))
            f.write(data)
    return 0


def read_capture(path):
    with open(path, "rb") as f:
        data = f.read()
    off, hdr = 0, struct.calcsize("<qB16sI")
    while off + hdr <= len(data):
        ts, pkttype, name, n = struct.unpack_from("<qB16sI", data, off)
        off += hdr
        yield ts, pkttype, name.rstrip(b"\0").decode(), data[off:off + n]
        off += n


def sip_key(frame):
    """(label, identity) of the SIP message in an Ethernet frame, or None. The identity survives
    the ALG's rewriting: start line token, Call-ID up to '@', CSeq."""
    ihl = (frame[14] & 0x0F) * 4
    payload = frame[14 + ihl + 8:]
    try:
        text = payload.decode("latin-1")
    except Exception:
        return None
    head = text.split("\r\n\r\n", 1)[0]
    lines = head.split("\r\n")
    if not lines:
        return None
    first = lines[0].split(" ")
    if first[0] == "SIP/2.0" and len(first) > 1:
        token = first[1]
    else:
        token = first[0]
    callid = cseq = ""
    for ln in lines[1:]:
        low = ln[:9].lower()
        if low.startswith("call-id:") or low.startswith("i:"):
            callid = ln.split(":", 1)[1].strip().split("@", 1)[0]
        elif low.startswith("cseq:"):
            cseq = " ".join(ln.split(":", 1)[1].split())
    if not callid or not cseq:
        return None
    method = cseq.split(" ")[-1]
    label = token if not token.isdigit() else "%s (%s)" % (token, method)
    return label, (token, callid, cseq)


def transit_times(path, wan_if):
    """Per message label: router transit times (µs), from the first arrival on one side to the
    first departure on the other. Outbound: a LAN port in -> wan_if out; inbound: wan_if in ->
    a LAN port (not the bridge device) out."""
    first = {}
    for ts, pkttype, ifname, frame in read_capture(path):
        k = sip_key(frame)
        if not k:
            continue
        label, ident = k
        out = pkttype == PACKET_OUTGOING
        if ifname == wan_if:
            side = "wan"
        elif ifname.startswith("lan-p"):
            side = "lan"
        else:
            continue
        slot = first.setdefault(ident, {"label": label})
        slot.setdefault((side, out), ts)
    res = {}
    for ident, s in first.items():
        if ("lan", False) in s and ("wan", True) in s:
            d, direction = s[("wan", True)] - s[("lan", False)], "out"
        elif ("wan", False) in s and ("lan", True) in s:
            d, direction = s[("lan", True)] - s[("wan", False)], "in"
        else:
            continue
        if 0 <= d < 1e9:
            res.setdefault("%s %s" % (s["label"], "→" if direction == "out" else "←"), []).append(
                d / 1000.0)
    return res


# ---------------------------------------------------------------------------------------------
# SIPp
# ---------------------------------------------------------------------------------------------

def parse_stat_csv(path):
    """The last line of a SIPp -trace_stat file, as a dict of the cumulative (C) columns."""
    try:
        with open(path, errors="replace") as f:
            lines = [ln for ln in f.read().splitlines() if ln.strip()]
    except FileNotFoundError:
        return {}
    if len(lines) < 2:
        return {}
    names = lines[0].rstrip(";").split(";")
    vals = lines[-1].rstrip(";").split(";")
    return dict(zip(names, vals))


def stat_int(st, name):
    try:
        return int(float(st.get(name, "0")))
    except ValueError:
        return 0


def stat_float(st, name):
    try:
        return float(st.get(name, "nan"))
    except ValueError:
        return float("nan")


def read_rtt(stepdir):
    """SIPp -trace_rtt samples by rtd number: lists of (time since start ms, response ms)."""
    out = {}
    for fn in os.listdir(stepdir):
        if not fn.endswith("_rtt.csv"):
            continue
        with open(os.path.join(stepdir, fn), errors="replace") as f:
            for ln in f:
                parts = ln.strip().split(";")
                if len(parts) < 3 or not parts[2].isdigit():
                    continue
                try:
                    out.setdefault(int(parts[2]), []).append((float(parts[0]), float(parts[1])))
                except ValueError:
                    pass
    return out


def udp_drops(ns):
    """UDP datagrams the namespace's sockets dropped for want of buffer (RcvbufErrors)."""
    try:
        out = subprocess.run(["ip", "netns", "exec", ns, "cat", "/proc/net/snmp"],
                             capture_output=True, text=True, timeout=10).stdout
    except subprocess.TimeoutExpired:
        return 0
    lines = [ln.split() for ln in out.splitlines() if ln.startswith("Udp:")]
    if len(lines) < 2:
        return 0
    d = dict(zip(lines[0][1:], lines[1][1:]))
    return int(d.get("RcvbufErrors", 0))


class Bench:
    def __init__(self, args, topo_mod, addr):
        self.args = args
        self.topo_mod = topo_mod
        self.A = addr
        self.procs = []

    def popen(self, ns, argv, cwd, log_name):
        logf = open(os.path.join(cwd, log_name), "wb")
        p = subprocess.Popen(["ip", "netns", "exec", ns] + argv, cwd=cwd, stdout=logf,
                             stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                             start_new_session=True)
        logf.close()
        self.procs.append(p)
        return p

    def kill_all(self):
        self.topo_mod.kill_all(self.procs)
        self.procs = []

    def wait(self, p, timeout):
        try:
            return p.wait(timeout=max(0.1, timeout))
        except subprocess.TimeoutExpired:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            p.wait(timeout=5)
            return None

    def step(self, workload, rate, seconds, stepdir, capture=False):
        """One SIPp run at `rate` calls/s for `seconds`; returns its figures."""
        A, a = self.A, self.args
        os.makedirs(stepdir, exist_ok=True)
        uac_xml, uas_xml = (os.path.join(HERE, x) for x in SCENARIOS[workload])
        server = A.REGISTRAR_IP if workload == "register" else A.REMOTE_IP
        phone = "phone1"
        calls = max(1, int(round(rate * seconds)))
        if workload == "call":
            calls = min(calls, MAX_CALLS_PER_STEP)
        pause_s = a.pause_ms / 1000.0 if workload == "call" else 0
        # SIPp's own bound: the calls, their tail (pause, a retransmission or two) and slack.
        limit_s = int(seconds + pause_s + 12)
        common = ["-nostdin", "-trace_stat", "-fd", "1", "-timeout", "%ds" % limit_s,
                  "-max_retrans", "3", "-trace_err", "-buff_size", str(4 << 20)]
        uas = self.popen(A.NS_INET, ["sipp", "-sf", uas_xml, "-i", server, "-p", "5060",
                                     "-m", str(calls), "-stf", "uas.csv"] + common, stepdir,
                         "uas.log")
        cap = None
        if capture:
            ready = os.path.join(stepdir, "capture.ready")
            cap = self.popen(A.NS_ROUTER, [sys.executable, os.path.abspath(__file__), "_capture",
                                           "--out", os.path.join(stepdir, "capture.bin"),
                                           "--ready", ready, "--max-seconds",
                                           str(limit_s + 10)], stepdir, "capture.log")
            deadline = time.monotonic() + 5
            while not os.path.exists(ready) and time.monotonic() < deadline:
                time.sleep(0.02)
        time.sleep(0.3)  # the UAS binds its socket
        drops0 = (udp_drops(A.ns_phone(phone)), udp_drops(A.NS_INET))
        ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.monotonic()
        uac = self.popen(A.ns_phone(phone),
                         ["sipp", "%s:5060" % server, "-sf", uac_xml, "-i", A.PHONE_IP[phone],
                          "-p", "5060", "-r", str(rate), "-rp", "1000", "-m", str(calls),
                          "-l", str(max(100, int(rate * (pause_s + 5)))),
                          "-d", str(a.pause_ms), "-stf", "uac.csv", "-trace_rtt",
                          "-rtt_freq", "1"] + common, stepdir, "uac.log")
        rc_uac = self.wait(uac, limit_s + 5)
        wall = time.monotonic() - t0
        ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        rc_uas = self.wait(uas, 3)
        ru2 = resource.getrusage(resource.RUSAGE_CHILDREN)
        drops1 = (udp_drops(A.ns_phone(phone)), udp_drops(A.NS_INET))
        transit = {}
        if cap is not None:
            try:
                os.killpg(cap.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            self.wait(cap, 5)
            try:
                transit = transit_times(os.path.join(stepdir, "capture.bin"), A.WAN_IF)
            except FileNotFoundError:
                transit = {}
        st = parse_stat_csv(os.path.join(stepdir, "uac.csv"))
        sts = parse_stat_csv(os.path.join(stepdir, "uas.csv"))
        created = stat_int(st, "TotalCallCreated")
        ok = stat_int(st, "SuccessfulCall(C)")
        failed = stat_int(st, "FailedCall(C)")
        retr = stat_int(st, "Retransmissions(C)") + stat_int(sts, "Retransmissions(C)")
        rtt = read_rtt(stepdir)
        cpu_uac = (ru1.ru_utime + ru1.ru_stime) - (ru0.ru_utime + ru0.ru_stime)
        cpu_uas = (ru2.ru_utime + ru2.ru_stime) - (ru1.ru_utime + ru1.ru_stime)
        # The rate the first transaction completed at (one per call, in call order): SIPp's
        # achieved call rate, unless the router delays or loses them (then calls fail too).
        first = sorted(t for t, _ in rtt.get(1, []))
        achieved = ((len(first) - 1) * 1000.0 / (first[-1] - first[0])
                    if len(first) > 1 and first[-1] > first[0] else float("nan"))
        res = {
            "rate": rate, "seconds": seconds, "calls": calls, "created": created, "ok": ok,
            "failed": failed, "unfinished": max(0, calls - ok - failed),
            "retransmissions": retr, "messages": calls * MSGS_PER_CALL[workload],
            "uac_exit": rc_uac, "uas_exit": rc_uas, "wall_s": round(wall, 2),
            "uac_cpu_s": round(cpu_uac, 3), "uas_cpu_s": round(cpu_uas, 3),
            "udp_drops_uac": drops1[0] - drops0[0], "udp_drops_uas": drops1[1] - drops0[1],
            "rtt_ms": {str(k): [v for _, v in samples] for k, samples in rtt.items()},
            "transit_us": transit,
        }
        bad = (calls - ok) / calls
        res["fail_ratio"] = bad
        res["retrans_ratio"] = retr / res["messages"]
        # SIPp kept the rate? If it fell behind (its own CPU), the router was not the limit.
        res["achieved_rate"] = round(achieved, 1) if achieved == achieved else None
        res["generator_limited"] = bool(achieved == achieved and achieved < 0.9 * rate and
                                        bad <= 0.01 and res["retrans_ratio"] <= 0.01)
        res["clean"] = (bad <= 0.01 and res["retrans_ratio"] <= 0.01 and
                        not res["generator_limited"])
        return res


def alg_counters(topo):
    try:
        j = json.loads(topo.alg_status_json())
    except Exception:
        return {}
    out = {}

    def walk(o):
        if isinstance(o, dict):
            for k, v in o.items():
                if isinstance(v, (int, float)) and not isinstance(v, bool):
                    out[k] = v
                else:
                    walk(v)
        elif isinstance(o, list):
            for v in o:
                walk(v)
    walk(j)
    return out


def run_mode(bench, mode, args, workdir, rnd, result):
    """Bring the sandbox up in `mode`, run the workloads, tear it down. Round 0 runs the ramp
    (its steps at the latency rates capture); later rounds only the latency steps, so that the
    latency figures of the modes come from interleaved runs on a machine whose load drifts."""
    tm = bench.topo_mod
    base = os.path.join(workdir, "round%d" % rnd, mode)
    topo = benchlib.loads_with_options(tm.Topology)(mode, base, sipalg_bin=args.sipalg)
    if mode == "sipalg":
        topo.load_extra = benchlib.load_options(args.sipalg, RATE_OFF)
    topo.up()
    try:
        for wl in args.workloads:
            w = result["workloads"].setdefault(wl, {"steps": [], "latency": {}})
            if "error" in w:
                continue
            wdir = os.path.join(base, wl)
            if rnd > 0:
                for lr in args.latency_rates:
                    lat = bench.step(wl, lr, args.step_seconds,
                                     os.path.join(wdir, "latency%d" % lr), capture=True)
                    w["latency"].setdefault(str(lr), []).append(lat)
                    log("[%s] %s: latency round %d at %d/s: ok %d/%d, %d messages timed" % (
                        mode, wl, rnd, lr, lat["ok"], lat["calls"],
                        sum(len(v) for v in lat["transit_us"].values())))
                continue
            log("[%s] %s: smoke test" % (mode, wl))
            smoke = bench.step(wl, 20, 0.5, os.path.join(wdir, "smoke"))
            if smoke["ok"] < smoke["calls"]:
                w["error"] = "smoke test: %d of %d calls succeeded (logs: %s)" % (
                    smoke["ok"], smoke["calls"], os.path.join(wdir, "smoke"))
                log("[%s] %s: smoke test failed: %d/%d" % (mode, wl, smoke["ok"], smoke["calls"]))
                continue
            before = alg_counters(topo) if mode == "sipalg" else {}
            for lr in args.latency_rates:
                if lr not in args.rates:
                    # A step of its own, with the capture running.
                    w["latency"].setdefault(str(lr), []).append(bench.step(
                        wl, lr, args.step_seconds, os.path.join(wdir, "latency%d" % lr),
                        capture=True))
            for rate in args.rates:
                # The step at the latency rate runs the capture (at a moderate rate its cost
                # is small and the same in every mode) and doubles as a ramp step.
                r = bench.step(wl, rate, args.step_seconds, os.path.join(wdir, "r%d" % rate),
                               capture=rate in args.latency_rates)
                if rate in args.latency_rates:
                    w["latency"].setdefault(str(rate), []).append(r)
                w["steps"].append(r)
                log("[%s] %s %5d/s: ok %d/%d failed %d retrans %d (%.1f%%) achieved %s/s "
                    "sipp cpu uac %.0f%% uas %.0f%%, udp rcvbuf drops uac %d uas %d -> %s" % (
                        mode, wl, rate, r["ok"], r["calls"], r["failed"], r["retransmissions"],
                        100 * r["retrans_ratio"], r["achieved_rate"],
                        100 * r["uac_cpu_s"] / max(r["wall_s"], 1e-3),
                        100 * r["uas_cpu_s"] / max(r["wall_s"], 1e-3),
                        r["udp_drops_uac"], r["udp_drops_uas"],
                        "clean" if r["clean"] else
                        ("SIPp could not keep the rate" if r["generator_limited"] else "FAIL")))
                if not r["clean"]:
                    break
            after = alg_counters(topo) if mode == "sipalg" else {}
            w["alg_counters"] = {k: after[k] - before.get(k, 0) for k in after
                                 if after[k] != before.get(k, 0)}
            time.sleep(0.5)
    finally:
        bench.kill_all()
        topo.down()


# ---------------------------------------------------------------------------------------------
# report
# ---------------------------------------------------------------------------------------------

med = benchlib.median


def summarize(results, args):
    """Per mode and workload: highest clean rate, first unclean step, latencies."""
    rows = []
    for res in results:
        for wl in args.workloads:
            w = res["workloads"].get(wl)
            if w is None:
                continue
            if "error" in w:
                rows.append({"mode": res["mode"], "workload": wl, "error": w["error"]})
                continue
            best, limit = 0, None
            for s in w["steps"]:
                if s["clean"]:
                    best = s["rate"]
                else:
                    limit = s
                    break
            # Latency, per rate: the samples of every round pooled; per-round medians show
            # the drift.
            lat_by_rate = {}
            for lr, rounds in w["latency"].items():
                pooled_t, pooled_r, per_round = {}, {}, []
                for lat in rounds:
                    for k, v in lat["transit_us"].items():
                        pooled_t.setdefault(k, []).extend(v)
                    for k, v in lat["rtt_ms"].items():
                        pooled_r.setdefault(k, []).extend(v)
                    per_round.append((
                        med([x for k, v in lat["transit_us"].items() if k.endswith("→")
                             for x in v]),
                        med([x for k, v in lat["transit_us"].items() if k.endswith("←")
                             for x in v])))
                outs = [x for k, v in pooled_t.items() if k.endswith("→") for x in v]
                ins = [x for k, v in pooled_t.items() if k.endswith("←") for x in v]
                lat_by_rate[lr] = {
                    "rtt_ms": {k: med(v) for k, v in pooled_r.items()},
                    "transit_us": {k: med(v) for k, v in pooled_t.items()},
                    "transit_out_us": med(outs), "transit_in_us": med(ins),
                    "per_round": per_round, "timed_messages": len(outs) + len(ins),
                    "clean": all(lat["clean"] for lat in rounds)}
            rows.append({
                "mode": res["mode"], "workload": wl, "best_rate": best,
                "tested_to": w["steps"][-1]["rate"] if w["steps"] else 0,
                "limit": None if limit is None else {
                    "rate": limit["rate"], "fail_ratio": limit["fail_ratio"],
                    "retrans_ratio": limit["retrans_ratio"],
                    "generator_limited": limit["generator_limited"],
                    "sipp_drops": limit["udp_drops_uac"] + limit["udp_drops_uas"]},
                "latency": lat_by_rate,
                "sipp_cpu_top": max((100 * s["uac_cpu_s"] / max(s["wall_s"], 1e-3)
                                     for s in w["steps"]), default=float("nan")),
                "alg_counters": w.get("alg_counters", {}),
            })
    return rows


def fmt_us(v):
    return "-" if v != v else "%.1f" % v


def render(rows, results, args, meta):
    L = []
    L.append("## Signalling: SIP transactions/s and added latency (`bench/signalling/signalling.py`)")
    L.append("")
    L.append("%s, kernel %s, %s, %d CPUs." % (meta["date"], meta["kernel"], meta["cpu"],
                                              meta["cpus"]))
    L.append("")
    L.append("Method: the e2e sandbox (`tests/e2e/sipalg_e2e/topo.py`: phones on a LAN bridge, a "
             "router namespace with nftables masquerade + stateful firewall, the Internet "
             "namespace), one SIPp UAC on phone1 (one UDP socket, port 5060) and one SIPp UAS on "
             "the Internet side. Workloads: *register* = REGISTER -> 200 (one SIPp call each, a "
             "new Call-ID); *call* = INVITE with SDP -> 100 -> 200 with SDP -> ACK -> %d ms pause "
             "-> BYE -> 200, each call with its own media ports (so each opens its own pinholes "
             "or conntrack expectations; no media is sent). Rates step up (%s per second, %g s "
             "each) until a step is not clean: > 1%% of the calls failed or unfinished, or "
             "retransmissions > 1%% of the messages, or SIPp could not keep the rate. "
             "T1 = 500 ms, a transaction fails after 4 s. sipalg is loaded with its "
             "per-address request rates off (%s)." % (
                 args.pause_ms, ", ".join(str(r) for r in args.rates), args.step_seconds,
                 " ".join("`%s %s`" % kv for kv in RATE_OFF)))
    L.append("")
    L.append("### Highest clean rate")
    L.append("")
    L.append("| mode | workload | highest clean rate (/s) | first failing step | SIPp UAC CPU at the top |")
    L.append("|---|---|---:|---|---:|")
    for r in rows:
        if "error" in r:
            L.append("| %s | %s | - | %s | - |" % (MODE_TITLES[r["mode"]], r["workload"], r["error"]))
            continue
        lim = r["limit"]
        if lim is None:
            why = "none up to %d/s (the highest step tried)" % r["tested_to"]
        elif lim["generator_limited"]:
            why = "%d/s: SIPp could not keep the rate" % lim["rate"]
        else:
            why = "%d/s: %.1f%% calls failed, %.1f%% retransmissions" % (
                lim["rate"], 100 * lim["fail_ratio"], 100 * lim["retrans_ratio"])
            if lim["sipp_drops"]:
                why += ("; SIPp's own sockets dropped %d datagrams (SIPp fell behind; on 2 "
                        "shared cores that includes CPU taken by the router's work)" %
                        lim["sipp_drops"])
        L.append("| %s | %s | %d | %s | %.0f%% |" % (MODE_TITLES[r["mode"]], r["workload"],
                                                       r["best_rate"], why, r["sipp_cpu_top"]))
    for wl in args.workloads:
        wr = [r for r in rows if r.get("workload") == wl and "error" not in r]
        if len(wr) < 2:
            continue
        if all(r["limit"] is None for r in wr):
            L.append("")
            L.append("%s: no mode failed up to %d/s, the highest step tried (raise --rates to "
                     "find the limit)." % (wl, max(r["tested_to"] for r in wr)))
        elif len({r["best_rate"] for r in wr}) == 1:
            gen = any(r["limit"] and (r["limit"]["generator_limited"] or r["limit"]["sipp_drops"])
                      for r in wr)
            L.append("")
            L.append("%s: all modes top out at the same rate (%d/s)%s: the limit is this "
                     "2-core machine running one SIPp per side next to the router's softirq "
                     "work, not a difference in the routers' SIP handling." % (
                         wl, wr[0]["best_rate"],
                         ", and at the next step SIPp itself fell behind (it could not keep the "
                         "rate, or its own sockets dropped datagrams)" if gen else ""))
    L.append("")
    L.append("Every step (calls/s: result, SIPp UAC CPU; \"SIPp sockets dropped\": datagrams the "
             "UAC's or UAS's own socket dropped for want of buffer, i.e. the load generator "
             "fell behind):")
    L.append("")
    rates = sorted({s["rate"] for res in results for w in res["workloads"].values()
                    for s in w.get("steps", [])})
    L.append("| mode | workload | " + " | ".join("%d/s" % x for x in rates) + " |")
    L.append("|---|---|" + "---|" * len(rates))
    for res in results:
        for wl in args.workloads:
            w = res["workloads"].get(wl) or {}
            by = {s["rate"]: s for s in w.get("steps", [])}
            cells = []
            for x in rates:
                st = by.get(x)
                if st is None:
                    cells.append("")
                    continue
                cpu = 100 * st["uac_cpu_s"] / max(st["wall_s"], 1e-3)
                if st["clean"]:
                    cells.append("ok, %.0f%%" % cpu)
                elif st["generator_limited"]:
                    cells.append("SIPp %.0f/s, %.0f%%" % (st["achieved_rate"] or 0, cpu))
                else:
                    drops = st.get("udp_drops_uac", 0) + st.get("udp_drops_uas", 0)
                    cells.append("**%.1f%% fail, %.1f%% retr**, %.0f%%%s" % (
                        100 * st["fail_ratio"], 100 * st["retrans_ratio"], cpu,
                        ", SIPp sockets dropped %d" % drops if drops else ""))
            L.append("| %s | %s | %s |" % (res["mode"], wl, " | ".join(cells)))
    L.append("")
    L.append("### Added latency per message")
    L.append("")
    L.append("Router transit time per message: kernel timestamps of an AF_PACKET capture on all "
             "of the router's interfaces, from the message's arrival (phone's bridge port or "
             "`wan0`, incoming) to its departure on the other side (outgoing); median µs. The "
             "capture's own cost is the same in every mode (each message crosses the same three "
             "taps). Added = mode - none. At a low rate every message finds the code and data "
             "cold in the caches; at a higher one they stay warm, so both are shown. SIPp's "
             "median response time (ms, resolution 1 ms, includes SIPp's own scheduling) for "
             "comparison. Samples: %d round(s) per mode and rate, %g s each, modes interleaved "
             "across rounds, pooled." % (args.latency_rounds, args.step_seconds))
    L.append("")
    modes = [res["mode"] for res in results]
    order = ["REGISTER →", "200 (REGISTER) ←", "INVITE →", "100 (INVITE) ←", "200 (INVITE) ←",
             "ACK →", "BYE →", "200 (BYE) ←"]
    for wl in args.workloads:
        wr = {r["mode"]: r for r in rows if r["workload"] == wl and "error" not in r}
        for lr in args.latency_rates:
            lats = {m: r["latency"][str(lr)] for m, r in wr.items() if str(lr) in r["latency"]}
            if not lats:
                continue
            ms = [m for m in modes if m in lats]
            labels = []
            for lt in lats.values():
                for k in lt["transit_us"]:
                    if k not in labels:
                        labels.append(k)
            labels.sort(key=lambda k: order.index(k) if k in order else 99)
            cols = ["%s µs" % m for m in ms]
            cols += ["added %s" % m for m in ms if m != "none" and "none" in lats]
            L.append("| %s at %d/s | %s |" % (wl, lr, " | ".join(cols)))
            L.append("|---|" + "---:|" * len(cols))
            for lab in labels + ["all outbound →", "all inbound ←"]:
                vals = {}
                for m in ms:
                    lt = lats[m]
                    if lab == "all outbound →":
                        vals[m] = lt["transit_out_us"]
                    elif lab == "all inbound ←":
                        vals[m] = lt["transit_in_us"]
                    else:
                        vals[m] = lt["transit_us"].get(lab, float("nan"))
                cells = [fmt_us(vals[m]) for m in ms]
                for m in ms:
                    if m != "none" and "none" in lats:
                        d = vals[m] - vals["none"]
                        cells.append("-" if d != d else "%+.1f" % d)
                name = "**%s**" % lab if lab.startswith("all ") else lab
                L.append("| %s | %s |" % (name, " | ".join(cells)))
            L.append("")
            extra = []
            spread = ["%s %s" % (m, ", ".join("%.1f/%.1f" % pr for pr in lats[m]["per_round"]))
                      for m in ms if len(lats[m]["per_round"]) > 1]
            if spread:
                extra.append("Per round (outbound/inbound medians, µs): " + "; ".join(spread) +
                             ".")
            rtts = ["%s %s ms" % (m, " / ".join("%.1f" % lats[m]["rtt_ms"][k]
                                                  for k in sorted(lats[m]["rtt_ms"])))
                    for m in ms]
            extra.append("SIPp median response time%s: %s." % (
                " (REGISTER -> 200)" if wl == "register" else " (INVITE -> 200 / BYE -> 200)",
                "; ".join(rtts)))
            unclean = [m for m in ms if not lats[m]["clean"]]
            if unclean:
                extra.append("Not clean at this rate (failures/retransmissions): %s." %
                             ", ".join(unclean))
            L.append(" ".join(extra))
            L.append("")
    notes = []
    for r in rows:
        c = r.get("alg_counters") or {}
        keys = [k for k in ("pin_limit_phone", "pin_limit_total", "pin_no_port", "bind_no_port",
                            "slow_path_needed", "daemon_handed", "daemon_failed", "dropped",
                            "sip_malformed", "slow_too_large", "slow_too_complex")
                if c.get(k)]
        if keys:
            notes.append("%s/%s: %s" % (r["mode"], r["workload"],
                                        ", ".join("%s +%d" % (k, c[k]) for k in keys)))
    if notes:
        L.append("sipalg counters that moved during the ramp (`sipalg status`): " +
                 "; ".join(notes) + ".")
        if any("pin_limit_phone" in n for n in notes):
            L.append("pin_limit_phone: all calls come from one phone socket and overlap (rate x "
                     "pause). sipalg remembers only the phone's latest SDP exchange, so a BYE "
                     "closes that exchange's pinholes, not its own call's: the pinholes of "
                     "earlier calls stay open (scoped to the remote) until 120 s without media, "
                     "and once the phone holds 64 (`--max-pinholes-per-phone`) new calls get "
                     "none, while their SDP still goes out with c= rewritten to the public "
                     "address and the phone's private port in m=, which no pinhole forwards "
                     "(media then depends on masquerade happening to keep that port once the "
                     "phone sends). Signalling is unaffected, which is all this benchmark "
                     "measures; a PBX behind the router is this case.")
        L.append("")
    return "\n".join(L) + "\n"


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "_capture":
        ap = argparse.ArgumentParser()
        ap.add_argument("cmd")
        ap.add_argument("--out", required=True)
        ap.add_argument("--ready", required=True)
        ap.add_argument("--max-seconds", type=float, default=60)
        a = ap.parse_args()
        return capture_main(a.out, a.ready, min(a.max_seconds, 600))

    ap = argparse.ArgumentParser(prog="signalling.py", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--modes", default="none,linux,sipalg")
    ap.add_argument("--workloads", default="register,call")
    ap.add_argument("--rates", default="100,200,400,800,1600,3200,6400,12800,25600",
                    help="call rates (per second) of the ramp, ascending")
    ap.add_argument("--step-seconds", type=float, default=2)
    ap.add_argument("--pause-ms", type=int, default=500, help="call: ACK -> BYE")
    ap.add_argument("--latency-rates", default="100,800",
                    help="rates of the steps that measure per-message latency")
    ap.add_argument("--latency-rounds", type=int, default=None,
                    help="rounds of latency steps, modes interleaved (the first is the ramp's)")
    benchlib.sandbox_args(ap, "/tmp/bsg-signalling", "a short smoke run (~1 min)")
    args = ap.parse_args()
    benchlib.need_root("signalling")
    if args.quick:
        args.rates, args.step_seconds, args.latency_rates = "100,800", 2, "100"
        if args.latency_rounds is None:
            args.latency_rounds = 1
    if args.latency_rounds is None:
        args.latency_rounds = 2
    args.latency_rates = sorted(benchlib.csv_ints(args.latency_rates))
    args.modes = benchlib.csv_list(args.modes)
    args.workloads = benchlib.csv_list(args.workloads)
    args.rates = sorted(benchlib.csv_ints(args.rates))
    for m in args.modes:
        if m not in MODE_TITLES:
            sys.exit("signalling: unknown mode %r (none, linux, sipalg)" % m)
    for w in args.workloads:
        if w not in SCENARIOS:
            sys.exit("signalling: unknown workload %r (register, call)" % w)
    if (not args.rates or args.rates[0] <= 0 or args.step_seconds <= 0 or args.step_seconds > 60
            or not 1 <= args.latency_rounds <= 10):
        sys.exit("signalling: bad --rates / --step-seconds")
    benchlib.need_sipalg("signalling", args.modes, args.sipalg)
    if shutil.which("sipp") is None:
        sys.exit("signalling: sipp not found (Debian package sip-tester)")

    # The harness under our own prefix and pin root, never the e2e run's.
    try:
        A, T = benchlib.e2e_sandbox(PREFIX, PIN_ROOT)
    except RuntimeError as e:
        sys.exit("signalling: %s; refusing to run under the e2e harness's own names" % e)

    def on_term(*_):
        raise KeyboardInterrupt
    # SIGINT too: a shell starts background jobs with SIGINT ignored, and Python then keeps it so.
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, on_term)

    shutil.rmtree(args.workdir, ignore_errors=True)
    os.makedirs(args.workdir, exist_ok=True)
    meta = benchlib.machine("%Y-%m-%d %H:%M")
    bench = Bench(args, T, A)
    t_start = time.monotonic()
    results = [{"mode": m, "workloads": {}} for m in args.modes]
    try:
        for rnd in range(args.latency_rounds):
            # Later rounds in the reverse order: drift of the machine's load evens out.
            order = results if rnd % 2 == 0 else list(reversed(results))
            for res in order:
                log("== round %d, mode %s" % (rnd, res["mode"]))
                run_mode(bench, res["mode"], args, args.workdir, rnd, res)
    except KeyboardInterrupt:
        bench.kill_all()
        T.cleanup_stale()
        log("signalling: interrupted; sandbox torn down")
        return 130
    finally:
        bench.kill_all()
    rows = summarize(results, args)
    md = render(rows, results, args, meta)
    md += "\n(%.0f s, logs in %s)\n" % (time.monotonic() - t_start, args.workdir)
    print(md)
    if args.md:
        with open(args.md, "w") as f:
            f.write(md)
    if args.json:
        benchlib.write_json(args.json, {"meta": meta, "args": dict(vars(args)),
                                        "summary": rows, "results": results})
    return 0


if __name__ == "__main__":
    sys.exit(main())
