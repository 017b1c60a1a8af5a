#!/usr/bin/env bash
# End-to-end test of the sipalg CLI: load/enable/disable/status/unload and the error contract,
# checked against what bpftool reads from the kernel and from the pinned maps.
#
# Usage: test_loader.sh /path/to/sipalg        (root; registered with ctest as loader_cli)
#
# Everything happens in throwaway network namespaces with veth pairs that route nowhere
# (203.0.113.0/24, documentation range). sipalg runs via `nsenter --net=` (not `ip netns
# exec`, which would remount /sys and hide the host's bpffs).
set -euo pipefail

SIPALG=${1:?usage: test_loader.sh /path/to/sipalg}
SIPALG=$(readlink -f "$SIPALG")
HERE=$(dirname "$(readlink -f "$0")")
export PATH="$PATH:/usr/sbin:/sbin"

NS_A="sipalg-lt-$$"      # router A: wan veth0, its "Internet" peer in NS_P
NS_P="sipalg-lt-$$-peer" # the far end of A's WAN
NS_B="sipalg-lt-$$-b"    # router B: also has a veth0, to prove pin dirs don't collide
TMP=$(mktemp -d)
STEP_TIMEOUT=20
PASSED=0

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    set +e
    for ns in "$NS_A" "$NS_B"; do
        if [[ -e /run/netns/$ns ]]; then
            timeout "$STEP_TIMEOUT" nsenter --net="/run/netns/$ns" "$SIPALG" unload --wan veth0 \
                >/dev/null 2>&1
        fi
    done
    for dir in "${PIN_A:-}" "${PIN_B:-}"; do
        [[ -n $dir && -d $dir ]] && rm -rf "$dir"
    done
    delete_netns "$NS_A" "$NS_P" "$NS_B"
    rm -rf "$TMP"
    exit "$rc"
}
# shellcheck source=../common/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../common/lib.sh"
trap_cleanup

sipalg_in() {
    local ns=$1
    shift
    run nsenter --net="/run/netns/$ns" "$SIPALG" "$@"
}
# must_succeed DESCRIPTION: after run, require exit 0 and no stderr.
must_succeed() {
    [[ $RC -eq 0 ]] || fail "$1: exit $RC"
    [[ -z $ERR ]] || fail "$1: unexpected stderr"
}
# must_fail DESCRIPTION PHRASE: after run, require non-zero exit and exactly one stderr line,
# prefixed "sipalg: " and containing PHRASE.
must_fail() {
    [[ $RC -ne 0 ]] || fail "$1: exited 0"
    [[ $RC -ne 124 ]] || fail "$1: timed out"
    [[ $(wc -l <"$TMP/err") -eq 1 ]] || fail "$1: expected exactly one stderr line"
    [[ $ERR == "sipalg: "* ]] || fail "$1: stderr not prefixed 'sipalg: '"
    [[ $ERR == *"$2"* ]] || fail "$1: stderr lacks '$2'"
    ok "$1 -> '$2'"
}
# Enable flag as the kernel has it in the pinned map, read with bpftool (BTF-formatted).
pinned_enabled() {
    timeout "$STEP_TIMEOUT" bpftool map dump pinned "$1/sipalg_config" -j |
        jq -e '.[0].formatted.value.enabled'
}
status_json() { # NS -> JSON of `status --wan veth0 -j`
    sipalg_in "$1" status --wan veth0 -j
    must_succeed "status -j in $1"
    echo "$OUT"
}
counter() { # JSON NAME
    jq -e ".counters.$2" <<<"$1"
}

# ---- preconditions ----
[[ $(id -u) -eq 0 ]] || fail "must run as root (creates namespaces, loads BPF)"
for tool in bpftool jq nsenter setpriv unshare ip ping timeout python3; do
    command -v "$tool" >/dev/null || fail "missing tool: $tool"
done
if [[ $(stat -f -c %T /sys/fs/bpf 2>/dev/null) != bpf_fs ]]; then
    mount -t bpf bpf /sys/fs/bpf || fail "bpffs is not mounted and cannot be mounted"
fi

# ---- topology ----
for ns in "$NS_A" "$NS_P" "$NS_B"; do
    ip netns add "$ns"
    in_ns "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 # keep background chatter away
    in_ns "$ns" sysctl -qw net.ipv6.conf.default.disable_ipv6=1
    in_ns "$ns" ip link set lo up
done
ip -n "$NS_A" link add veth0 type veth peer name veth1 netns "$NS_P"
ip -n "$NS_A" addr add 203.0.113.1/24 dev veth0
ip -n "$NS_P" addr add 203.0.113.2/24 dev veth1
ip -n "$NS_A" link set veth0 up
ip -n "$NS_P" link set veth1 up
# A's LAN: found by load itself (the only interface with a private address).
ip -n "$NS_A" link add lan0 type veth peer name lan1
ip -n "$NS_A" addr add 192.168.1.1/24 dev lan0
ip -n "$NS_A" link set lan0 up
ip -n "$NS_A" link set lan1 up
# B has no addresses at all: its load must be told everything on the command line.
ip -n "$NS_B" link add veth0 type veth peer name veth1
ip -n "$NS_B" link set veth0 up
ip -n "$NS_B" link set veth1 up
ip -n "$NS_B" link add lan0 type veth peer name lan1
ip -n "$NS_B" link set lan0 up
ip -n "$NS_B" link set lan1 up
B_LOAD_ARGS=(--public-ip 203.0.113.9 --lan lan0 --lan-prefix 192.168.2.0/24)

