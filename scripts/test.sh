#!/usr/bin/env bash
# The test command: installs what it needs, builds, and runs every test (unit,
# BPF packet tests, loader, end-to-end scenarios) through ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)"
cd build
exec ctest --output-on-failure --timeout 1500 "$@"
