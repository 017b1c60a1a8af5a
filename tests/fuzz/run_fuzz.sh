#!/bin/sh
# One bounded libFuzzer run of a slow-path harness, as ctest runs it:
#   run_fuzz.sh FUZZER WORK_CORPUS SECONDS SEEDS [SHARED_CORPUS]
# libFuzzer writes what it discovers into the first corpus directory, so that is WORK_CORPUS
# (in the build tree); the seeds and the shared corpus (read in place, when present: its
# real/, rfc4475/ and rfc5118/ message sets; $SIPALG_CORPUS_DIR overrides its place) are
# only read; crashes are written next to WORK_CORPUS. Fails on any crash or property
# violation.
set -eu
fuzzer="$1" work="$2" seconds="$3" seeds="$4" shared="${SIPALG_CORPUS_DIR:-${5:-}}"
mkdir -p "$work"
set -- "$work" "$seeds"
if [ -n "$shared" ]; then
    for d in real rfc4475 rfc5118; do
        if [ -d "$shared/$d" ]; then set -- "$@" "$shared/$d"; fi
    done
fi
exec "$fuzzer" -max_total_time="$seconds" -runs=20000000 -max_len=8192 -timeout=10 \
    -rss_limit_mb=1024 -print_final_stats=1 -artifact_prefix="${work}_" "$@"
