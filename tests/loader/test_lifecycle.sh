#!/usr/bin/env bash
# Faults and lifecycle of an instance, without SIP traffic (tests/e2e/faults.py has the calls):
#   - a second load of a live instance is refused; a load SIGKILLed at any point leaves
#     nothing that blocks the next load, and unload then leaves nothing behind; an unload
#     SIGKILLed at any point is finished by the next one;
#   - a daemon SIGKILLed (ALG enabled, and disabled: its clock then stands still) is shown not
#     running by status within a few seconds; unload removes what it left (nft table, policy
#     rule and route table); a daemon still running when its instance is unloaded exits;
#   - unload leaves no pins, clsact qdiscs, filters, XDP, nft tables or policy routes;
#   - a pin dir left by a namespace that no longer exists (same --pin-root, or the default
#     root when the kernel hands the namespace inode out again) does not block a new load,
#     and one whose namespace still exists does.
#
# Usage: test_lifecycle.sh /path/to/sipalg   (root; ctest: loader_lifecycle). Namespaces
# sipalg-lc-*, pin root /sys/fs/bpf/sipalg-lc-$$, all removed on exit.
set -euo pipefail

SIPALG=$(readlink -f "${1:?usage: test_lifecycle.sh /path/to/sipalg}")
export PATH="$PATH:/usr/sbin:/sbin"
P="sipalg-lc-$$"
ROOT=/sys/fs/bpf/sipalg-lc-$$
TMP=$(mktemp -d)
STEP_TIMEOUT=20
PASSED=0
DAEMON_PID=
NAMESPACES=()
DEFAULT_DIRS=()

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    set +e
    [[ -n $DAEMON_PID ]] && kill -9 "$DAEMON_PID" 2>/dev/null
    for ns in "${NAMESPACES[@]}"; do
        if [[ -e /run/netns/$ns ]]; then
            timeout "$STEP_TIMEOUT" nsenter --net="/run/netns/$ns" "$SIPALG" unload --wan veth0 \
                --pin-root "$ROOT" >/dev/null 2>&1
            timeout "$STEP_TIMEOUT" nsenter --net="/run/netns/$ns" "$SIPALG" unload --wan veth0 \
                >/dev/null 2>&1
        fi
    done
    delete_netns "${NAMESPACES[@]}"
    rm -rf "$ROOT"
    for d in "${DEFAULT_DIRS[@]}"; do rm -rf "$d"; done
    rm -rf "$TMP"
    exit "$rc"
}
# shellcheck source=../common/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../common/lib.sh"
trap_cleanup

sipalg_in() { # NS ARGS... (the test's pin root unless DEFAULT_ROOT=1)
    local ns=$1
    shift
    if [[ ${DEFAULT_ROOT:-0} == 1 ]]; then
        run nsenter --net="/run/netns/$ns" "$SIPALG" "$@"
    else
        run nsenter --net="/run/netns/$ns" "$SIPALG" "$@" --pin-root "$ROOT"
    fi
}
must_succeed() {
    [[ $RC -eq 0 ]] || fail "$1: exit $RC"
}

