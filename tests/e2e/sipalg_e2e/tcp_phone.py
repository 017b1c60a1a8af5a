"""A phone that registers over TCP, closes that connection, and waits for calls.

What SIPp cannot do in one process: its TCP client mode keeps the connection it
registered on and takes the next request on it. A phone that follows RFC 3261
18.2.2 / 18.1.1 instead (many do, and so does SIPp with -t tn) registers over
TCP, closes the connection, and listens on the port its Contact names; the
registrar then opens a NEW connection to that contact for an incoming call.

Run inside the phone's namespace:

    tcp_phone.py --ip 192.168.10.11 --user 1001 --registrar 203.0.113.10 \
        --rtp-peer PATH --out-dir DIR [--port 5060] [--wait-s 30]

It writes DIR/phone.json as it goes (registration status, whether the server
closed the REGISTER connection after we did, every incoming connection and the
requests on it) and DIR/media/in_1.json (rtp_peer's result for the call it
answers). Python 3 stdlib only; every wait is bounded.
"""

import argparse
import json
import os
import random
import re
import select
import signal
import socket
import subprocess
import sys
import time


def frame(buf):
    """(message, rest) for the first whole message in buf, or (None, buf).
    CRLFs between messages (keepalives) are skipped."""
    buf = buf.lstrip(b"\r\n")
    end = buf.find(b"\r\n\r\n")
    if end < 0:
        return None, buf
    head = buf[:end].decode("utf-8", "replace")
    m = re.search(r"^(?:content-length|l)\s*:\s*(\d+)", head, re.I | re.M)
    body = int(m.group(1)) if m else 0
    total = end + 4 + body
    if len(buf) < total:
        return None, buf
    return buf[:total], buf[total:]


def headers(msg):
    head = msg.split(b"\r\n\r\n", 1)[0].decode("utf-8", "replace").split("\r\n")
    return head[0], head[1:]


def header(lines, name, compact=None):
    out = []
    for line in lines:
        n, _, v = line.partition(":")
        if n.strip().lower() in (name.lower(), (compact or "").lower()):
            out.append(v.strip())
    return out


def body_of(msg):
    return msg.split(b"\r\n\r\n", 1)[1].decode("utf-8", "replace")