INO_A=$(in_ns "$NS_A" stat -L -c %i /proc/self/ns/net)
INO_B=$(in_ns "$NS_B" stat -L -c %i /proc/self/ns/net)
PIN_A=/sys/fs/bpf/sipalg/netns-$INO_A/veth0
PIN_B=/sys/fs/bpf/sipalg/netns-$INO_B/veth0

# ---- load ----
sipalg_in "$NS_A" load --wan veth0
must_succeed "load in A"
[[ $(wc -l <"$TMP/out") -eq 1 ]] || fail "load should print one line"
[[ $OUT == *"ALG: disabled"* && $OUT == *"sipalg enable --wan veth0"* ]] ||
    fail "load line must say the ALG is disabled until enabled"
ok "load prints one line saying the ALG is disabled"

for pin in sipalg_config sipalg_counters sipalg_slots sipalg_binds sipalg_pins sipalg_phones \
    sipalg_state sipalg_lanifs sipalg_ifaces sipalg_dialogs sipalg_limits sipalg_regs \
    sipalg_rates sipalg_failover prog_wan_xdp prog_wan_egress \
    prog_wan_ingress prog_lan_ingress prog_admin; do
    [[ -e $PIN_A/$pin ]] || fail "missing pin $PIN_A/$pin"
done
ok "pins created under per-netns dir $PIN_A"

[[ $(pinned_enabled "$PIN_A") == 0 ]] || fail "pinned enabled flag should start at 0"
ok "pinned config map (bpftool) says enabled=0 after load"

S=$(status_json "$NS_A")
[[ $(jq -r .pin_dir <<<"$S") == "$PIN_A" ]] || fail "status pin_dir != $PIN_A"
[[ $(jq -r .alg <<<"$S") == disabled && $(jq .enabled <<<"$S") == false ]] ||
    fail "status -j should say disabled"
[[ $(jq .healthy <<<"$S") == true ]] || fail "status -j not healthy: $(jq -c .problems <<<"$S")"
ok "status -j: disabled, healthy, pin_dir"

[[ $(jq -r .public_ip <<<"$S") == 203.0.113.1 ]] || fail "public_ip not discovered from veth0"
[[ $(jq -c .lan_prefixes <<<"$S") == '["192.168.1.0/24"]' ]] || fail "LAN prefix not discovered"
[[ $(jq -c '[.lan[] | [.interface, .attached]]' <<<"$S") == '[["lan0",true]]' ]] ||
    fail "LAN hook on lan0 not reported attached: $(jq -c .lan <<<"$S")"
[[ $(jq .wan_in.attached <<<"$S") == true && $(jq -r .wan_in.prog_name <<<"$S") == sipalg_wan_ingress ]] ||
    fail "WAN ingress hook not attached"
[[ $(jq .bindings <<<"$S") == 0 && $(jq .pinholes <<<"$S") == 0 && $(jq .dialogs <<<"$S") == 0 ]] ||
    fail "fresh instance has state"
[[ $(jq -c .config.sip_ports <<<"$S") == '[5060]' && $(jq .config.port_min <<<"$S") == 1024 ]] ||
    fail "default config not reported"
ok "status -j: discovered public 203.0.113.1, LAN lan0 192.168.1.0/24, all hooks, empty state"

[[ $(jq -c '.config | [.dialog_idle_s, .max_dialogs_per_phone, .max_dialogs]' <<<"$S") == '[300,64,16384]' ]] ||
    fail "default dialog limits not reported: $(jq -c .config <<<"$S")"
LIMITS=$(timeout "$STEP_TIMEOUT" bpftool map dump pinned "$PIN_A/sipalg_limits" -j |
    jq -c '.[0].formatted.value | [.dlg_idle_s, .dlg_max_phone, .dlg_max_total]')
[[ $LIMITS == '[300,64,16384]' ]] || fail "pinned limits map (bpftool) holds $LIMITS"
ok "default dialog limits in the pinned limits map (bpftool) and in status -j"

# ---- policies: listed, switched at runtime in the pinned limits map, refused when unknown ----
[[ $(jq -c .config.policies <<<"$S") == '{"local-media":false,"failover":false}' ]] ||
    fail "default policies not reported: $(jq -c .config.policies <<<"$S")"
pinned_policy() {
    timeout "$STEP_TIMEOUT" bpftool map dump pinned "$PIN_A/sipalg_limits" -j |
        jq -e '.[0].formatted.value.policy'
}
[[ $(pinned_policy) == 0 ]] || fail "pinned policy word should start at 0 (every policy off)"
sipalg_in "$NS_A" policy --wan veth0 local-media on
must_succeed "policy local-media on"
[[ $OUT == "veth0: policy local-media on" ]] || fail "policy on printed '$OUT'"
[[ $(pinned_policy) == 1 ]] || fail "policy local-media on did not reach the pinned limits map"
sipalg_in "$NS_A" policy -j
must_succeed "policy -j (the one instance)"
[[ $(jq -c .policies <<<"$OUT") == '{"local-media":true,"failover":false}' &&
    $(jq -c .defaults <<<"$OUT") == '{"local-media":false,"failover":false}' ]] ||
    fail "policy -j says $OUT"
