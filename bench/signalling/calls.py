#!/usr/bin/python3
"""Concurrent calls through the router: a PBX behind it holding 1,000 and 10,000 calls at once.

On the e2e harness's sandbox (tests/e2e/sipalg_e2e/topo.py, under the namespace prefix bcl- and
the pin root /sys/fs/bpf/sipalg-bcl, so it never touches an e2e or signalling run), a PBX on the
LAN (phone1's namespace: one SIP socket, port 5060) places N calls with SIPp
(bench/signalling/signalling_call_uac.xml: each call offers its own media port, 20000 + 2 x call number) to a
SIPp UAS on the Internet side (bench/signalling/calls_uas.xml: answers with 30000 + 2 x the caller's call
number). The calls are set up at a rate and each is held (SIPp -d) until all of them are up
plus a measuring window, then BYE'd at the same rate. A round brings up one sandbox per mode and
ramps the rate (--rates) until a step has failed calls; a failing first step is repeated at
half the rate (at most twice), so there is a rate without failures.

Media on a sample: every --media-every-th call has a helper socket on each side, bound to the
ports of that call's SDP. During the window, when every call is up:
  1. the remote sends --media-packets RTP packets to where the offer it received (captured on
     the remote's side, after the router rewrote it) says the call's media goes: only a pinhole
     or a conntrack expectation lets these in;
  2. the PBX sends as many to the remote's port from the answer;
  3. the remote sends again (now a NAT mapping made by the PBX's own packets may let them in).
Each side counts what arrives.

Measured per mode (none: nftables masquerade + stateful firewall; linux: the same + `ct helper
"sip"`, i.e. nf_conntrack_sip/nf_nat_sip; sipalg: the same + sipalg enabled, with its daemon):
the call setup rate achieved (INVITE -> 200 completions per second, SIPp's trace), failed calls,
concurrent calls reached (SIPp's CurrentCall), the router's state while the calls are up and
after they all ended (sipalg: dialogs, pinholes, bindings from its state; linux and none:
conntrack entries and expectations), and its memory from the kernel's own accounting (sipalg:
bytes_memlock of sipalg_dialogs and sipalg_pins from `bpftool map show`, peak minus before, per
entry; linux: entries times the slab object size of nf_conntrack / nf_conntrack_expect).

sipalg's defaults (64 pinholes and 64 dialogs per phone, 16384 dialogs) cannot hold a PBX's
10,000 calls: the sipalg column loads with --max-pinholes-per-phone / --max-pinholes /
--max-dialogs-per-phone / --max-dialogs raised to fit the largest run (printed with the
results); where `sipalg load` does not have the dialog options yet, the limits map is written
with bpftool after load.

  calls.py [--modes none,linux,sipalg] [--calls 1000,10000] [--rounds 3,2]
           [--rates 2000,8000,16000]
           [--media-every 100] [--media-packets 5] [--max-seconds 780] [--sipalg PATH]
           [--quick] [--md FILE] [--json FILE]

Root. Every SIPp run has a time limit (-timeout with -timeout_error, -recv_timeout), every wait
is bounded, and the whole script stops starting runs once --max-seconds are used up (a hard
alarm stops it 120 s later). Everything (namespaces bcl-*, pins under /sys/fs/bpf/sipalg-bcl)
is torn down on exit, also on failure and Ctrl-C. Not part of ctest: `bash bench/run.sh` runs
it, or run it directly. Default run: about 10 minutes; --quick (1 round of 1,000 calls per mode):
about 1 minute.
"""

import argparse
import json
import os
import resource
import shutil
import signal
import struct
import subprocess
import sys
import time

from signalling import (Bench, alg_counters, log, med, parse_stat_csv, read_rtt, stat_int,
                        udp_drops)

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "lib"))
import benchlib  # noqa: E402
PREFIX = "bcl-"
PIN_ROOT = "/sys/fs/bpf/sipalg-bcl"
UAC_XML = os.path.join(HERE, "signalling_call_uac.xml")
UAS_XML = os.path.join(HERE, "calls_uas.xml")
MEDIA_HELPER = os.path.join(HERE, "calls_media.py")
MAX_CALLS = 16000  # 30000 + 2 x calls + 1 must stay a port
MODE_TITLES = {"none": "none (masquerade)", "linux": "linux (nf_nat_sip)", "sipalg": "sipalg"}
WINDOW_S = 4.0  # all calls up: state sampled, media sent
# sipalg counters that say a call lost something (limits, ports, timeouts, the slow path).
ALG_COUNTERS_NOTED = ("dlg_limit_phone", "dlg_limit_total", "dlg_timeout", "pin_limit_phone",
                      "pin_limit_total", "pin_no_port", "bind_no_port", "slow_path_needed",
                      "daemon_failed", "dropped", "sip_malformed", "slow_too_large",
                      "slow_too_complex")


# ---------------------------------------------------------------------------------------------
# the router's state
# ---------------------------------------------------------------------------------------------

def run_json(argv, timeout=10):
    try:
        p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None
    if p.returncode != 0:
        return None
    try:
        return json.loads(p.stdout)
    except ValueError:
        return None


def find_pin(name):
    for root, _, files in os.walk(PIN_ROOT):
        if name in files:
            return os.path.join(root, name)
    return None


def map_memlock(path):
    j = run_json(["bpftool", "-j", "map", "show", "pinned", path]) if path else None
    return j.get("bytes_memlock") if isinstance(j, dict) else None


def state_dialogs(path):
    """sipalg_state.dialogs (live dialogs) read with bpftool, for a loader whose status does not
    show it: the value's bytes at the field's offset (bpf_timer 16, three u64, then u32s)."""
    j = run_json(["bpftool", "-j", "map", "lookup", "pinned", path, "key", "0", "0", "0", "0"])
    if not isinstance(j, dict):
        return None
    f = j.get("formatted")
    if isinstance(f, dict) and isinstance(f.get("value"), dict) and "dialogs" in f["value"]:
        return int(f["value"]["dialogs"])
    raw = j.get("value")
    if not isinstance(raw, list) or len(raw) < 72:
        return None
    return struct.unpack("<I", bytes(int(x, 16) for x in raw[68:72]))[0]


