#!/usr/bin/env bash
# The benchmark suite in one command (root, after the README's setup): builds, runs every
# benchmark of bench/ and writes bench/RESULTS.md and bench/media_fwd/media_fwd.png.
#
#   bash bench/run.sh [--quick] [--no-calls]
#
# --no-calls skips the concurrent-calls benchmark (bench/signalling/calls.py, about 10 minutes).
#
# One folder per benchmark, bench/lib/ for what they share; every executable is built into
# build/bench/:
#   prog_cost/   per-program cost (BPF_PROG_TEST_RUN)        build/bench/prog_cost
#   media_fwd/   media forwarding a/b/c/d/e                   media_fwd.py + build/bench/media_fwd_gen
#   signalling/  SIPp signalling (signalling.py), held calls (calls.py)
#   scale/       build/bench/scale: memory, lookup, toggle (one or all: `scale [memory|lookup|toggle]`)
#   slow_path/   the slow path (slow_path.py + build/bench/slow_path_probe, slow_share)
#
# Machines are shared and noisy: every figure is a median of several runs, configurations are
# interleaved, ratios are taken within one run. Nothing here is a pass/fail test.
set -euo pipefail
cd "$(dirname "$0")/.."
quick=()
calls=1
for arg in "$@"; do
  case "$arg" in
    --quick) quick=(--quick) ;;
    --no-calls) calls=0 ;;
    *) echo "usage: bash bench/run.sh [--quick] [--no-calls]" >&2; exit 2 ;;
  esac
done
[ "$(id -u)" -eq 0 ] || { echo "bench/run.sh: must run as root" >&2; exit 1; }

bash scripts/deps.sh
# The plot: gnuplot only, no Python packages (the machine's python may not be Debian's).
command -v gnuplot >/dev/null || { DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
  --no-install-recommends gnuplot-nox >/dev/null; }
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)" >/dev/null

out=build/bench-out
start=$(date +%s)
step() { echo "== $1 ($(($(date +%s) - start)) s)" >&2; }
if [ "${SIPALG_BENCH_RENDER_ONLY:-}" != 1 ]; then  # 1: rewrite RESULTS.md from $out only
rm -rf "$out" && mkdir -p "$out"

step "per-program cost (BPF_PROG_TEST_RUN)"
samples=100000; [ ${#quick[@]} -gt 0 ] && samples=20000
build/bench/prog_cost "$samples" > "$out/prog_cost.txt"
step "media forwarding a/b/c/d/e"
python3 bench/media_fwd/media_fwd.py run "${quick[@]}" --gen build/bench/media_fwd_gen \
  --sipalg build/sipalg --json "$out/media_fwd.json" --md "$out/media_fwd.md" >&2
step "signalling through the router (SIPp)"
python3 bench/signalling/signalling.py "${quick[@]}" --sipalg build/sipalg --json "$out/signalling.json" \
  --md "$out/signalling.md" >&2
if [ "$calls" = 1 ]; then
  step "concurrent calls through the router (SIPp, 1,000 / 10,000 held calls)"
  python3 bench/signalling/calls.py "${quick[@]}" --sipalg build/sipalg --json "$out/calls.json" \
    --md "$out/calls.md" >&2
fi
step "scale (100k / 1M entries, enable/disable)"
build/bench/scale "${quick[@]}" --sipalg build/sipalg --json "$out/scale.json" --md "$out/scale.md" >&2
step "slow path"
python3 bench/slow_path/slow_path.py "${quick[@]}" --build build --json "$out/slow_path.json" \
  --md "$out/slow_path.md" >&2
echo $(($(date +%s) - start)) > "$out/seconds"
git rev-parse --short HEAD > "$out/commit"
fi
step "plot"
python3 bench/media_fwd/media_plot.py "$out/media_fwd.json" bench/media_fwd/media_fwd.png

{
  echo "# Benchmark results"
  echo
  echo "$(date -u +%Y-%m-%d) · $(python3 bench/lib/benchlib.py machine) · commit $(cat "$out/commit")"
  echo
  echo "Produced by \`bash bench/run.sh\` in $(cat "$out/seconds") s. Shared, noisy machine:"
  echo "medians, interleaved configurations, ratios within one run."
  echo
  echo "## 1. Per-program cost (bench/prog_cost, BPF_PROG_TEST_RUN)"
  echo
  echo '```'
  cat "$out/prog_cost.txt"
  echo '```'
  echo
  echo "Targets, steady figures above:"
  echo
  awk -F'  +' '
    function verdict(v, t) { return v <= t ? "met" : sprintf("NOT met (%.1fx the target)", v / t) }
    /^SIP INVITE\+SDP out/ { printf "- INVITE with SDP rewritten in the kernel <= 2 us: %d ns, %s\n", $2, verdict($2, 2000) }
    /^RTP in, XDP: pinhole/ { printf "- RTP lookup-and-NAT <= 100 ns, inbound (XDP): %d ns, %s\n", $2, verdict($2, 100) }
    /^RTP out, tc lan: pinhole/ { printf "- RTP lookup-and-NAT <= 100 ns, outbound (tc, LAN XDP not attached): %d ns, %s\n", $2, verdict($2, 100) }
    /^RTP out, LAN port XDP/ { printf "- RTP lookup-and-NAT <= 100 ns, outbound (LAN port XDP): %d ns, %s\n", $2, verdict($2, 100) }
    /^RTP in, XDP: to the learned/ { printf "- RTP lookup-and-NAT <= 100 ns, inbound (XDP, straight to the learned LAN port): %d ns, %s\n", $2, verdict($2, 100) }
  ' "$out/prog_cost.txt"
  echo
  cat "$out/media_fwd.md"; echo
  echo "![media forwarding](media_fwd/media_fwd.png)"; echo
  cat "$out/signalling.md"; echo
  if [ -f "$out/calls.md" ]; then cat "$out/calls.md"; echo; fi
  cat "$out/scale.md"; echo
  cat "$out/slow_path.md"
} > bench/RESULTS.md
step "done: bench/RESULTS.md, bench/media_fwd/media_fwd.png"
