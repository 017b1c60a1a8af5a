#!/usr/bin/env bash
# End-to-end check of the fast path on the router shape the product targets: phones behind a
# Linux bridge (br-lan), an nftables masquerade and a stateful forward firewall. An RTP-like
# flow through a pinhole (inserted by hand: no SIP rewriter involved) must cross the router in
# both directions without netfilter ever seeing it (nft counters on every hook stay 0), must
# come out SNATed to the public address, must use the XDP path inbound, and a source outside
# the pinhole's scope must not get in. A control run with the ALG disabled proves the counters
# do count when the stack forwards.
#
# Usage: test_bridge_fastpath.sh /path/to/sipalg [--xdp-peers xdp_pass.bpf.o]
#        (root; ctest: bridge_fastpath, bridge_fastpath_xdp)
#
# --xdp-peers puts an XDP program on the phone's and the Internet host's veths. A veth accepts
# XDP frames only then (a NIC driver with ndo_xdp_xmit always does), so sipalg attaches its
# LAN port XDP program and media goes XDP to XDP both ways, skipping bridge, skbs and stack;
# the receiving kernels then verify the UDP checksums (frames from XDP carry no offload state).
#
#   sdp-<pid>-phone: eth0 192.168.10.11 --veth-- lan-p0 [br-lan 192.168.10.1] sdp-<pid>-router
#   sdp-<pid>-router: wan0 203.0.113.1 --veth-- inet0 sdp-<pid>-inet (203.0.113.2, remote
#   198.51.100.20, stranger 198.51.100.66)
set -euo pipefail

SIPALG=$(readlink -f "${1:?usage: test_bridge_fastpath.sh /path/to/sipalg [--xdp-peers OBJ]}")
XDP_PEERS=""
if [[ ${2:-} == --xdp-peers ]]; then
    XDP_PEERS=$(readlink -f "${3:?--xdp-peers needs the xdp_pass object}")
fi
export PATH="$PATH:/usr/sbin:/sbin"
PY=/usr/bin/python3

P="sdp-$$"
R="$P-router"
PH="$P-phone"
IN="$P-inet"
PIN_ROOT="/sys/fs/bpf/sdp-test-$$"
TMP=$(mktemp -d)
PASSED=0
PACKETS=50

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    set +e
    [[ -e /run/netns/$R ]] && timeout 20 nsenter --net="/run/netns/$R" "$SIPALG" unload \
        --wan wan0 --pin-root "$PIN_ROOT" >/dev/null 2>&1
    rm -rf "$PIN_ROOT"
    delete_netns "$PH" "$IN" "$R"
    rm -rf "$TMP"
    exit "$rc"
}
# shellcheck source=../common/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../common/lib.sh"
trap_cleanup

STEP_TIMEOUT=20
ns() {
    local n=$1
    shift
    ip netns exec "$n" "$@"
}
sipalg() { timeout 20 nsenter --net="/run/netns/$R" "$SIPALG" "$@" --pin-root "$PIN_ROOT"; }
counter() { sipalg status --wan wan0 -j | jq -e ".counters.$1"; }

# Packets seen by netfilter for the test flow, on every IPv4 hook the stack would use.
nft_hits() {
    ns "$R" nft -j list table ip sdp_watch | jq '[.nftables[] | select(.rule) | .rule.expr[] |
        select(.counter) | .counter.packets] | add'
}

# Echo server at the remote: answers every datagram, logs the source it saw.
start_echo() { # ADDR PORT LOG: echoes datagrams back (a REGISTER as its 200 OK)
    ns "$IN" timeout 60 "$PY" -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], int(sys.argv[2])))
s.settimeout(2)  # exits 2 s after the last datagram
with open(sys.argv[3], "w", buffering=1) as log:
    while True:
        try:
            data, src = s.recvfrom(2048)
        except socket.timeout:
            break
        log.write("%s:%d\n" % src)
        # A registrar answers a REGISTER with a 2xx of the same Call-ID and CSeq (the ALG lets
        # its requests in only after that); anything else comes back as it was.
        if data.startswith(b"REGISTER "):
            data = b"SIP/2.0 200 OK\r\n" + data.split(b"\r\n", 1)[1]
        s.sendto(data, src)
' "$1" "$2" "$3" &
    sleep 0.3
}

