# Shared by the loader's and the fast path's shell tests (sourced after TMP, PASSED and
# STEP_TIMEOUT are set):
# test output in TAP-like lines, time-bounded steps, commands in a named namespace.

fail() {
    echo "FAIL: $*" >&2
    [[ -s $TMP/out ]] && sed 's/^/  stdout: /' "$TMP/out" >&2
    [[ -s $TMP/err ]] && sed 's/^/  stderr: /' "$TMP/err" >&2
    # The logs of the helpers a test started (echo servers, listeners), their last lines.
    for f in "$TMP"/*.log; do [[ -s $f ]] && tail -n 5 "$f" | sed "s|^|  $(basename "$f"): |" >&2; done
    echo "$PASSED passed, 1 failed"
    exit 1
}
ok() {
    PASSED=$((PASSED + 1))
    echo "ok $PASSED - $*"
}

# run CMD...: runs with a time bound, never aborts the script; sets RC, OUT, ERR.
run() {
    set +e
    timeout "$STEP_TIMEOUT" "$@" >"$TMP/out" 2>"$TMP/err"
    RC=$?
    set -e
    OUT=$(cat "$TMP/out")
    ERR=$(cat "$TMP/err")
}
in_ns() {
    local ns=$1
    shift
    nsenter --net="/run/netns/$ns" "$@"
}

# Deletes network namespaces, killing what still runs in them first.
delete_netns() {
    local ns pid
    for ns in "$@"; do
        [[ -e /run/netns/$ns ]] || continue
        for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$pid" 2>/dev/null; done
        ip netns del "$ns" 2>/dev/null
    done
}

# The script's cleanup() runs on every exit; INT and TERM exit with the shell's codes for them
# (which runs it too).
trap_cleanup() {
    trap cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
}