def slab_objsize(name):
    try:
        with open("/proc/slabinfo") as f:
            for ln in f:
                p = ln.split()
                if p and p[0] == name:
                    return int(p[3])
    except (OSError, ValueError, IndexError):
        pass
    return None


def btf_struct_size(name):
    """sizeof(struct name) from the kernel's BTF (vmlinux, or the nf_conntrack module's)."""
    for f in ("/sys/kernel/btf/vmlinux", "/sys/kernel/btf/nf_conntrack"):
        if not os.path.exists(f):
            continue
        try:
            out = subprocess.run(["bpftool", "btf", "dump", "file", f], capture_output=True,
                                 text=True, timeout=60).stdout
        except (OSError, subprocess.TimeoutExpired):
            continue
        key = "STRUCT '%s' size=" % name
        i = out.find(key)
        if i >= 0:
            return int(out[i + len(key):].split()[0])
    return None


def loadavg():
    try:
        with open("/proc/loadavg") as f:
            return float(f.read().split()[0])
    except (OSError, ValueError):
        return float("nan")


def cpu_busy_s():
    """Busy CPU seconds of the whole machine so far (all cores, /proc/stat)."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    hz = os.sysconf("SC_CLK_TCK")
    idle = v[3] + (v[4] if len(v) > 4 else 0) + (v[7] if len(v) > 7 else 0)
    return (sum(v[:8]) - idle) / hz


class Router:
    """Samples of the router's state: sipalg's own counts and map memory, or conntrack's."""

    def __init__(self, mode, topo, A):
        self.mode, self.topo, self.A = mode, topo, A
        self.pins = {}
        if mode == "sipalg":
            for name in ("sipalg_dialogs", "sipalg_pins", "sipalg_binds", "sipalg_state"):
                self.pins[name] = find_pin(name)

    def sample(self):
        s = {"t": time.monotonic()}
        if self.mode == "sipalg":
            try:
                j = json.loads(self.topo.alg_status_json())
            except Exception:
                j = {}
            s["bindings"] = j.get("bindings")
            s["pinholes"] = j.get("pinholes")
            s["dialogs"] = j.get("dialogs")
            if s["dialogs"] is None and self.pins.get("sipalg_state"):
                s["dialogs"] = state_dialogs(self.pins["sipalg_state"])
            s["mem_dialogs"] = map_memlock(self.pins.get("sipalg_dialogs"))
            s["mem_pins"] = map_memlock(self.pins.get("sipalg_pins"))
            s["mem_binds"] = map_memlock(self.pins.get("sipalg_binds"))
            s["size"] = (s["dialogs"] or 0) + (s["pinholes"] or 0)
        else:
            try:
                out = self.topo.run(self.A.NS_ROUTER, [
                    "sh", "-c", "conntrack -C; wc -l < /proc/net/nf_conntrack_expect"],
                    timeout=10, check=False).stdout.split()
                s["conntrack"], s["expect"] = int(out[0]), int(out[1])
            except (subprocess.TimeoutExpired, ValueError, IndexError):
                s["conntrack"] = s["expect"] = None
            s["size"] = (s["conntrack"] or 0) + (s["expect"] or 0)
        return s


# ---------------------------------------------------------------------------------------------
# one run
# ---------------------------------------------------------------------------------------------

def sipalg_load_options(args, max_calls):
    """The load options that let one PBX hold the largest run's calls (each call: one dialog,
    an RTP and an RTCP pinhole), or [] when the defaults do."""
    dialogs = max_calls + max_calls // 5 + 16
    pins = 2 * dialogs
    return [("--max-pinholes-per-phone", pins), ("--max-pinholes", pins),
            ("--max-dialogs-per-phone", dialogs), ("--max-dialogs", dialogs),
            ("--port-range", "1024-65535"),
            # thousands of calls a second from one PBX: no per-source request rate
            ("--invite-rate", 0), ("--register-rate", 0)]


loader_has = benchlib.loader_has


def write_limits(dialogs):
    """The dialog limits written straight into the pinned sipalg_limits map (struct
    sipalg_limits: dlg_idle_s, dlg_max_phone, dlg_max_total, then 13 words that such an old
    loader does not have: 0, no rate or binding limit)."""
    path = find_pin("sipalg_limits")
    if not path:
        raise RuntimeError("no pinned sipalg_limits map under %s" % PIN_ROOT)
    words = [300, dialogs, dialogs] + [0] * 13
    val = [str(b) for b in struct.pack("<16I", *words)]
    subprocess.run(["bpftool", "map", "update", "pinned", path, "key", "0", "0", "0", "0",
                    "value"] + val, check=True, capture_output=True, timeout=10)


def stat_series(path, name):
    """Every value of one column of a SIPp -trace_stat file."""
    try:
        with open(path, errors="replace") as f:
            lines = [ln for ln in f.read().splitlines() if ln.strip()]
    except FileNotFoundError:
        return []
    if len(lines) < 2:
        return []
    names = lines[0].rstrip(";").split(";")
    if name not in names:
        return []
    i = names.index(name)
    out = []
    for ln in lines[1:]:
        v = ln.rstrip(";").split(";")
        try:
            out.append(int(float(v[i])))
        except (ValueError, IndexError):
            pass
    return out


