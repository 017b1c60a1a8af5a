#!/usr/bin/env bash
# The main job: install what is needed, build sipalg, bring up a sandbox router in
# network namespaces (phones on a LAN bridge, nftables masquerade + firewall, a
# Kamailio registrar and a remote phone on the "Internet"), attach sipalg to the
# router's WAN, register a phone, place a call, show `sipalg status`, tear down.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)" >/dev/null
exec /usr/bin/python3 tests/e2e/sae.py --sipalg build/sipalg demo