# Phone: sends N datagrams from PHONE:SRC_PORT (default 40000) to DST and counts the echoes
# it gets back. PAYLOAD (optional) replaces the RTP-like default.
phone_exchange() { # DST_IP DST_PORT COUNT [SRC_PORT [PAYLOAD]] -> prints echoes received
    ns "$PH" timeout 30 "$PY" -c '
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("192.168.10.11", int(sys.argv[4]) if len(sys.argv) > 4 else 40000))
payload = sys.argv[5].encode() if len(sys.argv) > 5 else None
s.settimeout(0.2)
got = 0
for i in range(int(sys.argv[3])):
    s.sendto(payload or b"\x80\x00" + i.to_bytes(2, "big") + b"\x00" * 168,
             (sys.argv[1], int(sys.argv[2])))
    try:
        while True:
            s.recvfrom(2048)
            got += 1
            s.settimeout(0.05)
    except socket.timeout:
        s.settimeout(0.2)
time.sleep(0.3)
s.settimeout(0.3)
try:
    while True:
        s.recvfrom(2048)
        got += 1
except socket.timeout:
    pass
print(got)
' "$@"
}

# UDP datagrams dropped for a bad checksum in namespace NS (must stay 0: NAT keeps them right).
csum_errors() {
    ns "$1" awk '/^Udp:/ { if (!h) { for (i = 1; i <= NF; i++) c[$i] = i; h = 1 } else print $c["InCsumErrors"] }' /proc/net/snmp
}

# Sends COUNT UDP datagrams SRC:SPORT -> DST:DPORT from namespace NS through a raw socket, with
# the UDP checksum computed here: such packets carry a complete checksum (no offload), so the
# receiving kernel verifies what the NAT made of it.
raw_send() { # NS SRC SPORT DST DPORT COUNT
    ns "$1" timeout 20 "$PY" -c '
import socket, struct, sys, time
src, sport, dst, dport, n = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff
r = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_UDP)
r.bind((src, 0))
for i in range(n):
    payload = b"\x80\x00" + i.to_bytes(2, "big") + bytes(range(160))
    ulen = 8 + len(payload)
    pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, 17, ulen)
    c = csum(pseudo + struct.pack("!HHHH", sport, dport, ulen, 0) + payload) or 0xffff
    r.sendto(struct.pack("!HHHH", sport, dport, ulen, c) + payload, (dst, 0))
    time.sleep(0.005)
' "${@:2}"
}

# Counts the datagrams arriving at ADDR:PORT in namespace NS for SECONDS; prints the count.
count_udp() { # NS ADDR PORT SECONDS
    local where=$1
    shift
    ns "$where" timeout 30 "$PY" -c '
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2])))
s.settimeout(0.1)
end, got = time.time() + float(sys.argv[3]), 0
while time.time() < end:
    try:
        s.recvfrom(2048)
        got += 1
    except socket.timeout:
        pass
print(got)
' "$@"
}
remote_listen() { count_udp "$IN" "$@"; }                  # ADDR PORT SECONDS
phone_listen() { count_udp "$PH" 192.168.10.11 40000 "$1"; } # SECONDS (the phone's RTP port)

send_from_inet() { # SRC_IP SRC_PORT COUNT
    ns "$IN" timeout 20 "$PY" -c '
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], int(sys.argv[2])))
for i in range(int(sys.argv[3])):
    s.sendto(b"\x80\x00" + b"\x00" * 170, ("203.0.113.1", 40000))
    time.sleep(0.01)
' "$1" "$2" "$3"
}

# ---- preconditions ----
[[ $(id -u) -eq 0 ]] || fail "must run as root"
for tool in nft jq nsenter ip timeout; do command -v "$tool" >/dev/null || fail "missing $tool"; done
[[ -x $PY ]] || fail "missing $PY"
if [[ $(stat -f -c %T /sys/fs/bpf 2>/dev/null) != bpf_fs ]]; then
    mount -t bpf bpf /sys/fs/bpf || fail "bpffs is not mounted and cannot be mounted"
fi

# ---- topology ----
for n in "$R" "$PH" "$IN"; do
    ip netns add "$n"
    ns "$n" ip link set lo up
    ns "$n" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