sipalg_in "$NS_A" status --wan veth0
[[ $OUT == *"policies: local-media on"* ]] || fail "status does not show the policy switched on"
sipalg_in "$NS_A" policy --wan veth0 local-media off
must_succeed "policy local-media off"
[[ $(pinned_policy) == 0 ]] || fail "policy local-media off did not reach the pinned limits map"
ok "policy local-media on/off at runtime: pinned limits map, policy -j and status agree"
sipalg_in "$NS_A" policy --wan veth0 no-such-policy on
must_fail "policy with an unknown name" "the policies are: local-media, failover"
sipalg_in "$NS_A" policy --wan veth0 local-media maybe
must_fail "policy with a bad state" "needs on or off"

[[ $(jq -c '.failover | [.policy, .server, .after_s, .wan, .redirecting]' <<<"$S") == '[false,null,30,"unknown",false]' ]] ||
    fail "failover defaults not reported: $(jq -c .failover <<<"$S")"
sipalg_in "$NS_A" status --wan veth0
must_succeed "status in A"
[[ $(cat "$TMP/out") == *"failover: policy off, server none"*"WAN state unknown"* ]] ||
    fail "status text lacks the failover line"
ok "status: the failover policy off, no server, WAN state unknown without a daemon"
sipalg_in "$NS_A" policy --wan veth0 failover on
must_fail "policy failover on without a server" "--failover-server"
[[ $(pinned_policy) == 0 ]] || fail "a refused policy failover on changed the pinned map"
ok "policy failover on is refused while no internal server is configured, nothing changes"

sleep 0.6
S=$(status_json "$NS_A")
[[ $(jq .aging.ticks <<<"$S") -ge 1 && $(jq .aging.last_tick_s_ago <<<"$S") -le 2 ]] ||
    fail "aging timer not running: $(jq -c .aging <<<"$S")"
ok "the aging timer runs after load ($(jq .aging.ticks <<<"$S") ticks)"

NET=$(in_ns "$NS_A" bpftool net show dev veth0 -j)
BPFTOOL_XDP=$(jq -e '.[0].xdp[0].id' <<<"$NET") || fail "bpftool shows no XDP program"
BPFTOOL_TC=$(jq -e '[.[0].tc[] | select(.kind == "clsact/egress")][0].id' <<<"$NET") ||
    fail "bpftool shows no clsact egress program"
[[ $BPFTOOL_XDP == $(jq .xdp.if_prog_id <<<"$S") ]] ||
    fail "XDP id: bpftool $BPFTOOL_XDP vs status $(jq .xdp.if_prog_id <<<"$S")"
[[ $BPFTOOL_TC == $(jq .tc.prog_id <<<"$S") ]] ||
    fail "tc id: bpftool $BPFTOOL_TC vs status $(jq .tc.prog_id <<<"$S")"
XDP_ID=$(jq .xdp.prog_id <<<"$S")
TC_ID=$BPFTOOL_TC
[[ $(bpftool prog show id "$XDP_ID" -j | jq -r .name) == sipalg_wan_xdp ]] ||
    fail "status xdp.prog_id is not sipalg_wan_xdp"
[[ $(bpftool prog show pinned "$PIN_A/prog_wan_xdp" -j | jq .id) == "$XDP_ID" ]] ||
    fail "pinned prog_wan_xdp is not the attached program"
[[ $(bpftool prog show id "$TC_ID" -j | jq -r .name) == sipalg_wan_egress ]] ||
    fail "tc program is not sipalg_wan_egress"
ok "program ids from bpftool net show == status -j (xdp $BPFTOOL_XDP, tc $TC_ID)"

BPFTOOL_WAN_IN=$(jq -e '[.[0].tc[] | select(.kind == "clsact/ingress")][0].id' <<<"$NET") ||
    fail "bpftool shows no clsact ingress program on veth0"
[[ $BPFTOOL_WAN_IN == $(jq .wan_in.prog_id <<<"$S") ]] || fail "wan_in id: bpftool vs status"
LAN_NET=$(in_ns "$NS_A" bpftool net show dev lan0 -j)
BPFTOOL_LAN=$(jq -e '[.[0].tc[] | select(.kind == "clsact/ingress")][0].id' <<<"$LAN_NET") ||
    fail "bpftool shows no clsact ingress program on lan0"
[[ $BPFTOOL_LAN == $(jq '.lan[0].prog_id' <<<"$S") ]] || fail "lan id: bpftool vs status"
[[ $(bpftool prog show id "$BPFTOOL_LAN" -j | jq -r .name) == sipalg_lan_ingress ]] ||
    fail "lan0 ingress does not run sipalg_lan_ingress"
ok "bpftool sees sipalg_wan_ingress on veth0 ingress and sipalg_lan_ingress on lan0 ingress"

