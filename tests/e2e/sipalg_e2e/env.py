"""What a scenario works with: the sandbox plus the SIP toolkit, wired together.

Every process goes through Topology.spawn, so teardown kills it even when a
scenario dies half-way.
"""

import json
import os
import re
import shlex
import sys
import time
from pathlib import Path

from . import addresses as A
from . import capture
from .topo import PIN_ROOT

HERE = os.path.dirname(os.path.abspath(__file__))
E2E = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(E2E, "sip"))

import toolkit as T  # noqa: E402

REPO = os.path.dirname(os.path.dirname(E2E))


def find_rtp_peer():
    # An explicit choice wins, so a run from another build dir uses its own binary.
    chosen = os.environ.get("SIPALG_RTP_PEER")
    if chosen and os.access(chosen, os.X_OK):
        return chosen
    built = os.path.join(REPO, "build", "tests", "e2e", "rtp_peer")
    if os.access(built, os.X_OK):
        return built
    return T.find_rtp_peer()


class Env:
    def __init__(self, topo, workdir, quick):
        self.topo, self.workdir, self.quick = topo, workdir, quick
        self.mode = topo.mode
        rtp_peer = find_rtp_peer()
        if not rtp_peer:
            raise RuntimeError("rtp_peer not built (cmake --build build)")
        self.tk = T.Toolkit(run=lambda ns, argv, timeout=30: topo.run(ns, argv, timeout=timeout,
                                                                       check=False),
                            spawn=lambda ns, argv: topo.spawn(ns, argv, "spawn.log"),
                            rtp_peer=rtp_peer)
        self._registrars = {}
        self._uas = []
        self._pcap = None

    # --- the Internet side ---------------------------------------------

    def registrar(self):
        """Plain registrar/proxy (no NAT fixing), IPv4 and IPv6."""
        if "registrar" not in self._registrars:
            self._registrars["registrar"] = self.tk.start_registrar(
                A.NS_INET, [A.REGISTRAR_IP, A.REGISTRAR_IP6], self.workdir, name="registrar")
        return self._registrars["registrar"]

    def hosted(self):
        """A hosted service that does its own far-end NAT traversal."""
        if "hosted" not in self._registrars:
            self._registrars["hosted"] = self.tk.start_registrar(
                A.NS_INET, A.HOSTED_IP, self.workdir, hosted=True, name="hosted")
        return self._registrars["hosted"]

    def lan_server(self):
        """An internal SIP server on the LAN (N16's fallback target). It answers requests at
        their source (forced rport): during a failover it sees the phones through the router's
        masquerade, several from one address. It takes the outside registrar's domain as its
        own, as a survivable proxy configured for the provider's domain does."""
        if "lansrv" not in self._registrars:
            self._registrars["lansrv"] = self.tk.start_registrar(
                A.NS_LANSRV, A.LANSRV_IP, self.workdir, name="lansrv", force_rport=True,
                domain_alias=A.REGISTRAR_IP)
        return self._registrars["lansrv"]

    def _track(self, ua):
        self._uas.append(ua)
        return ua

    def phone(self, name, server=None, ip=None, **kw):
        """A phone on the LAN: registers from :5060 and answers whatever comes in."""
        kw.setdefault("duration", 30)
        return self._track(self.tk.start_phone(
            A.ns_phone(name), ip or A.PHONE_IP[name], A.PHONE_USER[name],
            server or A.REGISTRAR_IP, self.workdir, name=name, **kw))

    def remote(self, **kw):
        """The remote user agent on the Internet, registered as 2001."""
        kw.setdefault("duration", 30)
        kw.setdefault("ip", A.REMOTE_IP)
        ip = kw.pop("ip")
        server = kw.pop("server", A.REGISTRAR_IP)
        return self._track(self.tk.start_phone(A.NS_INET, ip, A.REMOTE_USER, server,
                                               self.workdir, name="remote", **kw))

    def remote_call(self, to_user, server=None, **kw):
        """The remote UA (from another port) calls to_user through the registrar."""
        server = server or A.REGISTRAR_IP
        host = "[%s]" % server if ":" in server else server
        kw.setdefault("call_s", 4)
        ip = kw.pop("ip", A.REMOTE_IP)
        user = kw.pop("user", A.REMOTE_USER)
        return self._track(self.tk.call(A.NS_INET, ip, user, server,
                                        "sip:%s@%s" % (to_user, host), self.workdir, **kw))

    def dialog_ua(self, name, ns, ip, user, register=True, calls=0, call_to=None, call_s=5,
                  call_gap_s=0.3, hold=False, phase_s=3, stay_s=30, rtp_base=40000, port=5060,
                  server=A.REGISTRAR_IP, expires=120):
        """One SIPp on one SIP socket for the dialog scenarios (sipp/dlg_uac.xml placing calls,
        sipp/dlg_answer.xml answering them), every call on its own RTP port (rtp_base + 2 * the
        call's number among those this UA placed, or among those it answered). register: REGISTER first and stay up stay_s (answering calls);
        calls: then place that many to call_to, call_gap_s apart, each call_s long (hold: on
        hold and back, and its port moved, phase_s of media per stretch instead)."""
        tk = self.tk
        # The path goes into shell commands SIPp runs: keep it to one word.
        slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", name)
        wd = os.path.join(self.workdir, "sipp-%s-%d" % (slug, len(self._uas) + 1))
        os.makedirs(os.path.join(wd, "media"), exist_ok=True)
        host = "[%s]" % server if ":" in server else server
        per_call = (4 * phase_s + 6) if hold else call_s
        plan = max(stay_s if register else 0, calls * call_gap_s + per_call + 2)
        timeout = int(plan + 15)
        total = (1 if register else 0) + calls
        argv = [tk.sipp, "%s:5060" % host, "-sf", str(T.SIPP_DIR / "dlg_uac.xml"),
                "-oocsf", str(T.SIPP_DIR / "dlg_answer.xml"), "-t", "u1", "-i", ip,
                "-p", str(port), "-mi", ip, "-mp", str(tk._next_mp()), "-s", user,
                "-cp", str(tk._next_cp()), "-m", str(total), "-l", str(total + 2),
                "-r", "1", "-rp", str(max(1, int(call_gap_s * 1000))),
                "-set", "doreg", "1" if register else "0",
                "-set", "holdms", str(int(stay_s * 1000)), "-set", "callms",
                str(int(call_s * 1000)), "-set", "hold", "1" if hold else "0",
                "-set", "phasems", str(int(phase_s * 1000)),
                "-key", "expires", str(expires), "-key", "domain", host,
                "-key", "callto", call_to or "sip:nobody@%s" % host,
                "-key", "rtpbase", str(rtp_base), "-key", "rtppeer", tk.rtp_peer,
                "-key", "mediadir", os.path.join(wd, "media"), "-key", "mediaargs", "",
                "-key", "mediams", str(int((plan + 5) * 1000)),
                "-trace_msg", "-message_file", os.path.join(wd, "messages.log"),
                "-trace_err", "-error_file", os.path.join(wd, "errors.log"),
                "-nostdin", "-timeout", "%ds" % timeout, "-max_retrans", "5"]
        with open(os.path.join(wd, "cmdline"), "w") as f:
            f.write(shlex.join(argv) + "\n")
        proc = tk.spawn(ns, T._logged(argv, Path(wd) / "sipp.out"))
        ua = T.UA(tk, ns, name, Path(wd), argv, proc, time.monotonic() + timeout, user, ip, port,
                  "udp")
        self._track(ua)
        if register:
            ua.wait_registered(5)
        return ua

    # --- looking at the router -------------------------------------------

    def pinhole_count(self):
        """Media pinholes the router holds now: sipalg's pinholes (sipalg modes), the kernel
        SIP helper's media expectations in conntrack (linux); None where no ALG is at work
        (none, direct, and sipalg-off, whose disabled ALG opens none)."""
        if self.mode == "sipalg":
            out = self.topo.sipalg("pinholes", "--wan", A.WAN_IF, "--pin-root", PIN_ROOT,
                                   "-j").stdout
            return len(json.loads(out)["pinholes"])
        if self.mode == "linux":
            r = self.topo.run(A.NS_ROUTER, ["conntrack", "-L", "expect"], check=False)
            if r.returncode != 0:
                raise RuntimeError("conntrack -L expect: %s" % (r.stderr or r.stdout).strip())
            # class=0 is signalling (the helper expects calls to a registered contact).
            return sum(1 for line in r.stdout.splitlines()
                       if line.strip() and "class=0" not in line.split())
        return None

    # --- looking at the WAN ----------------------------------------------

    def start_capture(self):
        self._pcap = os.path.join(self.workdir, "wan.pcap")
        ready = self._pcap + ".ready"
        self.topo.spawn(A.NS_INET, [sys.executable, capture.__file__, "--if",
                                    A.INET_IF, "--out", self._pcap, "--ready", ready,
                                    "--max-seconds", "300"], "capture.log")
        deadline = time.monotonic() + 10
        while not os.path.exists(ready):
            if time.monotonic() > deadline:
                raise RuntimeError("capture on %s did not start" % A.INET_IF)
            time.sleep(0.05)

    def wan_leaks(self):
        time.sleep(0.3)  # let the last frames be written
        return capture.private_address_leaks(self._pcap)

    def wan_rtp_packets(self):
        """RTP-looking UDP (v2 header, not SIP) that crossed the WAN."""
        n = 0
        for d in capture.datagrams(self._pcap):
            if d.proto == "udp" and len(d.payload) >= 12 and d.payload[0] >> 6 == 2 \
                    and not capture.is_sip(d.payload):
                n += 1
        return n

    def close(self):
        for ua in self._uas:
            try:
                ua.stop()
            except Exception:
                pass
        for reg in self._registrars.values():
            try:
                reg.stop()
            except Exception:
                pass


def make_env(topo, workdir, quick):
    return Env(topo, workdir, quick)