done
ns "$R" ip link add br-lan type bridge
ns "$R" ip link set br-lan up
ns "$R" ip addr add 192.168.10.1/24 dev br-lan
ns "$R" sysctl -qw net.ipv4.ip_forward=1
ns "$R" sysctl -qw net.bridge.bridge-nf-call-iptables=0 2>/dev/null || true
ip link add lan-p0 netns "$R" type veth peer name eth0 netns "$PH"
ns "$R" ip link set lan-p0 master br-lan
ns "$R" ip link set lan-p0 up
ns "$PH" ip link set eth0 up
ns "$PH" ip addr add 192.168.10.11/24 dev eth0
ns "$PH" ip route add default via 192.168.10.1
ip link add wan0 netns "$R" type veth peer name inet0 netns "$IN"
ns "$R" ip link set wan0 up
ns "$IN" ip link set inet0 up
ns "$R" ip addr add 203.0.113.1/24 dev wan0
ns "$R" ip route add default via 203.0.113.2
for a in 203.0.113.2/24 198.51.100.20/24 198.51.100.66/24; do ns "$IN" ip addr add "$a" dev inet0; done

ns "$R" nft -f - <<'NFT'
table inet sdp_filter {
    chain forward {
        type filter hook forward priority filter; policy drop;
        ct state established,related accept
        ct state invalid drop
        iifname "br-lan" oifname "wan0" accept
    }
}
table ip sdp_nat {
    chain postrouting {
        type nat hook postrouting priority srcnat; policy accept;
        oifname "wan0" masquerade
    }
}
NFT
# The same two counters ahead of everything else on every hook (nft_hits sums them).
watch_rules() {
    local hook dir
    echo "add table ip sdp_watch"
    for hook in pre:prerouting fwd:forward post:postrouting in:input; do
        echo "add chain ip sdp_watch w_${hook%%:*} { type filter hook ${hook#*:} priority -400; }"
        for dir in sport dport; do
            echo "add rule ip sdp_watch w_${hook%%:*} udp $dir { 5060, 40000, 50000 } counter"
        done
    done
}
watch_rules | ns "$R" nft -f -
ok "bridge topology with masquerade, stateful firewall and watch counters"

if [[ -n $XDP_PEERS ]]; then
    ns "$PH" ip link set dev eth0 xdp obj "$XDP_PEERS" sec xdp || fail "xdp on the phone's eth0"
    ns "$IN" ip link set dev inet0 xdp obj "$XDP_PEERS" sec xdp || fail "xdp on inet0"
    ok "XDP programs on the phone's and the Internet host's veths"
fi

# ---- sipalg ----
sipalg load --wan wan0 >"$TMP/load.log" 2>&1 || fail "load"
grep -q "LAN br-lan" "$TMP/load.log" || fail "load did not find br-lan as the LAN"
if [[ -n $XDP_PEERS ]]; then
    grep -q "LAN port XDP sipalg_lan_port_xdp: lan-p0 (id [0-9]*, media both ways in XDP)" \
        "$TMP/load.log" || fail "LAN port XDP not on lan-p0: $(cat "$TMP/load.log")"
    ns "$R" ip link show lan-p0 | grep -q "prog/xdp id" || fail "no XDP program on lan-p0"
else
    grep -q "LAN port XDP sipalg_lan_port_xdp: not attached (wan0 does not accept XDP frames" \
        "$TMP/load.log" || fail "LAN port XDP should stay off: $(cat "$TMP/load.log")"
fi
sipalg enable --wan wan0 >/dev/null || fail "enable"
sipalg pinholes add --wan wan0 --private 192.168.10.11:40000 --remote 198.51.100.20:50000 \
    >"$TMP/pin.log" 2>&1 || fail "pinholes add"
grep -q "public port 40000" "$TMP/pin.log" || fail "pinhole did not keep port 40000"
ok "sipalg loaded on wan0 (LAN br-lan discovered), enabled, pinhole 192.168.10.11:40000"

# ---- the flow, both directions ----
start_echo 198.51.100.20 50000 "$TMP/echo.log"
GOT=$(phone_exchange 198.51.100.20 50000 "$PACKETS")
wait
[[ $GOT -ge $((PACKETS - 2)) ]] || fail "phone got $GOT of $PACKETS echoes through the fast path"
SEEN=$(sort -u "$TMP/echo.log")
[[ $SEEN == "203.0.113.1:40000" ]] || fail "remote saw source '$SEEN', want 203.0.113.1:40000"
ok "RTP both ways: $GOT/$PACKETS echoes; remote saw 203.0.113.1:40000 (SNAT by sipalg)"