run nsenter --net="/run/netns/$NS_A" "$SIPALG" status --wan veth0
must_succeed "status (human)"
[[ $OUT == *"ALG: disabled"* && $OUT != *"ALG: enabled"* ]] || fail "human status not 'ALG: disabled'"
[[ $OUT == *"sipalg_wan_xdp id $XDP_ID"* && $OUT == *"sipalg_wan_egress id $TC_ID"* ]] ||
    fail "human status lacks program ids"
ok "human status says 'ALG: disabled' and names the programs"

# ---- traffic passes untouched and is counted (ALG disabled) ----
run nsenter --net="/run/netns/$NS_A" ping -c 3 -i 0.2 -W 2 203.0.113.2
must_succeed "ping through the programs (disabled)"
S=$(status_json "$NS_A")
XDP_SEEN=$(counter "$S" xdp_seen)
[[ $XDP_SEEN -ge 3 && $(counter "$S" tc_seen) -ge 3 ]] || fail "counters did not count the pings"
[[ $(counter "$S" xdp_alg_off) -eq $XDP_SEEN ]] || fail "xdp_alg_off should equal xdp_seen while disabled"
ok "pings pass; xdp_seen=$XDP_SEEN tc_seen=$(counter "$S" tc_seen), all counted as alg_off"

# ---- enable / disable (checked in the pinned map with bpftool) ----
# `sipalg CMD` in A, CMD enable or disable: it prints the new state, the pinned flag becomes
# FLAG, and the human status shows that state, not the other.
switch_alg() { # CMD FLAG
    local cmd=$1 flag=$2 state=${1}d other=enabled
    [[ $cmd == disable ]] || other=disabled
    sipalg_in "$NS_A" "$cmd" --wan veth0
    must_succeed "$cmd"
    [[ $OUT == *"ALG: $state"* ]] || fail "$cmd should print the new state"
    [[ $(pinned_enabled "$PIN_A") == "$flag" ]] ||
        fail "pinned enabled flag should be $flag after $cmd"
    run nsenter --net="/run/netns/$NS_A" "$SIPALG" status --wan veth0
    [[ $OUT == *"ALG: $state"* && $OUT != *"ALG: $other"* ]] || fail "human status not 'ALG: $state'"
}
switch_alg enable 1
S=$(status_json "$NS_A")
[[ $(jq .xdp.prog_id <<<"$S") == "$XDP_ID" ]] || fail "enable must not reload programs"
ok "enable flips the pinned map to 1 without reload; status says 'ALG: enabled'"

OFF_BEFORE=$(counter "$S" xdp_alg_off)
run nsenter --net="/run/netns/$NS_A" ping -c 3 -i 0.2 -W 2 203.0.113.2
must_succeed "ping through the programs (enabled)"
S=$(status_json "$NS_A")
[[ $(counter "$S" xdp_seen) -ge $((XDP_SEEN + 3)) ]] || fail "xdp_seen did not grow"
[[ $(counter "$S" xdp_alg_off) -eq $OFF_BEFORE ]] || fail "xdp_alg_off grew while enabled"
ok "enabled: pings pass, counted as seen but not alg_off"

switch_alg disable 0
ok "disable flips the pinned map back to 0; status says 'ALG: disabled'"

# ---- dialogs: listing of a fresh instance ----
sipalg_in "$NS_A" dialogs --wan veth0 -j
must_succeed "dialogs -j (empty)"
[[ $(jq -c '.dialogs' <<<"$OUT") == '[]' && $(jq .dialog_idle_s <<<"$OUT") == 300 &&
    $(jq -r .interface <<<"$OUT") == veth0 ]] || fail "fresh instance lists dialogs: $OUT"
sipalg_in "$NS_A" dialogs
must_succeed "dialogs (human, --wan omitted: the only instance)"
[[ $OUT == "veth0: 0 dialogs (ended after 300 s without SIP or media)" ]] ||
    fail "human dialog listing of a fresh instance"
ok "dialogs: an empty list on a fresh instance (JSON and text)"

run "$SIPALG" load --help
must_succeed "load --help"
for opt in --dialog-idle --max-dialogs-per-phone --max-dialogs; do
    grep -qe "$opt" <<<"$OUT" || fail "load --help does not explain $opt"
done
ok "load --help explains the dialog options"

# ---- bindings and pinholes: listings, manual pinholes ----
sipalg_in "$NS_A" pinholes -j
must_succeed "pinholes -j (empty)"
[[ $(jq '.pinholes | length' <<<"$OUT") == 0 ]] || fail "fresh instance lists pinholes"
sipalg_in "$NS_A" pinholes add --wan veth0 --private 192.168.1.10:40000 --remote 198.51.100.20:50000
must_succeed "pinholes add"
[[ $OUT == *"public port 40000"* ]] || fail "pinholes add should preserve the port: $OUT"
sipalg_in "$NS_A" pinholes add --wan veth0 --private 192.168.1.11:40000
must_succeed "pinholes add (second phone, same port, remote unknown)"
sipalg_in "$NS_A" pinholes --wan veth0 -j
must_succeed "pinholes -j"
[[ $(jq '.pinholes | length' <<<"$OUT") == 2 ]] || fail "expected 2 pinholes: $OUT"
P1=$(jq -c '.pinholes[] | select(.private == "192.168.1.10:40000")' <<<"$OUT")
[[ $(jq -r .public <<<"$P1") == 203.0.113.1:40000 && $(jq -r .remote <<<"$P1") == 198.51.100.20 &&
    $(jq .remote_port <<<"$P1") == 50000 && $(jq .refs <<<"$P1") == 0 ]] ||
    fail "pinhole 1 listed wrong: $P1"
