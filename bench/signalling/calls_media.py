#!/usr/bin/python3
"""bench/signalling/calls.py's media on a sample of the calls: one side of it, in that side's namespace.

  calls_media.py --side pbx|remote --ip ADDR [--peer ADDR] --calls N --every K --packets P
                 --go FILE --out FILE --ready FILE [--max-seconds S]

Every K-th call (call numbers 1..N) gets a UDP socket on its SDP's media port: the PBX's offer
names 20000 + 2 x call number (bench/signalling/signalling_call_uac.xml), the remote's answer 30000 + 2 x
the caller's call number (bench/signalling/calls_uas.xml). The remote side also captures the offers as
they arrive (after the router rewrote them) to learn where each call's media is to go. Once
--go holds a CLOCK_MONOTONIC time, both sides follow the same schedule from it: the remote sends
P RTP packets per call, then the PBX, then the remote again; each side counts what arrives and
in which phase, and writes it to --out as JSON.
"""

import argparse
import json
import os
import select
import signal
import socket
import struct
import sys
import time

# Media ports of call n in the scenarios' SDP (RTCP is the next port up).
PBX_RTP_BASE = 20000
REMOTE_RTP_BASE = 30000
MEDIA_SCHEDULE = (0.0, 0.6, 1.2, 2.4)  # remote sends, PBX sends, remote sends, end (s after go)
ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4


def rtp_packet(seq, ssrc):
    # RTP v2, PCMU, 20 ms of silence: looks like media to anything that looks.
    return struct.pack("!BBHII", 0x80, 0, seq & 0xFFFF, seq * 160, ssrc) + b"\xff" * 160


def sdp_target(payload):
    """(call number, media ip, media port) of an INVITE's SDP (the o= session id is the caller's
    call number), or None."""
    if not payload.startswith(b"INVITE "):
        return None
    body = payload.split(b"\r\n\r\n", 1)
    if len(body) < 2:
        return None
    n = ip = port = None
    for ln in body[1].split(b"\r\n"):
        if ln.startswith(b"o="):
            f = ln[2:].split()
            if len(f) > 1 and f[1].isdigit():
                n = int(f[1])
        elif ln.startswith(b"c=") and ip is None:
            f = ln[2:].split()
            if len(f) == 3:
                ip = f[2].decode("latin-1")
        elif ln.startswith(b"m=audio ") and port is None:
            f = ln.split()
            if len(f) > 1 and f[1].isdigit():
                port = int(f[1])
    if n is None or ip is None or port is None:
        return None
    return n, ip, port


def media_main(a):
    """One side of the sampled calls' media. side=pbx: sockets on the PBX's offered ports,
    sending to the remote's answered ports. side=remote: sockets on the answered ports, and a
    packet capture of the offers arriving (what the router made of them) for where to send."""
    sampled = [n for n in range(1, a.calls + 1) if n % a.every == 0]
    socks = {}
    for n in sampled:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        base = PBX_RTP_BASE if a.side == "pbx" else REMOTE_RTP_BASE
        s.bind((a.ip, base + 2 * n))
        s.setblocking(False)
        socks[s.fileno()] = (n, s)
    cap = None
    targets = {}
    if a.side == "remote":
        cap = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        try:
            cap.setsockopt(socket.SOL_SOCKET, 33, 16 << 20)  # SO_RCVBUFFORCE
        except OSError:
            cap.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16 << 20)
        cap.setblocking(False)
    recv = {n: [0, 0, 0] for n in sampled}  # per phase in which it arrived
    sources = {}
    sent = {n: 0 for n in sampled}
    send_errors = {}
    no_target = 0
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    open(a.ready, "w").close()
    deadline = time.monotonic() + a.max_seconds
    go = None
    phases_done = set()
    fds = list(socks) + ([cap.fileno()] if cap else [])
    while not stop and time.monotonic() < deadline:
        now = time.monotonic()
        if go is None and os.path.exists(a.go):
            try:
                with open(a.go) as f:
                    go = float(f.read().strip())
            except ValueError:
                go = None
        if go is not None:
            t = now - go
            if t >= MEDIA_SCHEDULE[3]:
                break
            # Phase 0 and 2: the remote sends; phase 1: the PBX sends.
            for phase in (0, 1, 2):
                if t < MEDIA_SCHEDULE[phase] or phase in phases_done:
                    continue
                phases_done.add(phase)
                if (phase == 1) != (a.side == "pbx"):
                    continue
                for k in range(a.packets):
                    for n, s in socks.values():
                        if a.side == "pbx":
                            dst = (a.peer, REMOTE_RTP_BASE + 2 * n)
                        else:
                            dst = targets.get(n)
                            if dst is None:
                                if k == 0:
                                    no_target += 1
                                continue
                        try:
                            s.sendto(rtp_packet(phase * 100 + k, n), dst)
                            sent[n] += 1
                        except OSError as e:
                            send_errors[e.strerror] = send_errors.get(e.strerror, 0) + 1
                    time.sleep(0.02)
        r, _, _ = select.select(fds, [], [], 0.02)
        for fd in r:
            if cap is not None and fd == cap.fileno():
                for _ in range(256):
                    try:
                        data, addr = cap.recvfrom(65535)
                    except BlockingIOError:
                        break
                    # Ethernet, IPv4, UDP to 5060, arriving: an offer after the router.
                    if (addr[2] == PACKET_OUTGOING or len(data) < 42 or
                            data[12:14] != b"\x08\x00" or data[23] != 17):
                        continue
                    ihl = (data[14] & 0x0F) * 4
                    if struct.unpack_from("!H", data, 14 + ihl + 2)[0] != 5060:
                        continue
                    tgt = sdp_target(data[14 + ihl + 8:])
                    if tgt and tgt[0] in recv and tgt[0] not in targets:
                        targets[tgt[0]] = (tgt[1], tgt[2])
                continue
            n, s = socks[fd]
            while True:
                try:
                    _, src = s.recvfrom(2048)
                except BlockingIOError:
                    break
                t = time.monotonic() - go if go is not None else -1
                phase = 0 if t < MEDIA_SCHEDULE[1] else (1 if t < MEDIA_SCHEDULE[2] else 2)
                recv[n][phase] += 1
                sources.setdefault(n, list(src))
    out = {"side": a.side, "sampled": len(sampled), "packets": a.packets, "recv": recv,
           "sent": sent, "send_errors": send_errors, "no_target": no_target,
           "targets": {n: list(t) for n, t in targets.items()},
           "sources": sources, "ran": go is not None}
    with open(a.out, "w") as f:
        json.dump(out, f)
    return 0


def main():
    ap = argparse.ArgumentParser(prog="calls_media.py", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--side", choices=("pbx", "remote"), required=True)
    ap.add_argument("--ip", required=True)
    ap.add_argument("--peer", default="")
    ap.add_argument("--calls", type=int, required=True)
    ap.add_argument("--every", type=int, required=True)
    ap.add_argument("--packets", type=int, required=True)
    ap.add_argument("--go", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--ready", required=True)
    ap.add_argument("--max-seconds", type=float, default=120)
    a = ap.parse_args()
    a.max_seconds = min(a.max_seconds, 900)
    return media_main(a)


if __name__ == "__main__":
    sys.exit(main())
