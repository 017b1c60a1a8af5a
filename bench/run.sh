#!/usr/bin/env bash
# The benchmark suite in one command (root, after the README's setup): builds, runs every
# benchmark of bench/ and writes bench/RESULTS.md and bench/media_fwd.png.
#
#   bash bench/run.sh [--quick]
#
# Machines are shared and noisy: every figure is a median of several runs, configurations are
# interleaved, ratios are taken within one run. Nothing here is a pass/fail test.
set -euo pipefail
cd "$(dirname "$0")/.."
quick=()
[ "${1:-}" = "--quick" ] && quick=(--quick)
[ "$(id -u)" -eq 0 ] || { echo "bench/run.sh: must run as root" >&2; exit 1; }

bash scripts/deps.sh
# The plot: gnuplot only, no Python packages (the machine's python may not be Debian's).
command -v gnuplot >/dev/null || { DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
  --no-install-recommends gnuplot-nox >/dev/null; }
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" >/dev/null

out=build/bench-out
rm -rf "$out" && mkdir -p "$out"
start=$(date +%s)
step() { echo "== $1 ($(($(date +%s) - start)) s)" >&2; }

step "per-program cost (BPF_PROG_TEST_RUN)"
samples=100000; [ ${#quick[@]} -gt 0 ] && samples=20000
build/bench/prog_cost "$samples" > "$out/prog_cost.txt"
step "media forwarding a/b/c/d/e"
python3 bench/media_fwd.py run "${quick[@]}" --gen build/bench/media_fwd_gen \
  --sipalg build/sipalg --json "$out/media_fwd.json" --md "$out/media_fwd.md" >&2
step "signalling through the router (SIPp)"
python3 bench/signalling.py "${quick[@]}" --sipalg build/sipalg --json "$out/signalling.json" \
  --md "$out/signalling.md" >&2
step "scale (100k / 1M entries, enable/disable)"
build/bench/scale "${quick[@]}" --sipalg build/sipalg --json "$out/scale.json" --md "$out/scale.md" >&2
step "slow path"
python3 bench/slow_path.py "${quick[@]}" --build build --json "$out/slow_path.json" \
  --md "$out/slow_path.md" >&2

step "plot"
python3 - "$out/media_fwd.json" > "$out/media_fwd.dat" <<'PY'
import json, sys
names = {"0": "no router", "a": "a: masquerade", "b": "b: nf_nat_sip", "c": "c: flowtable",
         "d": "d: sipalg", "e": "e: XDP redirect"}
s = json.load(open(sys.argv[1]))["summary"].get("fixed", {}).get("configs", {})
for c in ("a", "b", "c", "d", "e"):
    if c in s:
        x = s[c]
        ns = x.get("router_whole", x.get("whole"))
        print('"%s" %.0f %.1f' % (names[c], x["rx_pps"] / 1e3, ns))
PY
gnuplot <<EOF_GP
set terminal pngcairo size 900,420 font "sans,10"
set output "bench/media_fwd.png"
set multiplot layout 1,2 title "Media forwarding through the router (bench/media_fwd.py, medians)"
set style data histograms
set style fill solid 0.8 border -1
set boxwidth 0.7
set xtics rotate by -30
set yrange [0:*]
set title "received kpps"
plot "$out/media_fwd.dat" using 2:xtic(1) notitle lc rgb "#4a7ab5"
set title "router CPU ns per forwarded packet"
plot "$out/media_fwd.dat" using 3:xtic(1) notitle lc rgb "#c0504d"
unset multiplot
EOF_GP

{
  echo "# Benchmark results"
  echo
  echo "$(date -u +%Y-%m-%d) · kernel $(uname -r) · $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //') · $(nproc) cores · commit $(git rev-parse --short HEAD)"
  echo
  echo "Produced by \`bash bench/run.sh\` in $(($(date +%s) - start)) s. Shared, noisy machine:"
  echo "medians, interleaved configurations, ratios within one run."
  echo
  if [ -f bench/TARGETS.md ]; then cat bench/TARGETS.md; echo; fi
  echo "## 1. Per-program cost (bench/prog_cost, BPF_PROG_TEST_RUN)"
  echo
  echo '```'
  cat "$out/prog_cost.txt"
  echo '```'
  echo
  cat "$out/media_fwd.md"; echo
  echo "![media forwarding](media_fwd.png)"; echo
  cat "$out/signalling.md"; echo
  cat "$out/scale.md"; echo
  cat "$out/slow_path.md"
} > bench/RESULTS.md
step "done: bench/RESULTS.md, bench/media_fwd.png"