P2=$(jq -c '.pinholes[] | select(.private == "192.168.1.11:40000")' <<<"$OUT")
[[ $(jq .public_port <<<"$P2") != 40000 && $(jq .remote <<<"$P2") == null ]] ||
    fail "pinhole 2 must get another port and no remote: $P2"
run nsenter --net="/run/netns/$NS_A" "$SIPALG" pinholes --wan veth0
must_succeed "pinholes (human)"
[[ $OUT == *"2 pinholes"* && $OUT == *"198.51.100.20:50000"* && $OUT == *"(not known yet)"* ]] ||
    fail "human pinhole listing"
S=$(status_json "$NS_A")
[[ $(jq .pinholes <<<"$S") == 2 && $(counter "$S" pin_created) == 2 ]] || fail "status pinholes != 2"
ok "pinholes add/list: port preserved, second phone gets another port, scope shown"

sipalg_in "$NS_A" pinholes del --wan veth0 --private 192.168.1.11:40000
must_succeed "pinholes del"
sipalg_in "$NS_A" pinholes del --wan veth0 --private 192.168.1.11:40000
must_fail "pinholes del twice" "no pinhole for 192.168.1.11:40000"
sipalg_in "$NS_A" pinholes add --wan veth0 --private 192.168.1.10
must_fail "pinholes add without a port" "needs a port"
sipalg_in "$NS_A" bindings --wan veth0 -j
must_succeed "bindings -j"
[[ $(jq '.bindings | length' <<<"$OUT") == 0 ]] || fail "no bindings expected: $OUT"
sipalg_in "$NS_A" bindings del --wan veth0 --private 192.168.1.10:5060
must_fail "bindings del of a missing binding" "no binding for 192.168.1.10:5060"
[[ $(jq .pinholes <<<"$(status_json "$NS_A")") == 1 ]] || fail "pinholes after del != 1"
ok "pinholes del, bindings listing and their errors"

# ---- a dialog made through the admin program, as the slow-path daemon makes them ----
admin() { # OP FIELD=VALUE... -> JSON of what the admin program returned; requires result 0
    local out
    out=$(timeout "$STEP_TIMEOUT" python3 "$HERE/admin_op.py" "$PIN_A" "$@") ||
        fail "admin_op.py $*"
    [[ $(jq .result <<<"$out") == 0 ]] || fail "admin $1 returned $(jq .result <<<"$out")"
    echo "$out"
}
dialogs_json() {
    sipalg_in "$NS_A" dialogs --wan veth0 -j
    must_succeed "dialogs -j"
    echo "$OUT"
}
pinholes_json() {
    sipalg_in "$NS_A" pinholes --wan veth0 -j
    must_succeed "pinholes -j"
    echo "$OUT"
}
PHONE=192.168.1.20
BIND=$(admin binding_touch priv=$PHONE:5062 | jq .public_port)
RTP=$(admin pinhole_open priv=$PHONE:40100 owner="$BIND" | jq .public_port)
RTCP=$(admin pinhole_open priv=$PHONE:40101 owner="$BIND" | jq .public_port)
CALL=1122334455667788
INVITE=(call=$CALL req=1 method=INVITE cseq=INVITE media=1 lport=40100 lip=$PHONE
    callid=lt-call-1@192.168.1.20)
