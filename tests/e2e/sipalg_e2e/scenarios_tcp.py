"""SIP over TCP beyond connection reuse: the registrar's new connection to a phone.

N12 (scenarios.py) has a SIPp phone that keeps the connection it registered on,
so every request for it comes back on that connection. Here the phone
(tcp_phone.py) closes it after the 200 OK and waits on its listening port, as
RFC 3261 18.2.2 / 18.1.1 allow: the registrar must open a new connection to the
contact it stored, and the router must let that connection reach the phone (and
only the registrar's: a stranger's connection to the same port is turned away).
After the call the phone registers again on a connection of its own.
"""

import glob
import json
import os
import sys
import time

from . import addresses as A
from . import checks as C
from .runner import Fail, scenario

HERE = os.path.dirname(os.path.abspath(__file__))
REG = A.REGISTRAR_IP

# A stranger's connection to a public address and port: what became of it. The router must
# refuse it (a reset, or nothing at all); "open" means something took it and kept it.
STRANGER = """
import socket, sys
s = socket.socket()
s.bind((sys.argv[1], 0))
s.settimeout(3)
try:
    s.connect((sys.argv[2], int(sys.argv[3])))
except socket.timeout:
    print("no answer"); sys.exit()
except OSError as e:
    print("refused (%s)" % e.strerror); sys.exit()
s.settimeout(2)
try:
    print("closed" if not s.recv(1) else "data")
except ConnectionResetError:
    print("reset")
except socket.timeout:
    print("open")
"""


class TcpPhone:
    """tcp_phone.py running in a phone's namespace; media results as a SIPp UA has them."""

    def __init__(self, env, name, wait_s, media_ms):
        self.name = name
        self.workdir = os.path.join(env.workdir, "tcp-phone-" + name)
        os.makedirs(self.workdir, exist_ok=True)
        self.proc = env.topo.spawn(A.ns_phone(name), [
            sys.executable, os.path.join(HERE, "tcp_phone.py"), "--ip", A.PHONE_IP[name],
            "--user", A.PHONE_USER[name], "--registrar", REG, "--rtp-peer", env.tk.rtp_peer,
            "--out-dir", self.workdir, "--wait-s", str(wait_s), "--media-ms", str(media_ms),
            "--register-again"],
            "tcp-phone-%s.log" % name)

    def state(self):
        try:
            with open(os.path.join(self.workdir, "phone.json")) as f:
                return json.load(f)
        except (FileNotFoundError, json.JSONDecodeError):
            return {}

    def wait_for(self, what, timeout):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            st = self.state()
            if what(st):
                return st
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        return self.state()

    def wait_media(self, count=1, timeout=20, kind=None):
        end = time.monotonic() + timeout
        while True:
            res = []
            for f in sorted(glob.glob(os.path.join(self.workdir, "media", "in_*.json"))):
                try:
                    with open(f) as fh:
                        res.append(json.load(fh))
                except (json.JSONDecodeError, FileNotFoundError):
                    pass
            if len(res) >= count or time.monotonic() >= end:
                return res
            time.sleep(0.1)


@scenario("D3", "a phone registered over TCP, its connection closed, is called: the registrar's "
                "new connection reaches it", 60)
def d3(env):
    reg = env.registrar()
    p1 = TcpPhone(env, "phone1", wait_s=30, media_ms=8000)
    st = p1.wait_for(lambda s: s.get("register_closed_by_server") is not None, 10)
    if st.get("registered") != 200:
        raise Fail("REGISTER over TCP from phone1 got %s" % (st.get("registered") or "no answer"))
    if not st.get("register_closed_by_server"):
        raise Fail("phone1 closed its REGISTER connection but the registrar's side stayed open "
                   "(a reused connection would hide what this scenario tests)")
    stored = reg.location(A.PHONE_USER["phone1"])
    # The contact's port is open to the registrar only: someone else is turned away.
    port = stored[0].split(";")[0].rsplit(":", 1)[-1] if stored else "5060"
    stranger = env.topo.run(A.NS_INET, [sys.executable, "-c", STRANGER, A.REMOTE_IP,
                                        A.ROUTER_WAN_IP, port], timeout=10, check=False)
    stranger = stranger.stdout.strip() or "error: " + stranger.stderr.strip()[-100:]
    if stranger in ("open", "data"):
        raise Fail("a connection from %s to %s:%s was taken and kept open (%s)" % (
            A.REMOTE_IP, A.ROUTER_WAN_IP, port, stranger))
    call = env.remote_call(A.PHONE_USER["phone1"], transport="tcp", call_s=4)
    st = p1.state()
    conns = st.get("connections", [])
    if not conns:
        raise Fail("the registrar's new connection to %s never reached phone1 (remote got %s)" % (
            stored[0] if stored else "the stored contact", C.final_status(call) or "no answer"))
    peers = sorted({c["peer"].rsplit(":", 1)[0] for c in conns})
    if peers != [REG]:
        raise Fail("phone1's incoming connection came from %s, not the registrar %s" % (
            ", ".join(peers), REG))
    if "INVITE" not in [m for c in conns for m in c["requests"]]:
        raise Fail("a connection from the registrar reached phone1 but carried no INVITE")
    C.call_answered(call, "remote to 1001 (phone1 on a new TCP connection)")
    audio = C.media_both_ways(p1, "in", "phone1", call, "out", "remote")
    # And the phone's own new connection afterwards, from the same binding: registers again.
    st = p1.wait_for(lambda s: "registered_first" in s and
                     s.get("register_closed_by_server") is not None, 10)
    if st.get("registered") != 200 or "registered_first" not in st:
        raise Fail("after the call, phone1's REGISTER on a new connection got %s" % (
            st.get("registered") if "registered_first" in st else "nothing (not sent)"))
    return ("contact %s reached over a new connection from %s (a stranger's: %s); %s; "
            "registered again on a new connection" % (
                stored[0] if stored else "?", peers[0], stranger, audio))
