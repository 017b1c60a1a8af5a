#!/usr/bin/env bash
# The test command: installs what it needs, builds, and runs every test (unit,
# BPF packet tests, loader, end-to-end scenarios) through ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
# Release: then the main build is also the check that no GCC warning stops a Release build
# (some, like GCC 12's false -Wrestrict inside std::string, appear at -O3 and not at
# RelWithDebInfo's -O2); tests/source checks the other compiler.
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)"
cd build
exec ctest --output-on-failure --timeout 1500 "$@"