admin dialog_begin public_port="$BIND" priv=$PHONE "${INVITE[@]}" >/dev/null
admin dialog_out public_port="$BIND" priv=$PHONE "${INVITE[@]}" ports="$RTP,0,0,0,$RTCP" >/dev/null
D=$(dialogs_json)
[[ $(jq '.dialogs | length' <<<"$D") == 1 ]] || fail "expected one dialog: $D"
D1=$(jq -c '.dialogs[0]' <<<"$D")
[[ $(jq -c '[.call, .call_id, .call_id_cut, .phone, .phone_port, .bind_port, .state, .inbound,
    .local_offer, .remote_offer, .remotes, .pinholes, .pending_pinholes]' <<<"$D1") == \
    "[\"$CALL\",\"lt-call-1@192.16\",true,\"$PHONE\",5062,$BIND,\"early\",false,true,false,[],[],[$RTP,$RTCP]]" ]] ||
    fail "the phone's INVITE listed wrong: $D1"
[[ $(jq .age_s <<<"$D1") -ge 0 && $(jq .idle_s <<<"$D1") -ge 0 ]] || fail "dialog ages: $D1"
P=$(pinholes_json)
[[ $(jq -c "[.pinholes[] | select(.owner_port == $BIND) | .refs]" <<<"$P") == '[1,1]' ]] ||
    fail "the dialog's pinholes do not count its lines: $P"
S=$(status_json "$NS_A")
[[ $(jq .dialogs <<<"$S") == 1 && $(counter "$S" dlg_created) == 1 ]] ||
    fail "status: dialogs $(jq .dialogs <<<"$S"), dlg_created $(counter "$S" dlg_created)"
ok "the phone's INVITE (admin program): dialog listed early with pending pinholes $RTP,$RTCP; status counts it"

admin dialog_in public_port="$BIND" priv=$PHONE call=$CALL req=0 status=200 cseq=INVITE media=1 \
    lport=50000 lip=198.51.100.20 lrtcp=198.51.100.20 >/dev/null
D1=$(jq -c '.dialogs[0]' <<<"$(dialogs_json)")
[[ $(jq -c '[.state, .local_offer, .remotes, .pinholes, .pending_pinholes]' <<<"$D1") == \
    "[\"confirmed\",false,[\"198.51.100.20\"],[$RTP,$RTCP],[]]" ]] ||
    fail "the 200 answer listed wrong: $D1"
run nsenter --net="/run/netns/$NS_A" "$SIPALG" dialogs --wan veth0
must_succeed "dialogs (human)"
[[ $OUT == *"1 dialog "* && $OUT == *"lt-call-1@192.16...  $PHONE:5062"* &&
    $OUT == *" out  198.51.100.20 "* && $OUT == *" confirmed  -  "*"$RTP,$RTCP" ]] ||
    fail "human dialog listing: $OUT"
ok "the answer (admin program): dialog confirmed, scoped to 198.51.100.20, pinholes agreed"

admin dialog_end public_port="$BIND" call=$CALL >/dev/null
D=$(dialogs_json)
[[ $(jq -c .dialogs <<<"$D") == '[]' ]] || fail "dialog still listed after its end: $D"
P=$(pinholes_json)
[[ $(jq "[.pinholes[] | select(.owner_port == $BIND)] | length" <<<"$P") == 0 ]] ||
    fail "the ended dialog's pinholes are still open: $P"
S=$(status_json "$NS_A")
[[ $(jq .dialogs <<<"$S") == 0 && $(counter "$S" dlg_ended) == 1 ]] ||
    fail "status after the end: dialogs $(jq .dialogs <<<"$S"), dlg_ended $(counter "$S" dlg_ended)"
sipalg_in "$NS_A" bindings del --wan veth0 --private $PHONE:5062
must_succeed "bindings del of the dialog's phone"
ok "ending the dialog closes the pinholes only it used; status counts 0 dialogs, dlg_ended 1"

# ---- errors: non-zero, one stderr line, nothing changed ----
run nsenter --net="/run/netns/$NS_A" setpriv --reuid=nobody --regid=nogroup --clear-groups "$SIPALG" enable --wan veth0
must_fail "enable as nobody" "must run as root"
[[ $(pinned_enabled "$PIN_A") == 0 ]] || fail "unprivileged enable changed the map"
run nsenter --net="/run/netns/$NS_B" setpriv --reuid=nobody --regid=nogroup --clear-groups "$SIPALG" load --wan veth0
must_fail "load as nobody" "must run as root"
[[ ! -e $PIN_B ]] || fail "unprivileged load created $PIN_B"

sipalg_in "$NS_A" load --wan nosuch0
must_fail "load on a missing interface" "no such interface"
sipalg_in "$NS_B" load --wan veth0
must_fail "load where the WAN has no address" "--public-ip"
sipalg_in "$NS_B" load --wan veth0 --public-ip 203.0.113.9
must_fail "load where no LAN can be found" "give it with --lan IF"
sipalg_in "$NS_B" load --wan veth0 "${B_LOAD_ARGS[@]}" --lan-prefix 10.0.0.0/33
must_fail "load with a bad --lan-prefix" "not an IPv4 prefix"
sipalg_in "$NS_B" load --wan veth0 "${B_LOAD_ARGS[@]}" --port-range 2000-1000
must_fail "load with an empty --port-range" "is empty"
sipalg_in "$NS_B" load --wan veth0 "${B_LOAD_ARGS[@]}" --max-dialogs 65537
must_fail "load with --max-dialogs over the map size" "--max-dialogs 65537 is out of range; use 1-65536"
sipalg_in "$NS_B" load --wan veth0 "${B_LOAD_ARGS[@]}" --dialog-idle 5
must_fail "load with a too short --dialog-idle" "--dialog-idle 5 is out of range"
sipalg_in "$NS_B" load --wan veth0 "${B_LOAD_ARGS[@]}" --max-dialogs-per-phone 0
must_fail "load with --max-dialogs-per-phone 0" "--max-dialogs-per-phone 0 is out of range"
sipalg_in "$NS_B" load --wan veth0 --public-ip 203.0.113.9 --lan veth0 --lan-prefix 192.168.2.0/24
must_fail "load with --lan = the WAN" "is the WAN interface"
[[ ! -e $PIN_B ]] || fail "a refused load left $PIN_B"
[[ $(in_ns "$NS_B" bpftool net show -j | jq '[.[0].tc[]?, .[0].xdp[]?] | length') == 0 ]] ||
    fail "a refused load attached something in B"
[[ ! -e /sys/fs/bpf/sipalg/netns-$INO_A/nosuch0 ]] || fail "missing-interface load left a pin dir"

sipalg_in "$NS_A" load --wan veth0
must_fail "load twice" "already loaded"
S=$(status_json "$NS_A")
[[ $(jq .xdp.prog_id <<<"$S") == "$XDP_ID" && $(jq .tc.prog_id <<<"$S") == "$TC_ID" ]] ||
    fail "second load changed the attached programs"

NOT_BPF=$(mktemp -d -p /dev/shm sipalg-lt-XXXXXX)
sipalg_in "$NS_B" load --wan veth0 "${B_LOAD_ARGS[@]}" --pin-root "$NOT_BPF"
must_fail "load with --pin-root on tmpfs" "mount -t bpf bpf /sys/fs/bpf"
rmdir "$NOT_BPF" || fail "load on tmpfs pin root left files behind"
run nsenter --net="/run/netns/$NS_B" unshare -m --propagation private \
    sh -c 'umount /sys/fs/bpf && exec "$0" load --wan veth0 "${@}"' "$SIPALG" "${B_LOAD_ARGS[@]}"
must_fail "load with bpffs unmounted (private mount ns)" "bpffs not mounted"
[[ $(in_ns "$NS_B" bpftool net show dev veth0 -j | jq '.[0].xdp | length') == 0 ]] ||
    fail "failed load left an XDP program attached in B"

sipalg_in "$NS_A" enable --wan veth1
must_fail "enable where not loaded" "not loaded"
sipalg_in "$NS_A" status --wan veth1
must_fail "status where not loaded" "not loaded"
sipalg_in "$NS_A" unload --wan veth1
must_fail "unload where not loaded" "not loaded"
sipalg_in "$NS_A" enable
must_fail "enable without --wan" "--wan is required"

# ---- a second router namespace with the same interface name ----
sipalg_in "$NS_B" load --wan veth0 "${B_LOAD_ARGS[@]}" --dialog-idle 90 --max-dialogs-per-phone 8 \
    --max-dialogs 1000 -j
must_succeed "load in B (same ifname as A, everything given on the command line)"
[[ -e $PIN_B/sipalg_config && $PIN_B != "$PIN_A" ]] || fail "B did not get its own pin dir"
LOAD_B=$OUT
jq -e . <<<"$LOAD_B" >/dev/null || fail "load -j is not JSON: $LOAD_B"
sipalg_in "$NS_B" enable --wan veth0 -j
must_succeed "enable in B"
[[ $(jq -c '[.interface, .enabled, .alg]' <<<"$OUT") == '["veth0",true,"enabled"]' ]] ||
    fail "enable -j: $OUT"
[[ $(pinned_enabled "$PIN_B") == 1 && $(pinned_enabled "$PIN_A") == 0 ]] ||
    fail "enabling B must not touch A"
SB=$(status_json "$NS_B")
[[ $(jq .xdp.prog_id <<<"$SB") != "$XDP_ID" ]] || fail "B reports A's program"
[[ $(jq -r .pin_dir <<<"$SB") == "$PIN_B" ]] || fail "B status pin_dir"
[[ $(jq -r .public_ip <<<"$SB") == 203.0.113.9 && $(jq -c .lan_prefixes <<<"$SB") == '["192.168.2.0/24"]' ]] ||
    fail "B's --public-ip/--lan-prefix not in effect: $(jq -c '[.public_ip, .lan_prefixes]' <<<"$SB")"
[[ $(jq -c '.config | [.dialog_idle_s, .max_dialogs_per_phone, .max_dialogs]' <<<"$SB") == '[90,8,1000]' ]] ||
    fail "B's dialog options not in status -j: $(jq -c .config <<<"$SB")"
LIMITS=$(timeout "$STEP_TIMEOUT" bpftool map dump pinned "$PIN_B/sipalg_limits" -j |
    jq -c '.[0].formatted.value | [.dlg_idle_s, .dlg_max_phone, .dlg_max_total]')
[[ $LIMITS == '[90,8,1000]' ]] || fail "B's pinned limits map (bpftool) holds $LIMITS"
run nsenter --net="/run/netns/$NS_B" "$SIPALG" status --wan veth0
[[ $OUT == *"dialog idle 90 s; max dialogs 8/phone, 1000 total"* ]] ||
    fail "human status lacks B's dialog limits"
ok "two namespaces with the same ifname load side by side ($PIN_A, $PIN_B); B's dialog options reach its limits map"
# What load -j said is what status -j finds: the same programs, pins, addresses.
for k in .interface .pin_dir .xdp.prog_id .tc.prog_id .wan_in.prog_id .public_ip .lan_prefixes \
    '.lan[0].prog_id' '.lan[0].interface'; do
    [[ $(jq -c "$k" <<<"$LOAD_B") == "$(jq -c "$k" <<<"$SB")" && $(jq -c "$k" <<<"$SB") != null ]] ||
        fail "load -j $k is $(jq -c "$k" <<<"$LOAD_B"), status -j says $(jq -c "$k" <<<"$SB")"
done
[[ $(jq -c '[.enabled, .alg, .xdp.prog_name]' <<<"$LOAD_B") == '[false,"disabled","sipalg_wan_xdp"]' ]] ||
    fail "load -j must say the ALG starts disabled: $LOAD_B"
ok "load -j and enable -j: one JSON object each, the same programs and settings as status -j"

sipalg_in "$NS_A" status -j
must_succeed "status -j without --wan"
[[ $(jq -c '[.[].interface]' <<<"$OUT") == '["veth0"]' ]] || fail "listing in A should be [veth0]"
ok "status without --wan lists this namespace's instances only"

# ---- status asks the kernel, not saved state ----
in_ns "$NS_A" tc filter del dev veth0 egress
sipalg_in "$NS_A" status --wan veth0
must_fail "status with the tc filter removed behind sipalg's back" "not fully attached"
[[ $OUT == *"tc:       MISSING"* && $OUT == *"ALG: disabled"* ]] || fail "status should show tc MISSING"
sipalg_in "$NS_A" status --wan veth0 -j
[[ $RC -ne 0 && $(jq .healthy <<<"$OUT") == false && $(jq .tc.attached <<<"$OUT") == false ]] ||
    fail "status -j should report tc detached and unhealthy"
[[ $(jq .xdp.attached <<<"$OUT") == true ]] || fail "xdp should still be attached"
ok "status detects a program missing in the kernel (healthy=false, exit non-zero)"

# ---- unload ----
# No sipalg program left attached in NS: XDP and tc on veth0, the LAN hook on lan0. NOTE ends
# the failure messages.
assert_detached() {
    local ns=$1 note=${2:-} net
    net=$(in_ns "$ns" bpftool net show dev veth0 -j)
    [[ $(jq '.[0].xdp | length' <<<"$net") == 0 ]] || fail "XDP still attached after unload$note"
    [[ $(jq '[.[0].tc[] | select(.name | startswith("sipalg"))] | length' <<<"$net") == 0 ]] ||
        fail "tc program still attached after unload$note"
    [[ $(in_ns "$ns" bpftool net show dev lan0 -j | jq '[.[0].tc[] | select(.name | startswith("sipalg"))] | length') == 0 ]] ||
        fail "LAN hook still attached to lan0 after unload$note"
}
for ns in "$NS_A" "$NS_B"; do
    pin=$PIN_A
    [[ $ns == "$NS_B" ]] && pin=$PIN_B
    if [[ $ns == "$NS_B" ]]; then
        sipalg_in "$ns" unload --wan veth0 -j
        must_succeed "unload -j in $ns"
        [[ $(jq -c '[.interface, .pin_dir, .pins_removed, .detached.xdp, .detached.tc, .detached.wan_in, .detached.lan]' <<<"$OUT") == "[\"veth0\",\"$PIN_B\",true,true,true,true,[\"lan0\"]]" ]] ||
            fail "unload -j: $OUT"
    else
        sipalg_in "$ns" unload --wan veth0
        must_succeed "unload in $ns"
    fi
    assert_detached "$ns"
    [[ ! -e $pin ]] || fail "pin dir $pin still exists after unload"
    ok "unload in $ns detaches every program (WAN and LAN) and removes $pin"
done
[[ ! -e /sys/fs/bpf/sipalg/netns-$INO_A ]] || fail "empty per-netns root left behind"
run nsenter --net="/run/netns/$NS_A" ping -c 1 -W 2 203.0.113.2
must_succeed "ping after unload"

# ---- an instance pinned under the names an older sipalg gave its pins ----
# bpffs renames in place: the same instance with its pins as they were named before programs
# were named by side and hook and the port slots and bridge ports by what they hold. Status
# still finds all of it, and unload still removes all of it.
sipalg_in "$NS_A" load --wan veth0
must_succeed "load in A again"
for pair in prog_wan_xdp:prog_xdp prog_wan_egress:prog_tc prog_wan_ingress:prog_wan_in \
    prog_lan_ingress:prog_lan prog_lan_port_xdp:prog_lan_xdp sipalg_slots:sipalg_ports \
    sipalg_brports:sipalg_xports; do
    mv "$PIN_A/${pair%%:*}" "$PIN_A/${pair##*:}" || fail "cannot rename pin ${pair%%:*}"
done
sipalg_in "$NS_A" status --wan veth0 -j
must_succeed "status of an instance with the old pin names"
[[ $(jq .healthy <<<"$OUT") == true && $(jq .xdp.attached <<<"$OUT") == true ]] ||
    fail "status does not see the instance with the old pin names whole: $OUT"
sipalg_in "$NS_A" unload --wan veth0
must_succeed "unload of an instance with the old pin names"
assert_detached "$NS_A" " (old pins)"
[[ ! -e $PIN_A ]] || fail "pin dir left behind by unload (old pins): $(ls "$PIN_A")"
ok "an instance pinned under the old names: status finds it, unload removes it"

sipalg_in "$NS_A" unload --wan veth0
must_fail "unload twice" "not loaded"

echo "$PASSED passed, 0 failed"