HITS=$(nft_hits)
[[ $HITS == 0 ]] || fail "netfilter saw $HITS packets of the fast-path flow"
MOUT=$(counter media_out)
MIN=$(counter media_in)
PARTIAL=$(counter csum_partial)
[[ $MOUT -ge $PACKETS && $MIN -ge $((PACKETS - 2)) ]] ||
    fail "counters: media_out=$MOUT media_in=$MIN"
# A local socket's datagram over a veth carries only the checksum seed (CHECKSUM_PARTIAL):
# XDP cannot finish it, so every such packet the XDP programs see is left to tc.
[[ $PARTIAL -ge $((PACKETS - 2)) ]] || fail "csum_partial=$PARTIAL: XDP took partial checksums"
ok "netfilter never saw the flow (nft counters 0); media_out=$MOUT media_in=$MIN, $PARTIAL partial checksums left to tc"

# Raw sockets send complete checksums, as frames from a wire have: these take XDP and check
# the NAT's checksum arithmetic end to end. Both ways at once, as a call's media flows: the
# LAN port program learns the phone's port from the outbound stream (a learned route lasts as
# long as the route cache's generation, a second, so the inbound stream must overlap it).
remote_listen 198.51.100.20 50000 3 >"$TMP/rlisten.out" &
phone_listen 3 >"$TMP/listen.out" &
sleep 0.3
raw_send "$PH" 192.168.10.11 40000 198.51.100.20 50000 60 &
sleep 0.05
raw_send "$IN" 198.51.100.20 50000 203.0.113.1 40000 20
wait
[[ $(cat "$TMP/rlisten.out") == 60 ]] || fail "remote got $(cat "$TMP/rlisten.out")/60 raw datagrams (SNAT)"
[[ $(cat "$TMP/listen.out") == 20 ]] || fail "phone got $(cat "$TMP/listen.out")/20 raw datagrams (DNAT)"
[[ $(csum_errors "$PH") == 0 && $(csum_errors "$IN") == 0 ]] ||
    fail "UDP checksum errors: phone $(csum_errors "$PH"), remote $(csum_errors "$IN")"
XOUT=$(counter xdp_out)
XDIRECT=$(counter xdp_in_direct)
XFWD=$(counter xdp_fwd)
if [[ -n $XDP_PEERS ]]; then
    # At most one inbound packet per route generation change can beat the relearning.
    [[ $XOUT -ge 60 && $XDIRECT -ge 18 ]] ||
        fail "XDP to XDP: xdp_out=$XOUT (want 60) xdp_in_direct=$XDIRECT (want >= 18 of 20)"
    WHERE="XDP to XDP both ways: xdp_out=$XOUT xdp_in_direct=$XDIRECT"
else
    [[ $XOUT == 0 && $XFWD -ge 20 ]] || fail "xdp_out=$XOUT xdp_fwd=$XFWD (want 0, 20)"
    WHERE="inbound NATed by XDP, redirected by tc: xdp_fwd=$XFWD"
fi
[[ $(nft_hits) == 0 ]] || fail "netfilter saw $(nft_hits) packets of the raw rounds"
ok "complete checksums survive the NAT both ways (60+20 raw datagrams, 0 checksum errors); $WHERE"

IDLE=$(sipalg pinholes --wan wan0 -j | jq '.pinholes[0].idle_s')
[[ $IDLE -le 4 ]] || fail "pinhole idle_s=$IDLE after traffic"
ok "pinhole refreshed by the traffic (idle ${IDLE}s)"