# A router namespace: veth0 203.0.113.1/24 (WAN, its peer in a namespace of its own) and
# lan0 192.168.1.1/24.
make_router() {
    ip netns add "$1"
    NAMESPACES+=("$1")
    router_links "$1"
}
router_links() {
    local ns=$1
    in_ns "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
    in_ns "$ns" sysctl -qw net.ipv6.conf.default.disable_ipv6=1
    in_ns "$ns" ip link set lo up
    in_ns "$ns" ip link add veth0 type veth peer name veth1
    in_ns "$ns" ip addr add 203.0.113.1/24 dev veth0
    in_ns "$ns" ip link add lan0 type veth peer name lan1
    in_ns "$ns" ip addr add 192.168.1.1/24 dev lan0
    for l in veth0 veth1 lan0 lan1; do in_ns "$ns" ip link set "$l" up; done
}
drop_ns() {
    local ns=$1
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$pid" 2>/dev/null || true; done
    ip netns del "$ns"
}
# Nothing of sipalg left in NS: no XDP, no tc filter, no clsact qdisc, no nft table, no
# policy rule for the daemon's mark, no route in its table, no pin dir DIR.
assert_clean() {
    local ns=$1 dir=$2 what=$3
    local x
    for l in veth0 lan0; do
        x=$(in_ns "$ns" ip -d link show "$l")
        [[ $x != *prog/xdp* && $x != *" xdp "* && $x != *xdpgeneric* && $x != *xdpdrv* ]] ||
            fail "$what: XDP left on $l: $x"
        x=$(in_ns "$ns" tc qdisc show dev "$l")
        [[ $x != *clsact* ]] || fail "$what: clsact qdisc left on $l: $x"
        for d in ingress egress; do
            x=$(in_ns "$ns" tc filter show dev "$l" "$d" 2>/dev/null || true)
            [[ -z $x ]] || fail "$what: tc filter left on $l $d: $x"
        done
    done
    x=$(in_ns "$ns" nft list tables)
    [[ $x != *sipalg* ]] || fail "$what: nft table left: $x"
    x=$(in_ns "$ns" ip -4 rule show)
    [[ $x != *fwmark* ]] || fail "$what: policy rule left: $x"
    x=$(in_ns "$ns" ip -4 route show table 1306 2>/dev/null || true)
    [[ -z $x ]] || fail "$what: routes left in table 1306: $x"
    [[ ! -e $dir ]] || fail "$what: pin dir $dir left"
}
# Waits (bounded) until `status -j` in NS says daemon_attached == WANT; prints seconds taken.
wait_daemon_attached() {
    local ns=$1 want=$2 limit=$3
    local start now
    start=$(date +%s%3N)
    while :; do
        sipalg_in "$ns" status --wan veth0 -j
        now=$(date +%s%3N)
        if [[ $(jq -r '.daemon_attached' <<<"$OUT" 2>/dev/null) == "$want" ]]; then
            printf '%d.%03d\n' $(((now - start) / 1000)) $(((now - start) % 1000))
            return 0
        fi
        ((now - start <= limit * 1000)) || return 1
        sleep 0.1
    done
}
start_daemon() {
    local ns=$1
    nsenter --net="/run/netns/$ns" "$SIPALG" daemon --wan veth0 --pin-root "$ROOT" \
        >"$TMP/daemon.log" 2>&1 &
    DAEMON_PID=$!
    wait_daemon_attached "$ns" true 5 >/dev/null || fail "the daemon did not attach in 5 s"
}
# Runs `sipalg ARGS...` in NS on the test's pin root and SIGKILLs it after DELAY seconds.
kill_after() {
    local delay=$1 ns=$2 pid
    shift 2
    nsenter --net="/run/netns/$ns" "$SIPALG" "$@" --pin-root "$ROOT" >/dev/null 2>&1 &
    pid=$!
    sleep "$delay"
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

# ---- preconditions ----
[[ $(id -u) -eq 0 ]] || fail "must run as root"
for tool in bpftool jq nsenter ip tc nft timeout; do
    command -v "$tool" >/dev/null || fail "missing tool: $tool"
done
mkdir -p "$ROOT"

make_router "$P-a"
DIR=$ROOT/veth0

# ---- a live instance is refused, and its record is there ----
sipalg_in "$P-a" load --wan veth0
must_succeed "load"
[[ -e $DIR/sipalg_owner ]] || fail "no owner record in $DIR"
sipalg_in "$P-a" load --wan veth0
[[ $RC -ne 0 && $ERR == *"already loaded on veth0"* ]] || fail "a second load was not refused"
ok "a second load of a live instance is refused ($ERR)"
sipalg_in "$P-a" unload --wan veth0
must_succeed "unload"
assert_clean "$P-a" "$DIR" "unload"
ok "unload leaves no pins, XDP, filters, clsact qdiscs"

# ---- load killed at any point ----
STALE=0
LIVE=0
for delay in 0.02 0.1 0.3 0.6 1.0 1.6 2.5; do
    kill_after "$delay" "$P-a" load --wan veth0
    sipalg_in "$P-a" load --wan veth0
    if [[ $RC -ne 0 ]]; then
        # Only a load that had finished before the kill may be refused, and it must be whole.
        [[ $ERR == *"already loaded on veth0"* ]] || fail "load after a load killed at $delay s"
        sipalg_in "$P-a" status --wan veth0 -j
        [[ $RC -eq 0 && $(jq .healthy <<<"$OUT") == true ]] ||
            fail "load killed at $delay s was refused, but the instance is not healthy"
        LIVE=$((LIVE + 1))
    else
        [[ $ERR != *"removed a stale instance"* ]] || STALE=$((STALE + 1))
        sipalg_in "$P-a" status --wan veth0 -j
        [[ $RC -eq 0 && $(jq .healthy <<<"$OUT") == true ]] ||
            fail "the load after one killed at $delay s is not healthy"
    fi
    sipalg_in "$P-a" unload --wan veth0
    must_succeed "unload after a load killed at $delay s"
    assert_clean "$P-a" "$DIR" "unload after a load killed at $delay s"
done
ok "a load SIGKILLed at 7 points: the next load works ($STALE times after removing what it left, $LIVE times the killed one had finished and was refused as loaded); unload leaves nothing"

# ---- unload killed at any point: the next unload (or load) finishes the job ----
DONE=0
for delay in 0.005 0.02 0.05 0.1 0.2; do
    sipalg_in "$P-a" load --wan veth0
    must_succeed "load before a killed unload"
    kill_after "$delay" "$P-a" unload --wan veth0
    sipalg_in "$P-a" unload --wan veth0
    if [[ $RC -ne 0 ]]; then
        [[ $ERR == *"not loaded"* ]] || fail "unload after an unload killed at $delay s"
        DONE=$((DONE + 1))
    fi
    assert_clean "$P-a" "$DIR" "unload after an unload killed at $delay s"
done
ok "an unload SIGKILLed at 5 points: the next unload leaves nothing ($DONE times the killed one had finished)"

# ---- the daemon SIGKILLed: status, and what unload removes ----
for alg in enable disable; do
    sipalg_in "$P-a" load --wan veth0
    must_succeed "load"
    sipalg_in "$P-a" "$alg" --wan veth0
    must_succeed "$alg"
    start_daemon "$P-a"
    kill -9 "$DAEMON_PID"
    wait "$DAEMON_PID" 2>/dev/null || true
    DAEMON_PID=
    t=$(wait_daemon_attached "$P-a" false 4) ||
        fail "status still says the daemon is attached 4 s after SIGKILL (ALG ${alg}d)"
    sipalg_in "$P-a" status --wan veth0
    [[ $OUT == *"daemon not running (it stopped without detaching"* ]] ||
        fail "status text does not say the daemon stopped: $(grep 'slow path' <<<"$OUT")"
    ok "ALG ${alg}d: status shows a SIGKILLed daemon not running after ${t} s"
    [[ $(in_ns "$P-a" nft list tables) == *sipalg_slow_veth0* ]] ||
        fail "expected the killed daemon's nft table to be there before unload"
    sipalg_in "$P-a" unload --wan veth0
    must_succeed "unload after the daemon was killed"
    assert_clean "$P-a" "$DIR" "unload after a SIGKILLed daemon (ALG ${alg}d)"
    ok "ALG ${alg}d: unload removes the killed daemon's nft table, policy rule and routes"
done

# ---- the daemon still running at unload exits by itself ----
sipalg_in "$P-a" load --wan veth0
must_succeed "load"
start_daemon "$P-a"
sipalg_in "$P-a" unload --wan veth0
must_succeed "unload with the daemon running"
for _ in $(seq 1 50); do
    kill -0 "$DAEMON_PID" 2>/dev/null || break
    sleep 0.1
done
if kill -0 "$DAEMON_PID" 2>/dev/null; then
    fail "the daemon still runs 5 s after its instance was unloaded"
fi
wait "$DAEMON_PID" || fail "the daemon exited with $? after unload"
DAEMON_PID=
grep -q "the instance was unloaded; exiting" "$TMP/daemon.log" || fail "daemon log: $(cat "$TMP/daemon.log")"
assert_clean "$P-a" "$DIR" "unload with the daemon running"
sipalg_in "$P-a" load --wan veth0
must_succeed "load again after unload"
sipalg_in "$P-a" unload --wan veth0
must_succeed "unload"
ok "unload with the daemon running: it exits within 5 s, nothing is left, load works again"

# ---- pins of a namespace that is gone, under the same --pin-root ----
sipalg_in "$P-a" load --wan veth0
must_succeed "load in a"
drop_ns "$P-a"
[[ -e $DIR/sipalg_config ]] || fail "expected the dead namespace's pins to stay in $DIR"
make_router "$P-b"
sipalg_in "$P-b" load --wan veth0
must_succeed "load in a fresh namespace over a dead one's pins"
[[ $ERR == *"removed a stale instance in $DIR"*"no longer exists"* ]] ||
    fail "no clear message about the stale instance: $ERR"
ok "a dead namespace's pins are removed by the next load, saying so: ${ERR#sipalg: }"
make_router "$P-c"
sipalg_in "$P-c" load --wan veth0
[[ $RC -ne 0 && $ERR == *"already loaded on veth0"*"another network namespace that still exists"* ]] ||
    fail "a live instance of another namespace under the same root was not refused"
sipalg_in "$P-b" status --wan veth0 -j
[[ $RC -eq 0 && $(jq .healthy <<<"$OUT") == true ]] || fail "b's instance suffered from c's load"
ok "the same pin dir held by a namespace that still exists is refused and left alone"
sipalg_in "$P-b" unload --wan veth0
must_succeed "unload in b"

# ---- the default root, keyed by the namespace inode, when the kernel reuses the inode ----
DEFAULT_ROOT=1 sipalg_in "$P-b" load --wan veth0
must_succeed "load with the default root"
INO=$(in_ns "$P-b" stat -L -c %i /proc/self/ns/net)
DDIR=/sys/fs/bpf/sipalg/netns-$INO/veth0
DEFAULT_DIRS+=("/sys/fs/bpf/sipalg/netns-$INO")
[[ -e $DDIR/sipalg_config ]] || fail "no pins in $DDIR"
drop_ns "$P-b"
# The kernel hands out the lowest free number: namespaces that get other numbers are kept
# (until cleanup) so that the next one climbs to the dead namespace's once it is freed.
REUSED=
for i in $(seq 1 100); do
    ip netns add "$P-r$i"
    NAMESPACES+=("$P-r$i")
    ino=$(in_ns "$P-r$i" stat -L -c %i /proc/self/ns/net)
    if [[ $ino == "$INO" ]]; then
        REUSED=$P-r$i
        break
    fi
    ((ino < INO)) || { ip netns del "$P-r$i"; sleep 0.25; }
done
if [[ -z $REUSED ]]; then
    echo "note: the kernel did not hand out inode $INO again in 100 tries; default-root case not run"
else
    router_links "$REUSED"
    [[ $(in_ns "$REUSED" stat -L -c %i /proc/self/ns/net) == "$INO" ]] || fail "inode changed"
    DEFAULT_ROOT=1 sipalg_in "$REUSED" load --wan veth0
    must_succeed "load in a new namespace with the dead one's inode $INO"
    [[ $ERR == *"removed a stale instance in $DDIR"* ]] || fail "no stale message: $ERR"
    ok "a new namespace reusing inode $INO and the name veth0 loads: ${ERR#sipalg: }"
    DEFAULT_ROOT=1 sipalg_in "$REUSED" unload --wan veth0
    must_succeed "unload in the reused namespace"
fi

echo "$PASSED passed, 0 failed"