def run_step(ctx, topo, router, mode, calls, rate, rundir):
    """`calls` held calls at `rate`/s through the sandbox that is up; the step's figures."""
    A, args, bench = ctx["A"], ctx["args"], ctx["bench"]
    os.makedirs(rundir, exist_ok=True)
    setup_s = calls / float(rate)
    # Held until all are up (with 20% slack for SIPp lagging) plus the window; BYEs then
    # follow at the same rate.
    hold_s = setup_s * 1.2 + WINDOW_S
    limit_s = int(setup_s + hold_s + 20)  # SIPp's own bound: setup, hold, BYEs, retransmits
    res = {"mode": mode, "calls": calls, "rate": rate, "load1_start": loadavg()}
    helpers = []
    go_file = os.path.join(rundir, "media.go")
    meds = {}
    try:
        for side, ns, ip, peer in (("pbx", A.ns_phone("phone1"), A.PHONE_IP["phone1"],
                                    A.REMOTE_IP),
                                   ("remote", A.NS_INET, A.REMOTE_IP, "")):
            out = os.path.join(rundir, "media_%s.json" % side)
            ready = os.path.join(rundir, "media_%s.ready" % side)
            argv = [sys.executable, MEDIA_HELPER, "--side", side,
                    "--ip", ip, "--calls", str(calls), "--every", str(args.media_every),
                    "--packets", str(args.media_packets), "--go", go_file, "--out", out,
                    "--ready", ready, "--max-seconds", str(limit_s + 15)]
            if peer:
                argv += ["--peer", peer]
            helpers.append(bench.popen(ns, argv, rundir, "media_%s.log" % side))
            meds[side] = (out, ready)
        deadline = time.monotonic() + 10
        while (not all(os.path.exists(r) for _, r in meds.values()) and
               time.monotonic() < deadline):
            time.sleep(0.05)
        time.sleep(0.3)
        before = router.sample()
        ctr0 = alg_counters(topo) if mode == "sipalg" else {}
        common = ["-nostdin", "-trace_stat", "-fd", "1", "-timeout", "%ds" % limit_s,
                  "-timeout_error", "-max_retrans", "3", "-trace_err",
                  "-buff_size", str(8 << 20), "-l", str(calls + 100)]
        uas = bench.popen(A.NS_INET, ["sipp", "-sf", UAS_XML, "-i", A.REMOTE_IP, "-p", "5060",
                                      "-m", str(calls), "-stf", "uas.csv",
                                      "-recv_timeout", str(int((hold_s + 10) * 1000))] + common,
                          rundir, "uas.log")
        time.sleep(0.3)  # the UAS binds its socket
        drops0 = (udp_drops(A.ns_phone("phone1")), udp_drops(A.NS_INET))
        busy0, t0 = cpu_busy_s(), time.monotonic()
        ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        uac = bench.popen(A.ns_phone("phone1"),
                          ["sipp", "%s:5060" % A.REMOTE_IP, "-sf", UAC_XML,
                           "-i", A.PHONE_IP["phone1"], "-p", "5060", "-r", str(rate),
                           "-rp", "1000", "-m", str(calls), "-d", str(int(hold_s * 1000)),
                           "-stf", "uac.csv", "-trace_rtt", "-rtt_freq", "1"] + common,
                          rundir, "uac.log")
        # While the calls run: sample the router's state; once every call should be up, start
        # the sampled media.
        samples = [before]
        go_at = t0 + setup_s * 1.1 + 0.5
        go_written = False
        while uac.poll() is None and time.monotonic() < t0 + limit_s + 5:
            now = time.monotonic()
            if not go_written and now >= go_at:
                with open(go_file, "w") as f:
                    f.write("%.6f" % (now + 0.1))
                go_written = True
                res["media_at_s"] = round(now - t0, 2)
            samples.append(router.sample())
            time.sleep(0.5)
        rc_uac = bench.wait(uac, t0 + limit_s + 5 - time.monotonic())
        wall = time.monotonic() - t0
        busy = cpu_busy_s() - busy0
        ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        rc_uas = bench.wait(uas, 5)
        ru2 = resource.getrusage(resource.RUSAGE_CHILDREN)
        for h in helpers:
            bench.wait(h, 5)
        drops1 = (udp_drops(A.ns_phone("phone1")), udp_drops(A.NS_INET))
        # After the last BYE's answer: let the router finish (the aging timer's tick).
        time.sleep(1.5)
        after = router.sample()
        time.sleep(1.0)
        after2 = router.sample()
        ctr1 = alg_counters(topo) if mode == "sipalg" else {}
    finally:
        bench.kill_all()
    st = parse_stat_csv(os.path.join(rundir, "uac.csv"))
    sts = parse_stat_csv(os.path.join(rundir, "uas.csv"))
    rtt = read_rtt(rundir)
    first = sorted(t for t, _ in rtt.get(1, []))
    achieved = ((len(first) - 1) * 1000.0 / (first[-1] - first[0])
                if len(first) > 1 and first[-1] > first[0] else float("nan"))
    ok = stat_int(st, "SuccessfulCall(C)")
    failed = stat_int(st, "FailedCall(C)")
    peak = max(samples, key=lambda s: s["size"])
    media = {}
    for side, (out, _) in meds.items():
        try:
            with open(out) as f:
                media[side] = json.load(f)
        except (OSError, ValueError):
            media[side] = None
    res.update({
        "ok": ok, "failed": failed, "unfinished": max(0, calls - ok - failed),
        "uas_failed": stat_int(sts, "FailedCall(C)"),
        "retransmissions": stat_int(st, "Retransmissions(C)") +
        stat_int(sts, "Retransmissions(C)"),
        "concurrent_peak": max(stat_series(os.path.join(rundir, "uac.csv"), "CurrentCall"),
                               default=0),
        "setup_rate": round(achieved, 1) if achieved == achieved else None,
        "setup_ms_median": med([v for _, v in rtt.get(1, [])]),
        "hold_s": round(hold_s, 2), "wall_s": round(wall, 2),
        "uac_exit": rc_uac, "uas_exit": rc_uas,
        "udp_drops": (drops1[0] - drops0[0]) + (drops1[1] - drops0[1]),
        "machine_busy_cores": round(busy / max(wall, 1e-3), 2),
        # SIPp's own share (the load generator), next to the whole machine's.
        "sipp_cores": round(((ru2.ru_utime + ru2.ru_stime) - (ru0.ru_utime + ru0.ru_stime)) /
                            max(wall, 1e-3), 2),
        "load1_end": loadavg(),
        "before": before, "peak": peak, "after": after, "after2": after2,
        "samples": len(samples), "media": media_summary(media),
        "alg_counters": {k: ctr1[k] - ctr0.get(k, 0) for k in ALG_COUNTERS_NOTED
                         if ctr1.get(k, 0) != ctr0.get(k, 0)},
    })
    res["clean"] = res["failed"] + res["unfinished"] == 0
    return res