# ---- SIP: a REGISTER creates the phone's binding, the answer comes back through it ----
REG=$'REGISTER sip:198.51.100.20 SIP/2.0\r\nVia: SIP/2.0/UDP 192.168.10.11:5060;branch=z9hG4bK-1\r\nCall-ID: sdp-1\r\nCSeq: 1 REGISTER\r\nContact: <sip:1001@192.168.10.11:5060>\r\nContent-Length: 0\r\n\r\n'
start_echo 198.51.100.20 5060 "$TMP/registrar.log"
GOT=$(phone_exchange 198.51.100.20 5060 3 5060 "$REG")
wait
[[ $GOT == 3 ]] || fail "phone got $GOT of 3 SIP answers back through its binding"
[[ $(sort -u "$TMP/registrar.log") == "203.0.113.1:5060" ]] ||
    fail "registrar saw $(sort -u "$TMP/registrar.log"), want 203.0.113.1:5060"
B=$(sipalg bindings --wan wan0 -j | jq -c '.bindings[0]')
[[ $(jq -r .private <<<"$B") == 192.168.10.11:5060 && $(jq .public_port <<<"$B") == 5060 &&
    $(jq .registered <<<"$B") == true ]] || fail "binding not as expected: $B"
[[ $(nft_hits) == 0 ]] || fail "netfilter saw the SIP exchange"
[[ $(counter sip_out) == 3 && $(counter sip_in) == 3 ]] ||
    fail "sip_out=$(counter sip_out) sip_in=$(counter sip_in)"
ok "REGISTER creates binding 192.168.10.11:5060 <-> 5060; SIP both ways, netfilter saw none"

# ---- a source outside the scope gets nothing ----
SCOPE0=$(counter scope_miss)
phone_listen 2 >"$TMP/listen.out" &
sleep 0.3
send_from_inet 198.51.100.66 50000 20
wait
[[ $(cat "$TMP/listen.out") == 0 ]] || fail "phone received $(cat "$TMP/listen.out") packets from a stranger"
[[ $(counter scope_miss) -ge $((SCOPE0 + 20)) ]] || fail "scope_miss did not count the stranger"
ok "a stranger's packets to the pinhole port are not forwarded (scope_miss counted)"

# ---- control: ALG disabled, the stack forwards the same flow and netfilter sees it ----
sipalg disable --wan wan0 >/dev/null || fail "disable"
MOUT=$(counter media_out)
start_echo 198.51.100.20 50000 "$TMP/echo2.log"
GOT=$(phone_exchange 198.51.100.20 50000 "$PACKETS")
wait
[[ $GOT -ge $((PACKETS - 2)) ]] || fail "disabled: phone got $GOT echoes via the stack"
HITS=$(nft_hits)
[[ $HITS -ge $PACKETS ]] || fail "disabled: netfilter saw only $HITS packets"
[[ $(counter media_out) == "$MOUT" ]] || fail "disabled: the fast path still forwarded"
ok "control (disabled): the stack forwards the flow and the nft counters see it ($HITS)"

if [[ -n $XDP_PEERS ]]; then
    sipalg status --wan wan0 -j | jq -e '.healthy and .lan_xdp[0].interface == "lan-p0" and
        .lan_xdp[0].attached and .lan_xdp[0].xdp_xmit and .wan_xdp_xmit.configured and
        .wan_xdp_xmit.now' >/dev/null || fail "status: $(sipalg status --wan wan0 -j | jq -c .lan_xdp)"
    TEXT=$(sipalg status --wan wan0) # not piped into grep -q: pipefail would see SIGPIPE
    grep -q "lan xdp:  lan-p0: sipalg_lan_port_xdp id [0-9]*, native mode; media out in XDP, in XDP-redirected to this port" \
        <<<"$TEXT" || fail "status text: $(grep 'lan xdp' <<<"$TEXT")"
    # A veth takes XDP frames only while its peer runs XDP: status must say when that stops.
    ns "$PH" ip link set dev eth0 xdp off
    S=$(sipalg status --wan wan0 -j) && fail "status exits 0 while a port drops redirected media"
    jq -e '(.healthy | not) and (.problems | join(" ") | test("lan-p0 no longer accepts XDP frames"))' \
        <<<"$S" >/dev/null || fail "status did not report the port that lost XDP: $(jq -c .problems <<<"$S")"
    ok "status shows lan-p0's XDP program, and the problem once the port stops taking XDP frames"
fi
sipalg unload --wan wan0 >/dev/null || fail "unload"
if ns "$R" ip link show lan-p0 | grep -q "prog/xdp"; then fail "unload left XDP on lan-p0"; fi
ok "unload (no XDP left on the LAN port)"
echo "$PASSED passed, 0 failed"
