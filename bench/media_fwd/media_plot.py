#!/usr/bin/env python3
"""Plots bench/media_fwd/media_fwd.py's JSON: received kpps at the unpaced (max) rate and router CPU ns
per forwarded packet at the fixed rate, per configuration (gnuplot, PNG).

Usage: bench/media_fwd/media_plot.py MEDIA_FWD_JSON OUT_PNG
"""
import json
import subprocess
import sys
import tempfile

NAMES = {"a": "a: masquerade", "b": "b: nf_nat_sip", "c": "c: flowtable", "d": "d: sipalg",
         "e": "e: XDP redirect"}


def main():
    src, png = sys.argv[1], sys.argv[2]
    summ = json.load(open(src))["summary"]
    fixed = summ.get("fixed", {}).get("configs", {})
    peak = summ.get("max", {}).get("configs", {})
    rows = []
    for c in ("a", "b", "c", "d", "e"):
        if c not in fixed:
            continue
        ns = fixed[c].get("router_whole", fixed[c].get("whole"))
        kpps = peak.get(c, fixed[c])["rx_pps"] / 1e3
        rows.append('"%s" %.0f %.0f' % (NAMES[c], kpps, ns))
    with tempfile.NamedTemporaryFile("w", suffix=".dat", delete=False) as f:
        f.write("\n".join(rows) + "\n")
        dat = f.name
    gp = """
set terminal pngcairo size 900,420 font "sans,10" noenhanced
set output "%s"
set multiplot layout 1,2 title "Media forwarding through the router (bench/media_fwd/media_fwd.py, medians; flowtable n/a on this kernel)"
set style data histograms
set style fill solid 0.8 border -1
set boxwidth 0.7
set xtics rotate by -30
set yrange [0:*]
set title "received kpps, senders unpaced"
plot "%s" using 2:xtic(1) notitle lc rgb "#4a7ab5"
set title "router CPU ns per forwarded packet (200 kpps offered)"
plot "%s" using 3:xtic(1) notitle lc rgb "#c0504d"
unset multiplot
""" % (png, dat, dat)
    subprocess.run(["gnuplot"], input=gp, text=True, check=True)


if __name__ == "__main__":
    main()
