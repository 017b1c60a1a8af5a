#!/usr/bin/python3
"""IP fragments of SIP through the sandbox router with sipalg and its daemon:

  - control: a 2500-byte REGISTER, fragmented by the phone, arrives at the registrar's address
    reassembled, rewritten (no LAN address) and refragmented;
  - a lone first fragment (crafted with a raw socket, its other fragments never sent) is never
    forwarded: it dies in the router's reassembly (ipfrag_time set to 1 s here), counted in
    the kernel's ReasmFails/ReasmTimeout that `sipalg status` shows, and the daemon never
    sees it.
Exits 0 if both hold. Root; namespaces prefixed sfr-, torn down on exit.
"""
import json
import os
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
os.environ["SAE_PREFIX"] = "sfr-"
os.environ["SAE_PIN_ROOT"] = "/sys/fs/bpf/sipalg-sfr"
sys.path.insert(0, HERE)
from sipalg_e2e import addresses as A  # noqa: E402
from sipalg_e2e import topo  # noqa: E402
from sipalg_e2e import standalone  # noqa: E402

PHONE = A.PHONE_IP["phone1"]

# Run inside the Internet namespace: print every datagram to the registrar's SIP port for
# `secs` seconds, as JSON lines.
LISTENER = r"""
import json, socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], 5060))
s.settimeout(0.2)
print("ready", flush=True)
end = time.monotonic() + float(sys.argv[2])
while time.monotonic() < end:
    try:
        data, src = s.recvfrom(65536)
    except socket.timeout:
        continue
    print(json.dumps({"src": src[0], "port": src[1], "len": len(data),
                      "lan": sys.argv[3] in data.decode("latin-1")}), flush=True)
"""

# Run inside phone1's namespace: send one raw IPv4 first fragment (MF set, offset 0) of a UDP
# datagram that claims 2400 bytes, with a SIP start naming the phone's LAN address.
LONE_FRAGMENT = r"""
import socket, struct, sys
src, dst = sys.argv[1], sys.argv[2]
sip = ("REGISTER sip:%s SIP/2.0\r\nVia: SIP/2.0/UDP %s:5060;branch=z9hG4bK-lone\r\n" % (dst, src)).encode()
payload = sip + b"X" * (1200 - len(sip))
udp = struct.pack("!HHHH", 5060, 5060, 8 + 2400, 0) + payload
ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0x5151, 0x2000, 64, 17, 0,
                 socket.inet_aton(src), socket.inet_aton(dst))
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
s.sendto(ip + udp, (dst, 0))
"""

BIG_REGISTER = r"""
import socket, sys
src, dst = sys.argv[1], sys.argv[2]
head = ("REGISTER sip:%s SIP/2.0\r\nVia: SIP/2.0/UDP %s:5060;branch=z9hG4bK-big;rport\r\n"
        "From: <sip:1001@%s>;tag=1\r\nTo: <sip:1001@%s>\r\nCall-ID: frag-1\r\n"
        "CSeq: 1 REGISTER\r\nContact: <sip:1001@%s:5060>\r\nContent-Length: 0\r\n" %
        (dst, src, dst, dst, src))
msg = head + "X-Pad: " + "p" * 2400 + "\r\n\r\n"
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((src, 5060))
s.sendto(msg.encode(), (dst, 5060))
"""


def listen(t, secs):
    p = subprocess.Popen(["ip", "netns", "exec", A.NS_INET, sys.executable, "-c", LISTENER,
                          A.REGISTRAR_IP, str(secs), PHONE], stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "ready"
    return p


def received(p):
    out, _ = p.communicate(timeout=30)
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def main():
    sipalg = standalone.sipalg_bin()
    failures = []
    with topo.Topology("sipalg", tempfile.mkdtemp(prefix="sipalg-sfr-"), sipalg) as t:
        t.sysctl(A.NS_ROUTER, "net.ipv4.ipfrag_time", 1)
        before = standalone.status(t)

        # Control: the whole fragmented message arrives, rewritten.
        p = listen(t, 3)
        t.run(A.ns_phone("phone1"), [sys.executable, "-c", BIG_REGISTER, PHONE, A.REGISTRAR_IP])
        got = received(p)
        if len(got) != 1 or got[0]["lan"] or got[0]["src"] != A.ROUTER_WAN_IP \
                or got[0]["len"] < 2400:
            failures.append("control: the fragmented REGISTER did not arrive rewritten: %s" % got)
        mid = standalone.status(t)
        if mid["counters"]["daemon_handled"] - before["counters"]["daemon_handled"] != 1:
            failures.append("control: the daemon did not handle it")

        # A lone first fragment: nothing arrives, reassembly counts a failure, the daemon idles.
        p = listen(t, 4)
        t.run(A.ns_phone("phone1"), [sys.executable, "-c", LONE_FRAGMENT, PHONE,
                                     A.REGISTRAR_IP])
        got = received(p)
        after = standalone.status(t)
        if got:
            failures.append("lone fragment: something reached the registrar: %s" % got)
        c0, c1 = mid["counters"], after["counters"]
        if c1["slow_fragment"] - c0["slow_fragment"] != 1:
            failures.append("lone fragment: the LAN program did not count it (slow_fragment)")
        if c1["daemon_handled"] != c0["daemon_handled"] or c1["daemon_failed"] != c0["daemon_failed"]:
            failures.append("lone fragment: the daemon saw something")
        r0, r1 = mid.get("reassembly"), after.get("reassembly")
        if not r0 or not r1 or r1["fails"] - r0["fails"] < 1 or r1["timeouts"] - r0["timeouts"] < 1:
            failures.append("lone fragment: status shows no reassembly failure/timeout "
                            "(%s -> %s)" % (r0, r1))
        else:
            print("lone fragment: dropped in reassembly (ReasmFails %d -> %d, ReasmTimeout "
                  "%d -> %d), nothing forwarded" % (r0["fails"], r1["fails"], r0["timeouts"],
                                                    r1["timeouts"]))
    return standalone.report(failures, "fragmented SIP rewritten whole; a lone fragment never "
                             "forwarded, counted")


if __name__ == "__main__":
    sys.exit(main())
