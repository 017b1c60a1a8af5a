#!/usr/bin/env python3
"""The slow path next to the fast path, through the sandbox router.

Builds the e2e harness's router in `sipalg` mode (ALG enabled, daemon running) under its own
namespace prefix (bsp-), then with bench/slow_path_probe sends SIP REGISTERs from phone1 to the
registrar's address and times them one way (CLOCK_MONOTONIC is shared by all namespaces):
  - fast path: a 1000-byte message, NATed and rewritten in the kernel;
  - slow path: a 2600-byte message, fragmented by the phone, reassembled by the router's
    conntrack, steered to the daemon, rewritten there and refragmented on the way out;
  - throughput: bursts at increasing offered rates, messages delivered per second and loss.
Also runs bench/slow_share (the share of real messages that take the slow path).

Usage: bench/slow_path/slow_path.py [--build build] [--md FILE] [--json FILE] [--quick]   (root)
"""
import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "lib"))
import benchlib  # noqa: E402

A, topo = benchlib.e2e_sandbox(os.environ.get("SAE_PREFIX", "bsp-"),
                               os.environ.get("SAE_PIN_ROOT", "/sys/fs/bpf/sipalg-bsp"))

FAST_SIZE, SLOW_SIZE = 1000, 2600


def probe(build, *args):
    out = subprocess.run([os.path.join(build, "bench", "slow_path_probe")] + [str(a) for a in args],
                         capture_output=True, text=True, timeout=120)
    if out.returncode != 0:
        raise RuntimeError("slow_path_probe failed: " + out.stderr.strip())
    return json.loads(out.stdout)


def counters(t):
    j = json.loads(t.alg_status_json())
    inst = j[0] if isinstance(j, list) else j
    return inst.get("counters", {})


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=os.path.join(REPO, "build"))
    ap.add_argument("--md")
    ap.add_argument("--json")
    ap.add_argument("--quick", action="store_true", help="a short smoke run")
    a = ap.parse_args()
    pings = 50 if a.quick else 400
    rates = [1000, 4000] if a.quick else [1000, 2000, 4000, 8000, 16000, 32000]
    burst_s = 0.5 if a.quick else 1.0
    phone_ns, src = A.ns_phone("phone1"), A.PHONE_IP["phone1"]
    res = {"date": datetime.date.today().isoformat(), "kernel": platform.release(),
           "cpu": benchlib.cpu_model(), "ping": {}, "burst": {"fast": [], "slow": []}}
    work = tempfile.mkdtemp(prefix="sipalg-bsp-")
    sipalg_bin = os.path.join(a.build, "sipalg")
    router = benchlib.loads_with_options(topo.Topology)("sipalg", work, sipalg_bin)
    # The bursts offer up to 32k REGISTERs a second from one phone: no per-address rate.
    router.load_extra = benchlib.load_options(sipalg_bin, [("--register-rate", 0)])
    with router as t:
        before = counters(t)
        for name, size in (("fast", FAST_SIZE), ("slow", SLOW_SIZE)):
            res["ping"][name] = probe(a.build, "ping", phone_ns, src, A.NS_INET, A.REGISTRAR_IP,
                                      size, pings)
        for rate in rates:
            for name, size in (("fast", FAST_SIZE), ("slow", SLOW_SIZE)):
                r = probe(a.build, "burst", phone_ns, src, A.NS_INET, A.REGISTRAR_IP, size,
                          int(rate * burst_s), rate)
                res["burst"][name].append(r)
        after = counters(t)
    res["daemon_handled"] = after.get("daemon_handled", 0) - before.get("daemon_handled", 0)
    res["daemon_failed"] = after.get("daemon_failed", 0) - before.get("daemon_failed", 0)
    share = subprocess.run([os.path.join(a.build, "bench", "slow_share")], capture_output=True,
                           text=True, timeout=60).stdout

    p = res["ping"]
    lines = ["| path | message | one-way latency median | p90 | lost |", "|---|---|---|---|---|"]
    for name, what in (("fast", "in the kernel (tc-BPF rewrite + redirect)"),
                       ("slow", "daemon (reassembly, tproxy, rewrite, refragment)")):
        q = p[name]
        lines.append("| %s | %d B | %.0f µs | %.0f µs | %d/%d |" % (
            what, q["size"], q["median_us"], q["p90_us"], q["lost"], q["sent"]))
    added = p["slow"]["median_us"] - p["fast"]["median_us"]
    lines.append("")
    lines.append("Latency the slow path adds (median, same run): **%.0f µs**." % added)
    lines.append("")
    lines.append("| offered msg/s | fast: delivered/s | fast: loss | slow: delivered/s | "
                 "slow: loss |")
    lines.append("|---|---|---|---|---|")
    best_slow = 0
    for f, s in zip(res["burst"]["fast"], res["burst"]["slow"]):
        fl = 100.0 * (f["sent"] - f["received"]) / max(1, f["sent"])
        sl = 100.0 * (s["sent"] - s["received"]) / max(1, s["sent"])
        if sl < 1.0:
            best_slow = max(best_slow, s["delivered_per_s"])
        lines.append("| %.0f | %.0f | %.1f%% | %.0f | %.1f%% |" % (
            s["offered_per_s"], f["delivered_per_s"], fl, s["delivered_per_s"], sl))
    lines.append("")
    lines.append("Slow-path throughput with < 1%% loss: **%.0f messages/s** (one daemon thread; "
                 "daemon handled %d, failed %d in this run)." % (
                     best_slow, res["daemon_handled"], res["daemon_failed"]))
    res["slow_added_us"] = added
    res["slow_msgs_per_s"] = best_slow
    table = "\n".join(lines)
    print(table)
    print()
    print(share)
    if a.md:
        with open(a.md, "w") as f:
            f.write("## Slow path\n\n%s, kernel %s, %s. Sandbox router of the e2e "
                    "harness in `sipalg` mode; bench/slow_path/slow_path.py + slow_path_probe: SIP "
                    "REGISTERs from phone1 to the registrar's address, timed one way.\n\n"
                    % (res["date"], res["kernel"], res["cpu"]))
            f.write(table + "\n\n" + share + "\n")
    if a.json:
        benchlib.write_json(a.json, res)


if __name__ == "__main__":
    main()
