"""Capture what arrives on an interface and look inside the SIP it carries.

Run as a module inside a namespace to capture (AF_PACKET, so no dependency on
dumpcap's start-up timing); import it to analyse the pcap afterwards. IPv4
fragments are reassembled before searching, so an address split across two
fragments is still found.
"""

import argparse
import os
import re
import socket
import struct
import sys
import time

ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4
PCAP_HEADER = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)

PRIVATE_V4 = re.compile(rb"192\.168\.\d{1,3}\.\d{1,3}")


def capture(ifname, out, ready, max_seconds):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.bind((ifname, 0))
    s.settimeout(0.5)
    deadline = time.monotonic() + max_seconds
    with open(out, "wb") as f:
        f.write(PCAP_HEADER)
        f.flush()
        open(ready, "w").close()
        while time.monotonic() < deadline:
            try:
                frame, addr = s.recvfrom(65535)
            except socket.timeout:
                continue
            if addr[2] == PACKET_OUTGOING:  # only what arrives from the router
                continue
            now = time.time()
            f.write(struct.pack("<IIII", int(now), int((now % 1) * 1e6), len(frame), len(frame)))
            f.write(frame)
            f.flush()


def read_pcap(path):
    with open(path, "rb") as f:
        data = f.read()
    off = 24
    while off + 16 <= len(data):
        _, _, incl, _ = struct.unpack_from("<IIII", data, off)
        off += 16
        yield data[off:off + incl]
        off += incl


class Datagram:
    """One transport payload as it left the router (after reassembly)."""

    def __init__(self, proto, src, dst, sport, dport, payload):
        self.proto, self.src, self.dst = proto, src, dst
        self.sport, self.dport, self.payload = sport, dport, payload

    def first_line(self):
        return self.payload.split(b"\n", 1)[0].strip().decode("latin-1")[:80]


def datagrams(path):
    """UDP and TCP payloads of the capture, IPv4 fragments reassembled."""
    frags = {}
    for frame in read_pcap(path):
        if len(frame) < 14:
            continue
        etype = struct.unpack_from("!H", frame, 12)[0]
        if etype == 0x0800:
            ip = frame[14:]
            if len(ip) < 20:
                continue
            ihl = (ip[0] & 0xF) * 4
            total = struct.unpack_from("!H", ip, 2)[0]
            ident, fl = struct.unpack_from("!HH", ip, 4)
            proto = ip[9]
            src, dst = socket.inet_ntoa(ip[12:16]), socket.inet_ntoa(ip[16:20])
            body = ip[ihl:total]
            more, offset = bool(fl & 0x2000), (fl & 0x1FFF) * 8
            if more or offset:
                key = (src, dst, ident, proto)
                parts = frags.setdefault(key, {})
                parts[offset] = body
                if not more:
                    parts["end"] = offset + len(body)
                if "end" not in parts:
                    continue
                buf, pos = b"", 0
                while pos in parts:
                    buf += parts[pos]
                    pos += len(parts[pos])
                if pos != parts["end"]:
                    continue
                del frags[key]
                body = buf
            yield from _transport(proto, src, dst, body)
        elif etype == 0x86DD:
            ip = frame[14:]
            if len(ip) < 40:
                continue
            nh = ip[6]
            plen = struct.unpack_from("!H", ip, 4)[0]
            src = socket.inet_ntop(socket.AF_INET6, ip[8:24])
            dst = socket.inet_ntop(socket.AF_INET6, ip[24:40])
            yield from _transport(nh, src, dst, ip[40:40 + plen])


def _transport(proto, src, dst, body):
    if proto == 17 and len(body) >= 8:
        sport, dport = struct.unpack_from("!HH", body, 0)
        yield Datagram("udp", src, dst, sport, dport, body[8:])
    elif proto == 6 and len(body) >= 20:
        sport, dport = struct.unpack_from("!HH", body, 0)
        doff = (body[12] >> 4) * 4
        if len(body) > doff:
            yield Datagram("tcp", src, dst, sport, dport, body[doff:])


def is_sip(payload):
    return payload.startswith(b"SIP/2.0 ") or re.match(rb"^[A-Z]{3,12} \S+ SIP/2\.0\r?\n",
                                                       payload) is not None


def private_address_leaks(path):
    """Every SIP message in the capture that carries a 192.168.x.x literal:
    [(first line, offending line), ...]."""
    leaks = []
    for d in datagrams(path):
        if not is_sip(d.payload):
            continue
        for line in d.payload.split(b"\n"):
            if PRIVATE_V4.search(line):
                leaks.append((d.first_line(), line.strip().decode("latin-1")[:120]))
                break
    return leaks


def sip_messages(path):
    return [d for d in datagrams(path) if is_sip(d.payload)]


def main():
    ap = argparse.ArgumentParser(description="capture frames arriving on an interface to pcap")
    ap.add_argument("--if", dest="ifname", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--ready", required=True, help="file created once the socket is bound")
    ap.add_argument("--max-seconds", type=float, default=600)
    a = ap.parse_args()
    capture(a.ifname, a.out, a.ready, a.max_seconds)


if __name__ == "__main__":
    sys.exit(main())