class Phone:
    def __init__(self, a):
        self.a = a
        self.state = {"registered": None, "register_closed_by_server": None,
                      "connections": [], "answered": False, "bye": False}
        self.media = None
        self.tag = "%08x" % random.getrandbits(32)
        os.makedirs(os.path.join(a.out_dir, "media"), exist_ok=True)

    def save(self):
        tmp = os.path.join(self.a.out_dir, "phone.json.tmp")
        with open(tmp, "w") as f:
            json.dump(self.state, f, indent=1)
        os.replace(tmp, os.path.join(self.a.out_dir, "phone.json"))

    def log(self, what):
        print("%.3f %s" % (time.time(), what), flush=True)

    # --- registration ------------------------------------------------------

    def register(self):
        a = self.a
        s = socket.create_connection((a.registrar, a.registrar_port), timeout=5)
        local = s.getsockname()
        branch = "z9hG4bK-%08x" % random.getrandbits(32)
        msg = ("REGISTER sip:%s SIP/2.0\r\n"
               "Via: SIP/2.0/TCP %s:%d;branch=%s;rport\r\n"
               "Max-Forwards: 70\r\n"
               "From: <sip:%s@%s>;tag=%s\r\n"
               "To: <sip:%s@%s>\r\n"
               "Call-ID: tcpreg-%s@%s\r\n"
               "CSeq: 1 REGISTER\r\n"
               "Contact: <sip:%s@%s:%d;transport=tcp>\r\n"
               "Expires: %d\r\n"
               "Content-Length: 0\r\n\r\n") % (
            a.registrar, a.ip, a.port, branch, a.user, a.registrar, self.tag, a.user,
            a.registrar, self.tag, a.ip, a.user, a.ip, a.port, a.expires)
        s.sendall(msg.encode())
        self.log("REGISTER sent from %s:%d" % local)
        buf, status = b"", None
        deadline = time.monotonic() + 5
        while status is None or status < 200:
            s.settimeout(max(0.1, deadline - time.monotonic()))
            try:
                got = s.recv(65536)
            except socket.timeout:
                break
            if not got:
                break
            buf += got
            while True:
                m, buf = frame(buf)
                if m is None:
                    break
                start, _ = headers(m)
                if start.startswith("SIP/2.0 "):
                    status = int(start.split()[1])
        self.state["registered"] = status
        self.log("REGISTER answered %s" % status)
        # The phone is done with this connection: it closes it, and waits on its listening
        # port from now on. The server's end is waited for (bounded) to show it really closed.
        s.shutdown(socket.SHUT_WR)
        closed = False
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            s.settimeout(max(0.1, deadline - time.monotonic()))
            try:
                if not s.recv(65536):
                    closed = True
                    break
            except (socket.timeout, OSError):
                break
        s.close()
        self.state["register_closed_by_server"] = closed
        self.log("REGISTER connection closed (server closed its side: %s)" % closed)
        self.save()
        return status

    # --- calls ---------------------------------------------------------------

    def respond(self, conn, req_lines, code, reason, body="", extra=()):
        vias = header(req_lines, "Via", "v")
        to = header(req_lines, "To", "t")[0]
        if ";tag=" not in to:
            to += ";tag=" + self.tag
        lines = ["SIP/2.0 %d %s" % (code, reason)]
        lines += ["Via: %s" % v for v in vias]
        lines += ["From: %s" % header(req_lines, "From", "f")[0], "To: %s" % to,
                  "Call-ID: %s" % header(req_lines, "Call-ID", "i")[0],
                  "CSeq: %s" % header(req_lines, "CSeq")[0]]
        lines += ["Record-Route: %s" % r for r in header(req_lines, "Record-Route")]
        lines += list(extra)
        lines += ["Content-Length: %d" % len(body.encode()), "", ""]
        conn.sendall(("\r\n".join(lines)).encode() + body.encode())

    def start_media(self, offer, call_id):
        c = re.search(r"^c=IN IP4 (\S+)", offer, re.M)
        m = re.search(r"^m=audio (\d+)", offer, re.M)
        if not c or not m:
            self.log("INVITE without an audio offer")
            return
        out = os.path.join(self.a.out_dir, "media", "in_1.json")
        argv = [self.a.rtp_peer, "--bind-ip", self.a.ip, "--bind-port", str(self.a.media_port),
                "--to-ip", c.group(1), "--to-port", m.group(1),
                "--duration-ms", str(self.a.media_ms), "--linger-ms", "1000",
                "--max-runtime-ms", str(self.a.media_ms + 5000), "--tag", call_id, "--out", out]
        self.media = subprocess.Popen(argv, stdin=subprocess.DEVNULL)
        self.log("media: %s" % " ".join(argv))

    def stop_media(self):
        if self.media and self.media.poll() is None:
            self.media.send_signal(signal.SIGUSR1)  # stop sending, linger, write the result
            try:
                self.media.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.media.kill()

    def on_request(self, conn, rec, msg):
        start, lines = headers(msg)
        method = start.split()[0]
        rec["requests"].append(method)
        self.log("%s on the connection from %s" % (method, rec["peer"]))
        contact = "Contact: <sip:%s@%s:%d;transport=tcp>" % (self.a.user, self.a.ip, self.a.port)
        if method == "INVITE":
            call_id = header(lines, "Call-ID", "i")[0]
            sdp = ("v=0\r\no=- 1 1 IN IP4 %s\r\ns=-\r\nc=IN IP4 %s\r\nt=0 0\r\n"
                   "m=audio %d RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n") % (
                self.a.ip, self.a.ip, self.a.media_port)
            self.respond(conn, lines, 100, "Trying")
            self.respond(conn, lines, 200, "OK", sdp,
                         (contact, "Content-Type: application/sdp"))
            self.state["answered"] = True
            if not self.media:
                self.start_media(body_of(msg), call_id)
        elif method == "ACK":
            pass
        elif method == "BYE":
            self.respond(conn, lines, 200, "OK")
            self.state["bye"] = True
            self.stop_media()
        else:
            self.respond(conn, lines, 200, "OK", extra=(contact,))
        self.save()

    def serve(self, listener):
        deadline = time.monotonic() + self.a.wait_s
        conns = {}  # socket -> [record, buffer]
        while time.monotonic() < deadline and not self.state["bye"]:
            ready, _, _ = select.select([listener] + list(conns), [], [], 0.2)
            for s in ready:
                if s is listener:
                    c, peer = listener.accept()
                    rec = {"peer": "%s:%d" % peer, "requests": []}
                    self.state["connections"].append(rec)
                    self.log("connection from %s:%d" % peer)
                    conns[c] = [rec, b""]
                    self.save()
                    continue
                try:
                    got = s.recv(65536)
                except OSError:
                    got = b""
                if not got:
                    conns.pop(s)[0]["closed"] = True
                    s.close()
                    continue
                entry = conns[s]
                entry[1] += got
                while True:
                    m, entry[1] = frame(entry[1])
                    if m is None:
                        break
                    if not m.startswith(b"SIP/2.0 "):
                        self.on_request(s, entry[0], m)
        self.stop_media()
        # Let the last response leave before the connections go.
        time.sleep(0.5)
        for s in conns:
            s.close()
        self.save()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ip", required=True)
    ap.add_argument("--port", type=int, default=5060)
    ap.add_argument("--user", required=True)
    ap.add_argument("--registrar", required=True)
    ap.add_argument("--registrar-port", type=int, default=5060)
    ap.add_argument("--expires", type=int, default=60)
    ap.add_argument("--rtp-peer", required=True)
    ap.add_argument("--media-port", type=int, default=40000)
    ap.add_argument("--media-ms", type=int, default=8000)
    ap.add_argument("--wait-s", type=float, default=30)
    ap.add_argument("--out-dir", required=True)
    ap.add_argument("--register-again", action="store_true",
                    help="after the call, register once more on a new connection")
    a = ap.parse_args()
    phone = Phone(a)
    # Listening before registering: the Contact must be reachable the moment the 200 is back.
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((a.ip, a.port))
    listener.listen(8)
    phone.save()
    if phone.register() != 200:
        return 1
    phone.serve(listener)
    if a.register_again:
        phone.state["registered_first"] = phone.state["registered"]
        phone.register()
    return 0


if __name__ == "__main__":
    sys.exit(main())