def run_session(ctx, mode, calls, rnd, budget_left):
    """Sandbox up in `mode`; steps of `calls` held calls at the rates of --rates, ascending,
    until one has failed calls (a failing first step is repeated at half the rate, at most
    twice, so there is a rate without failures); sandbox down. The steps' figures."""
    args = ctx["args"]
    sessdir = os.path.join(args.workdir, "c%d" % calls, "r%d" % rnd, mode)
    topo = ctx["topo_class"](mode, sessdir, sipalg_bin=args.sipalg)
    topo.load_extra = ctx["load_args"] if mode == "sipalg" else []
    steps = []
    t0 = time.monotonic()
    topo.up()
    try:
        if mode == "sipalg" and ctx["limits_by_bpftool"]:
            write_limits(ctx["dialog_limit"])
        router = Router(mode, topo, ctx["A"])
        rates = list(args.rates)
        while rates:
            rate = rates.pop(0)
            est = step_seconds(calls, rate)
            if time.monotonic() - t0 + est > budget_left:
                steps.append({"mode": mode, "calls": calls, "rate": rate, "skipped":
                              "the wall-clock budget (--max-seconds %d)" % args.max_seconds})
                break
            log("== %d calls, round %d, mode %s, %d/s" % (calls, rnd, mode, rate))
            r = run_step(ctx, topo, router, mode, calls, rate,
                         os.path.join(sessdir, "rate%d" % rate))
            steps.append(r)
            md = r["media"] or {}
            log("[%s] %d calls at %d/s: setup %s/s, ok %d failed %d unfinished %d, %d up at "
                "once, peak %s, after %s; media in-first %s out %s in-after %s; load %.2f" % (
                    mode, calls, rate, r["setup_rate"], r["ok"], r["failed"], r["unfinished"],
                    r["concurrent_peak"], state_text(mode, r["peak"]),
                    state_text(mode, r["after2"]), md.get("in_first"), md.get("out"),
                    md.get("in_after"), r["load1_start"]))
            if not r["clean"]:
                clean_before = any(s.get("clean") for s in steps)
                halvings = sum(1 for s in steps if "clean" in s and not s["clean"])
                if clean_before or halvings > 2 or rate < 50:
                    break
                rates = [max(1, rate // 2)]
            # Let state of the step's calls that the router keeps (it should keep none) show up
            # in the next step's "before", not in its peak.
            time.sleep(0.5)
    finally:
        topo.down()
    for s in steps:
        s["round"] = rnd
    return steps


def step_seconds(calls, rate):
    """A step's expected wall time: setup, hold, BYEs, the helpers and the settling."""
    return 3.2 * calls / float(rate) + WINDOW_S + 8


def media_summary(media):
    pbx, rem = media.get("pbx"), media.get("remote")
    if not pbx or not rem or not pbx.get("ran") or not rem.get("ran"):
        return None
    k = pbx["packets"]
    n = pbx["sampled"]
    rin = pbx["recv"].values()
    rout = rem["recv"].values()
    return {
        "sampled": n, "packets": k,
        # Remote -> PBX before the PBX sent anything: pinhole / expectation only.
        "in_first": sum(r[0] for r in rin), "calls_in_first": sum(1 for r in rin if r[0]),
        "out": sum(sum(r) for r in rout), "calls_out": sum(1 for r in rout if sum(r)),
        "in_after": sum(r[2] for r in rin), "calls_in_after": sum(1 for r in rin if r[2]),
        # The PBX's media arrived from the public port the offer named (not a port masquerade
        # picked instead because that one was taken).
        "calls_out_from_sdp_port": sum(1 for n, src in rem["sources"].items()
                                       if rem["targets"].get(n) == src),
        "no_target": rem["no_target"], "remote_send_errors": rem["send_errors"],
        "pbx_send_errors": pbx["send_errors"],
        "targets": dict(list(rem["targets"].items())[:3]),
    }


# ---------------------------------------------------------------------------------------------
# report
# ---------------------------------------------------------------------------------------------

def state_text(mode, s):
    if s is None:
        return "-"
    if mode == "sipalg":
        return "%s dialogs, %s pinholes, %s bindings" % (s.get("dialogs"), s.get("pinholes"),
                                                        s.get("bindings"))
    return "%s conntrack, %s expectations" % (s.get("conntrack"), s.get("expect"))


def state_key(mode, s):
    """What must be back where it was once every call ended: per-call state only. The PBX's
    binding (sipalg) and conntrack's entries (the signalling flow and the sampled media flows,
    until their UDP timeouts) outlive the calls by design."""
    if mode == "sipalg":
        return (s.get("dialogs"), s.get("pinholes"))
    return (s.get("expect"),)


def leftover(mode, r):
    """Per-call state still there after a step: sipalg dialogs, linux expectations."""
    k = "dialogs" if mode == "sipalg" else "expect"
    try:
        return r["after2"][k] - r["before"][k]
    except (TypeError, KeyError):
        return None


def per_entry(peak, before, mem, count):
    try:
        d = peak[count] - before[count]
        if d <= 0:
            return None
        return (peak[mem] - before[mem]) / d
    except (TypeError, KeyError):
        return None


def summarize(steps, modes, sizes):
    """Per mode and call count, medians over the rounds. Each round (one sandbox) ramps the
    rate: its highest rate without failed calls, and the figures of its first clean step (the
    lowest rate: the same calls, least disturbed by the machine's load)."""
    rows = []
    for n in sizes:
        for m in modes:
            mine = [s for s in steps if s["mode"] == m and s["calls"] == n and "ok" in s]
            rounds = sorted({s["round"] for s in mine})
            if not rounds:
                continue
            best, measured, fails = [], [], []
            for rnd in rounds:
                rs = [s for s in mine if s["round"] == rnd]
                clean = [s for s in rs if s["clean"]]
                if clean:
                    top = max(clean, key=lambda s: s["rate"])
                    best.append((top["rate"], top["setup_rate"]))
                measured.append(min(clean, key=lambda s: s["rate"]) if clean else rs[0])
                fails += [s for s in rs if not s["clean"]]
            row = {"mode": m, "calls": n, "rounds": len(rounds)}
            # Without failures in every round: the lowest of the rounds' highest clean rates,
            # and what was achieved at that rate in the rounds.
            row["best_rate"] = min(b[0] for b in best) if len(best) == len(rounds) else None
            row["best_achieved"] = med([s["setup_rate"] for s in mine
                                        if s["clean"] and s["rate"] == row["best_rate"] and
                                        s["setup_rate"]])
            row["best_per_round"] = [b[0] for b in best]
            row["clean_rounds"] = len(best)
            row["measured_rate"] = med([r["rate"] for r in measured])
            row["failed"] = med([r["failed"] + r["unfinished"] for r in measured])
            row["fails"] = ["%d of %d at %d/s" % (f["failed"] + f["unfinished"], n, f["rate"])
                            for f in fails]
            row["concurrent"] = med([r["concurrent_peak"] for r in measured])
            keys = (("dialogs", "pinholes", "bindings") if m == "sipalg" else
                    ("conntrack", "expect"))
            for part, src in (("before", "before"), ("peak", "peak"), ("after", "after2")):
                row[part] = {k: med([r[src].get(k) for r in measured
                                     if r[src].get(k) is not None]) for k in keys}
            # Every step without failures, not just the measured ones, must end where it began.
            # A step with failed calls may not: SIPp abandons a call that times out without a
            # BYE or CANCEL, so the router rightly keeps its state until it idles out.
            cl = [r for r in mine if r["clean"]]
            row["baseline_ok"] = all(state_key(m, r["after2"]) == state_key(m, r["before"])
                                     for r in cl)
            row["baseline_bad"] = sum(1 for r in cl
                                      if state_key(m, r["after2"]) != state_key(m, r["before"]))
            row["steps"] = len(cl)
            row["left_by_failed"] = [
                (leftover(m, r), r["failed"] + r["unfinished"]) for r in mine if not r["clean"]]
            if m == "sipalg":
                row["b_dialog"] = med([x for x in (per_entry(r["peak"], r["before"],
                                                             "mem_dialogs", "dialogs")
                                                   for r in measured) if x is not None])
                row["b_pin"] = med([x for x in (per_entry(r["peak"], r["before"],
                                                          "mem_pins", "pinholes")
                                                for r in measured) if x is not None])
                row["before_mem"] = med([r["before"].get("mem_dialogs") for r in measured
                                         if r["before"].get("mem_dialogs") is not None])
                row["mem_peak"] = med([(r["peak"].get("mem_dialogs") or 0) +
                                       (r["peak"].get("mem_pins") or 0) for r in measured])
                row["mem_delta"] = med([((r["peak"].get("mem_dialogs") or 0) +
                                         (r["peak"].get("mem_pins") or 0)) -
                                        ((r["before"].get("mem_dialogs") or 0) +
                                         (r["before"].get("mem_pins") or 0))
                                        for r in measured])
            ms = [r["media"] for r in measured if r["media"]]
            row["media"] = ms[len(ms) // 2] if ms else None
            row["load"] = med([r["load1_start"] for r in mine])
            row["busy"] = med([r["machine_busy_cores"] for r in measured])
            rows.append(row)
    return rows


def fmt(v, spec="%.0f"):
    if v is None or v != v:
        return "-"
    return spec % v


def render(rows, steps, args, meta):
    L = []
    L.append("## Concurrent calls through the router (`bench/signalling/calls.py`)")
    L.append("")
    L.append("%s, kernel %s, %s, %d CPUs, commit %s; load average (1 min) %.2f at the start, "
             "%.2f at the end: other agents share the machine." % (
                 meta["date"], meta["kernel"], meta["cpu"], meta["cpus"], meta["commit"],
                 meta["load_start"], meta["load_end"]))
    L.append("")
    L.append("Method: the e2e sandbox (phones on a LAN bridge, a router namespace with nftables "
             "masquerade + stateful firewall, the Internet namespace). A PBX on the LAN (one "
             "SIPp UAC, one UDP socket, port 5060) calls a SIPp UAS on the Internet side: "
             "INVITE with SDP (its own media port per call) -> 100 -> 200 with SDP -> ACK; "
             "the calls are set up at the rate asked, each is held until all are up (plus %g s), "
             "then all are BYE'd at the same rate. A round is one sandbox per mode, ramping the "
             "rate (%s per second) until a step has failed calls (a failing first step is "
             "repeated at half the rate). Every %dth call carries media: %d RTP packets from the "
             "remote to where the offer it received says (before the PBX sent any: only a "
             "pinhole or an expectation lets them in), %d from the PBX, %d from the remote "
             "again. Rounds: %s, modes interleaved; medians. The state, media and memory "
             "columns are from each round's first step without failures. T1 = 500 ms, a "
             "transaction fails after 4 s." % (
                 WINDOW_S, ", ".join(str(r) for r in args.rates), args.media_every,
                 args.media_packets, args.media_packets, args.media_packets,
                 ", ".join("%d x %d calls" % (r, n) for n, r in zip(args.calls, args.rounds))))
    L.append("")
    if "sipalg" in args.modes:
        L.append("sipalg settings used (its per-phone defaults, 64 pinholes and 64 dialogs, "
                 "cannot hold one PBX's calls; sized for the largest run): `%s`%s." % (
                     " ".join("%s %s" % kv for kv in args.load_settings),
                     "; the dialog limits were written into the pinned `sipalg_limits` map "
                     "with bpftool, since this `sipalg load` has no dialog options"
                     if args.limits_by_bpftool else ""))
        L.append("")
    L.append("| mode | calls | highest rate without failures, asked / achieved (/s) | "
             "failed calls (at that rate; steps that failed) | concurrent calls reached | "
             "router state: before -> at the peak -> after all calls ended | back to the "
             "baseline | media in before out | media out | media in after out | load avg |")
    L.append("|---|---:|---|---|---:|---|---|---:|---:|---:|---:|")
    for r in rows:
        m = r["mode"]
        if m == "sipalg":
            st = "%s -> %s -> %s dialogs; %s -> %s -> %s pinholes" % (
                fmt(r["before"]["dialogs"]), fmt(r["peak"]["dialogs"]),
                fmt(r["after"]["dialogs"]), fmt(r["before"]["pinholes"]),
                fmt(r["peak"]["pinholes"]), fmt(r["after"]["pinholes"]))
        else:
            st = "%s -> %s -> %s expectations; %s -> %s -> %s conntrack entries" % (
                fmt(r["before"]["expect"]), fmt(r["peak"]["expect"]),
                fmt(r["after"]["expect"]), fmt(r["before"]["conntrack"]),
                fmt(r["peak"]["conntrack"]), fmt(r["after"]["conntrack"]))
        md = r["media"]
        if md:
            tot = md["sampled"] * md["packets"]
            mcells = ["%d/%d pkts, %d/%d calls" % (md[a], tot, md["calls_" + a], md["sampled"])
                      for a in ("in_first", "out", "in_after")]
        else:
            mcells = ["-"] * 3
        if r["best_rate"] is None:
            rate = "none in %d of %d rounds" % (r["rounds"] - r["clean_rounds"], r["rounds"])
        else:
            rate = "%s / %s" % (fmt(r["best_rate"]), fmt(r["best_achieved"]))
            if not r["fails"] and r["best_rate"] == args.rates[-1]:
                rate += " (no failures up to the highest rate tried)"
            elif len(set(r["best_per_round"])) > 1:
                rate += " (per round: %s)" % ", ".join(str(x) for x in r["best_per_round"])
        fails = fmt(r["failed"])
        if r["fails"]:
            fails += "; " + ", ".join(r["fails"])
        verdict = ("yes" if r["baseline_ok"] else
                   "**no** (%d of %d steps without failures)" % (r["baseline_bad"], r["steps"]))
        if r["left_by_failed"] and m != "none":
            what = "dialogs" if m == "sipalg" else "expectations"
            verdict += "; steps with failed calls left %s" % ", ".join(
                "%s %s for %d failed calls" % (fmt(lo), what, f) for lo, f in r["left_by_failed"])
        L.append("| %s | %d | %s | %s | %s | %s | %s | %s | %s |" % (
            MODE_TITLES[m], r["calls"], rate, fails, fmt(r["concurrent"]), st, verdict,
            " | ".join(mcells), fmt(r["load"], "%.2f")))
    L.append("")
    L.append("Back to the baseline: the per-call state (sipalg: dialogs and pinholes; linux: "
             "expectations) once every call ended is what it was before the step, in every step "
             "without failed calls of every round. Not part of it: the PBX's sipalg binding, and "
             "conntrack entries (the signalling flow and the sampled calls' media flows, which "
             "live until their UDP timeouts in every mode). A failed call is one SIPp gave up "
             "on (a transaction unanswered for 4 s, mostly because SIPp's own sockets dropped "
             "datagrams): it sends neither BYE nor CANCEL, so to the router the call is still "
             "up, and sipalg keeps its dialog and pinholes until `--dialog-idle` (300 s) "
             "without SIP or media ends it; the table says how many each such step left.")
    L.append("")
    mem = [r for r in rows if r["mode"] in ("sipalg", "linux")]
    if mem:
        txt = ["Memory from the kernel's own accounting."]
        sa = [r for r in mem if r["mode"] == "sipalg"]
        if sa:
            txt.append("sipalg: `bytes_memlock` of `sipalg_dialogs` and `sipalg_pins` (`bpftool "
                       "map show`; for a hash map without prealloc the kernel counts its live "
                       "elements; empty, each is %s B of hash buckets), at the peak minus "
                       "before, per entry added." % fmt(sa[0]["before_mem"]))
        if any(r["mode"] == "linux" for r in mem):
            txt.append("linux: the expectations at the peak times the object size of "
                       "`nf_conntrack_expect` (%s); conntrack entries are %s B each (slab "
                       "`nf_conntrack`). The slab caches are machine-wide, so only their object "
                       "sizes are read." % (
                           "%s B, `/proc/slabinfo`" % meta["slab_exp"] if meta.get("slab_exp")
                           else "its slab cache is merged into another, so sizeof(struct "
                           "nf_conntrack_expect) from the kernel's BTF: %s B" %
                           (meta.get("exp_struct") or "?"), meta.get("slab_ct") or "?"))
        L.append(" ".join(txt))
        L.append("")
        L.append("| mode | calls | per dialog (B) | per pinhole (B) | per call, dialog + its "
                 "pinholes (B) | per-call state at the peak (B) |")
        L.append("|---|---:|---:|---:|---:|---:|")
        for r in mem:
            if r["mode"] == "sipalg":
                dl = (r["peak"]["dialogs"] or 0) - (r["before"]["dialogs"] or 0)
                pc = r["mem_delta"] / dl if dl and dl > 0 else None
                L.append("| sipalg | %d | %s | %s | %s | %s |" % (
                    r["calls"], fmt(r["b_dialog"]), fmt(r["b_pin"]), fmt(pc),
                    fmt(r["mem_delta"])))
            else:
                ct = meta.get("slab_ct")
                ex = meta.get("slab_exp") or meta.get("exp_struct")
                pk = r["peak"]
                tot = None
                if pk.get("expect") is not None and ex:
                    tot = pk["expect"] * ex
                L.append("| linux | %d | - | %s (an expectation) | - | %s (%s expectations; "
                         "conntrack entries %s x %s B, mostly the sampled media flows) |" % (
                             r["calls"], fmt(ex), fmt(tot), fmt(pk.get("expect")),
                             fmt(pk.get("conntrack")), ct or "?"))
        L.append("")
    notes = []
    lin = [r for r in rows if r["mode"] == "linux" and r["peak"].get("expect") is not None
           and r["media"]]
    if lin and max(r["peak"]["expect"] for r in lin) < min(r["calls"] for r in lin):
        notes.append("linux: at most %s expectations at the peak however many calls are up "
                     "(nf_conntrack_sip keeps at most 4 audio expectations per signalling "
                     "flow, and all of a PBX's calls share one flow), so the remote's media "
                     "before the PBX's got in for %s of the sampled calls. Media no expectation "
                     "covers is addressed to the router itself: conntrack confirms it as a "
                     "local flow on that public port, and masquerade then gives the PBX's own "
                     "media another port (the PBX's packets arrived from the port its SDP "
                     "named in %s of the sampled calls), so the remote's later packets to the "
                     "SDP's port miss too." % (
                         fmt(max(r["peak"]["expect"] for r in lin)),
                         " / ".join("%d of %d (%d calls)" % (
                             r["media"]["calls_in_first"], r["media"]["sampled"], r["calls"])
                             for r in lin),
                         " / ".join("%d of %d" % (r["media"]["calls_out_from_sdp_port"],
                                                  r["media"]["sampled"]) for r in lin)))
    nn = [r for r in rows if r["mode"] == "none" and r["media"]]
    if nn:
        notes.append("none: the SDP keeps the PBX's private address, so the remote cannot send "
                     "media at all (its sends fail: %s)." % (
                         ", ".join("%s x %d" % kv for kv in
                                   nn[0]["media"]["remote_send_errors"].items()) or "none"))
    moved = {}
    for st in steps:
        for k, v in (st.get("alg_counters") or {}).items():
            moved[k] = moved.get(k, 0) + v
    if any(st["mode"] == "sipalg" and "ok" in st for st in steps):
        notes.append("sipalg counters that say a call lost something (%s), summed over every "
                     "step: %s." % (", ".join(ALG_COUNTERS_NOTED),
                                    ", ".join("%s +%d" % kv for kv in sorted(moved.items()))
                                    or "none moved"))
    short = [r for r in rows if r["concurrent"] == r["concurrent"] and
             r["concurrent"] < r["calls"] * 0.99]
    for r in short:
        notes.append("%s, %d calls: only %s were up at once (failed or unfinished calls, or "
                     "SIPp behind its rate)." % (r["mode"], r["calls"], fmt(r["concurrent"])))
    for s in steps:
        if s.get("skipped"):
            notes.append("not run: %s, %d calls, round %d, %d/s: %s." % (
                s["mode"], s["calls"], s.get("round", 0), s["rate"], s["skipped"]))
    if notes:
        L.append("Notes: " + " ".join(notes))
        L.append("")
    L.append("Every step (rate asked: setup rate achieved, failed + unfinished calls, "
             "retransmissions, calls up at once, datagrams SIPp's own sockets dropped, CPU "
             "cores busy during the step in both SIPp processes / in the whole machine, other "
             "agents' work included, load average at its start):")
    L.append("")
    L.append("| mode | calls | round | steps |")
    L.append("|---|---:|---:|---|")
    for n in args.calls:
        for rnd in range(max(args.rounds)):
            for m in args.modes:
                rs = [s for s in steps if s["mode"] == m and s["calls"] == n and
                      s.get("round") == rnd and not s.get("skipped")]
                if not rs:
                    continue
                cells = []
                for r in rs:
                    if "error" in r:
                        cells.append("error: %s" % r["error"])
                        continue
                    cells.append("%d/s: %s/s, %d failed, %d retr, %d up, %d drops, SIPp %.2f "
                                 "/ machine %.2f cores, load %.2f" % (
                                     r["rate"], fmt(r["setup_rate"]),
                                     r["failed"] + r["unfinished"], r["retransmissions"],
                                     r["concurrent_peak"], r["udp_drops"], r["sipp_cores"],
                                     r["machine_busy_cores"], r["load1_start"]))
                L.append("| %s | %d | %d | %s |" % (m, n, rnd, "; ".join(cells)))
    L.append("")
    return "\n".join(L) + "\n"


# ---------------------------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(prog="calls.py", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--modes", default="none,linux,sipalg")
    ap.add_argument("--calls", default="1000,10000", help="concurrent calls per run")
    ap.add_argument("--rounds", default="3,2", help="rounds per --calls entry")
    ap.add_argument("--rates", default="2000,8000,16000",
                    help="call setup rates of a round's ramp (/s), ascending")
    ap.add_argument("--media-every", type=int, default=100)
    ap.add_argument("--media-packets", type=int, default=5)
    ap.add_argument("--max-seconds", type=int, default=780,
                    help="no run starts after this many seconds (default %(default)s)")
    benchlib.sandbox_args(ap, "/tmp/bcl-calls", "one round of 1,000 calls per mode")
    args = ap.parse_args()
    benchlib.need_root("calls")
    if args.quick:
        args.calls, args.rounds = "1000", "1"
    args.modes = benchlib.csv_list(args.modes)
    args.calls = benchlib.csv_ints(args.calls)
    args.rounds = benchlib.csv_ints(args.rounds)
    args.rates = sorted(benchlib.csv_ints(args.rates))
    if len(args.rounds) < len(args.calls):
        args.rounds += [args.rounds[-1]] * (len(args.calls) - len(args.rounds))
    for m in args.modes:
        if m not in MODE_TITLES:
            sys.exit("calls: unknown mode %r (none, linux, sipalg)" % m)
    if (not args.calls or min(args.calls) < 1 or max(args.calls) > MAX_CALLS or
            not args.rates or not 1 <= args.rates[0] <= args.rates[-1] <= 20000 or
            not all(1 <= r <= 10 for r in args.rounds) or
            not 1 <= args.media_every or not 1 <= args.media_packets <= 50 or
            not 60 <= args.max_seconds <= 3600):
        sys.exit("calls: bad --calls (1..%d) / --rates / --rounds / --media-* / --max-seconds" %
                 MAX_CALLS)
    benchlib.need_sipalg("calls", args.modes, args.sipalg)
    for tool in ("sipp", "conntrack", "bpftool"):
        if shutil.which(tool) is None:
            sys.exit("calls: %s not found" % tool)

    # The harness under our own prefix and pin root, never the e2e or signalling run's.
    try:
        A, T = benchlib.e2e_sandbox(PREFIX, PIN_ROOT)
    except RuntimeError as e:
        sys.exit("calls: %s" % e)

    # The harness's topology, with sipalg loaded with the limits a PBX needs.
    CallsTopology = benchlib.loads_with_options(T.Topology)

    args.load_settings, args.limits_by_bpftool, load_args = [], False, []
    dialog_limit = 0
    if "sipalg" in args.modes:
        opts = sipalg_load_options(args, max(args.calls))
        dialog_limit = dict(opts)["--max-dialogs"]
        if not loader_has(args.sipalg, "--invite-rate"):
            opts = [kv for kv in opts if not kv[0].endswith("-rate")]
        if not loader_has(args.sipalg, "--max-dialogs"):
            opts = [kv for kv in opts if "dialogs" not in kv[0]]
            args.limits_by_bpftool = True
            opts_shown = opts + [("sipalg_limits dlg_max_phone/dlg_max_total", dialog_limit)]
        else:
            opts_shown = opts
        args.load_settings = opts_shown
        for k, v in opts:
            load_args += [k, str(v)]
        log("calls: sipalg loads with %s%s" % (" ".join(load_args),
                                               " (+ dialog limits %d via bpftool)" %
                                               dialog_limit if args.limits_by_bpftool else ""))

    t_start = time.monotonic()

    def on_term(*_):
        raise KeyboardInterrupt
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGALRM):
        signal.signal(sig, on_term)
    signal.alarm(args.max_seconds + 120)  # hard bound: a run that hangs past every timeout

    shutil.rmtree(args.workdir, ignore_errors=True)
    os.makedirs(args.workdir, exist_ok=True)
    meta = dict(benchlib.machine("%Y-%m-%d %H:%M UTC", utc=True), load_start=loadavg())
    bench = Bench(args, T, A)
    ctx = {"A": A, "T": T, "args": args, "bench": bench, "topo_class": CallsTopology,
           "load_args": load_args, "limits_by_bpftool": args.limits_by_bpftool,
           "dialog_limit": dialog_limit}
    steps = []
    interrupted = False
    try:
        for n, rounds in zip(args.calls, args.rounds):
            for rnd in range(rounds):
                # Later rounds in the reverse order: drift of the machine's load evens out.
                order = args.modes if rnd % 2 == 0 else list(reversed(args.modes))
                for m in order:
                    left = args.max_seconds - (time.monotonic() - t_start)
                    try:
                        steps += run_session(ctx, m, n, rnd, left)
                    except (T.CommandError, RuntimeError, subprocess.SubprocessError,
                            OSError) as e:
                        log("[%s] error: %s" % (m, e))
                        steps.append({"mode": m, "calls": n, "round": rnd, "rate": 0,
                                      "error": str(e)[:300]})
    except KeyboardInterrupt:
        interrupted = True
        log("calls: interrupted; sandbox torn down")
    finally:
        signal.alarm(0)
        bench.kill_all()
        T.cleanup_stale()
    meta["load_end"] = loadavg()
    meta["slab_ct"] = slab_objsize("nf_conntrack")
    meta["slab_exp"] = slab_objsize("nf_conntrack_expect")
    if not meta["slab_exp"] and "linux" in args.modes:
        # A merged slab cache has no line of its own: the object's size is the struct's.
        meta["exp_struct"] = btf_struct_size("nf_conntrack_expect")
    meta["commit"] = subprocess.run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"],
                                    capture_output=True, text=True).stdout.strip() or "?"
    rows = summarize(steps, args.modes, args.calls)
    md = render(rows, steps, args, meta)
    errors = [r for r in steps if "error" in r]
    if errors:
        md += "\nErrors: " + "; ".join("%s %d calls: %s" % (r["mode"], r["calls"], r["error"])
                                       for r in errors) + "\n"
    md += "\n(%.0f s%s, logs in %s)\n" % (time.monotonic() - t_start,
                                          ", interrupted" if interrupted else "", args.workdir)
    print(md)
    if args.md:
        with open(args.md, "w") as f:
            f.write(md)
    if args.json:
        benchlib.write_json(args.json, {"meta": meta, "args": vars(args), "summary": rows,
                                        "steps": steps})
    return 130 if interrupted else 0


if __name__ == "__main__":
    sys.exit(main())
