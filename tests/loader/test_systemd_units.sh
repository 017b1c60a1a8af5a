#!/usr/bin/env bash
# The systemd units as installed, checked by systemd-analyze verify (syntax, dependencies, and
# that ExecStart names an executable: here the built binary stands in for the installed one),
# and that they run the commands the README documents. (CI has no systemd as PID 1, so the
# units are not started here; the commands themselves are tested by test_loader.sh and e2e.)
set -euo pipefail
units=$1 sipalg=$2
command -v systemd-analyze >/dev/null || { echo "SKIP: no systemd-analyze"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for u in sipalg@ sipalg-daemon@; do
  sed "s|ExecStart=[^ ]*/sipalg |ExecStart=$sipalg |; s|ExecStop=[^ ]*/sipalg |ExecStop=$sipalg |" \
    "$units/${u}.service" > "$tmp/${u}wan0.service"
done
out=$(cd "$tmp" && systemd-analyze verify --man=no ./sipalg@wan0.service ./sipalg-daemon@wan0.service 2>&1 \
  | grep -v -e "is not executable" -e "Unit sys-subsystem-net-devices" -e "documentation" || true)
# The installed path does not exist on a build machine; every other complaint is a failure.
if [ -n "$out" ]; then echo "systemd-analyze verify:"; echo "$out"; exit 1; fi
grep -q "^ExecStart=.*/sipalg daemon --wan %i \$SIPALG_DAEMON_OPTS$" "$units/sipalg-daemon@.service"
grep -q "^Requires=sipalg@%i.service$" "$units/sipalg-daemon@.service"
grep -q "^ExecStart=.*/sipalg load --wan %i \$SIPALG_LOAD_OPTS$" "$units/sipalg@.service"
grep -q "^ExecStop=.*/sipalg unload --wan %i$" "$units/sipalg@.service"
echo "systemd units: ok"
