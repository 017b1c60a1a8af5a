"""SIP toolkit for the sipalg end-to-end tests (Python 3 stdlib only).

Wraps Kamailio (registrar / hosted-service proxy), SIPp user agents and the
rtp_peer media endpoint behind a small API.  Every command runs inside a
network namespace through two callables the caller may supply:

    run(ns, argv, timeout) -> subprocess.CompletedProcess (text stdout/stderr)
    spawn(ns, argv)        -> subprocess.Popen

The defaults use ``ip netns exec NS ...`` (ns=None runs on the host).  Every
process writes its logs under the workdir the caller passes; every process
has a bounded lifetime (SIPp -timeout, rtp_peer --max-runtime, Python-side
wait timeouts) and every handle has .stop(), which kills what it started,
including the rtp_peer media processes that SIPp forked.

Typical use (the scenarios in ../sipalg_e2e/scenarios.py are the real examples):

    tk = Toolkit()                        # or Toolkit(run=..., spawn=...)
    reg = tk.start_registrar("sae-inet", "203.0.113.10", wd)
    p2 = tk.start_phone("sae-phone2", "192.168.10.12", "1002", "203.0.113.10", wd,
                        duration=30)
    p2.wait_registered(5)
    reg.location("1002")                  # ['sip:1002@203.0.113.1:5060;transport=UDP']
    r = tk.call("sae-inet", "198.51.100.20", "2001", "203.0.113.10",
                "sip:1002@203.0.113.10", wd, call_s=4)
    r.ok, p2.received("INVITE"), p2.media_results(), r.media_results()
"""

from __future__ import annotations

import glob
import itertools
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Optional, Sequence

HERE = Path(__file__).resolve().parent
E2E_DIR = HERE.parent
SIPP_DIR = E2E_DIR / "sipp"
KAMAILIO_DIR = E2E_DIR / "kamailio"
REPO_DIR = E2E_DIR.parent.parent

RunFn = Callable[..., subprocess.CompletedProcess]
SpawnFn = Callable[..., subprocess.Popen]


# --------------------------------------------------------------------------
# namespace execution defaults
# --------------------------------------------------------------------------

def _ns_argv(ns: Optional[str], argv: Sequence[str]) -> list[str]:
    return (["ip", "netns", "exec", ns] if ns else []) + [str(a) for a in argv]


def default_run(ns: Optional[str], argv: Sequence[str], timeout: float = 30) -> subprocess.CompletedProcess:
    return subprocess.run(_ns_argv(ns, argv), stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, timeout=timeout)


def default_spawn(ns: Optional[str], argv: Sequence[str]) -> subprocess.Popen:
    return subprocess.Popen(_ns_argv(ns, argv), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)


def _logged(argv: Sequence[str], log: Path) -> list[str]:
    """argv wrapped so that stdout+stderr go to LOG, whatever spawn() does with pipes."""
    return ["sh", "-c", 'exec "$@" >>"$0" 2>&1', str(log)] + [str(a) for a in argv]


def _is_v6(ip: str) -> bool:
    return ":" in ip


def _host(ip: str) -> str:
    """IP as used in a SIP URI / host:port: IPv6 bracketed."""
    ip = ip.strip("[]")
    return f"[{ip}]" if _is_v6(ip) else ip


def _hostport(ip: str, port: int) -> str:
    return f"{_host(ip)}:{port}"


def _kill_pid(pid: int, grace: float = 1.0) -> None:
    try:
        os.kill(pid, signal.SIGTERM)
    except (ProcessLookupError, PermissionError):
        return
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _stop_popen(p: Optional[subprocess.Popen], grace: float = 3.0) -> Optional[int]:
    if p is None:
        return None
    if p.poll() is None:
        for stop in (p.terminate, p.kill):  # SIGKILL only if SIGTERM did not do within grace
            try:
                stop()
            except ProcessLookupError:
                pass
            try:
                p.wait(timeout=grace)
                break
            except subprocess.TimeoutExpired:
                pass
    return p.returncode


def rtp_peer_usable(path: str) -> bool:
    """True if path is an rtp_peer new enough for the scenarios (knows --out-dir, SIGUSR1)."""
    try:
        r = subprocess.run([path, "--help"], capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return "--out-dir" in (r.stdout + r.stderr) and "--bind-ip" in (r.stdout + r.stderr)


def find_rtp_peer() -> Optional[str]:
    """$SIPALG_RTP_PEER, rtp_peer on PATH, or the newest usable one in a build dir of this repo
    (build*/**/rtp_peer), skipping stale binaries that lack the options the scenarios use."""
    env = os.environ.get("SIPALG_RTP_PEER")
    if env and os.access(env, os.X_OK):
        return env
    w = shutil.which("rtp_peer")
    cands = [w] if w else []
    cands += sorted(glob.glob(str(REPO_DIR / "build*" / "**" / "rtp_peer"), recursive=True),
                    key=lambda p: -os.path.getmtime(p))
    src = E2E_DIR / "media" / "rtp_peer.cpp"
    for c in cands:
        if not (os.path.isfile(c) and os.access(c, os.X_OK)):
            continue
        if src.exists() and os.path.getmtime(c) < os.path.getmtime(src):
            continue  # older than its source
        if rtp_peer_usable(c):
            return c
    return None


def build_rtp_peer(build_dir: str | os.PathLike, timeout: float = 180) -> str:
    """Configure+build tests/e2e standalone into build_dir; returns the rtp_peer path."""
    bd = Path(build_dir)
    bd.mkdir(parents=True, exist_ok=True)
    subprocess.run(["cmake", "-S", str(E2E_DIR), "-B", str(bd), "-DCMAKE_BUILD_TYPE=Release"],
                   check=True, capture_output=True, timeout=timeout)
    subprocess.run(["cmake", "--build", str(bd), "--target", "rtp_peer"], check=True,
                   capture_output=True, timeout=timeout)
    return str(bd / "rtp_peer")


# --------------------------------------------------------------------------
# SIPp message log parsing
# --------------------------------------------------------------------------

@dataclass
class SipMsg:
    direction: str            # "sent" or "recv"
    transport: str            # "UDP" / "TCP"
    timestamp: str
    start_line: str
    headers: list = field(default_factory=list)   # [(name, value)]
    body: str = ""
    raw: str = ""

    @property
    def is_request(self) -> bool:
        return not self.start_line.startswith("SIP/2.0")

    @property
    def method(self) -> Optional[str]:
        if self.is_request:
            return self.start_line.split(" ", 1)[0]
        cseq = self.header("CSeq")
        return cseq.split()[-1] if cseq else None

    @property
    def status(self) -> Optional[int]:
        if self.is_request:
            return None
        try:
            return int(self.start_line.split()[1])
        except (IndexError, ValueError):
            return None

    @property
    def ruri(self) -> Optional[str]:
        return self.start_line.split()[1] if self.is_request else None

    def header(self, name: str) -> Optional[str]:
        v = self.headers_all(name)
        return v[0] if v else None

    def headers_all(self, name: str) -> list[str]:
        compact = {"call-id": "i", "contact": "m", "from": "f", "to": "t", "via": "v",
                   "content-type": "c", "content-length": "l", "subject": "s", "event": "o",
                   "refer-to": "r", "supported": "k"}
        n = name.lower()
        names = {n, compact.get(n, n)}
        return [v for (k, v) in self.headers if k.lower() in names]

    @property
    def call_id(self) -> Optional[str]:
        return self.header("Call-ID")

    @property
    def cseq(self) -> Optional[int]:
        c = self.header("CSeq")
        try:
            return int(c.split()[0]) if c else None
        except ValueError:
            return None


_SEP = re.compile(r"^-{20,} (\S+ \S+)\s*$", re.M)
_KIND = re.compile(r"^(UDP|TCP|TLS|SCTP|WS)? ?message (sent|received)", re.I)


def parse_sipp_messages(text: str) -> list[SipMsg]:
    """Parse a SIPp -trace_msg / -message_file log into SipMsg objects."""
    out: list[SipMsg] = []
    parts = _SEP.split(text)
    # parts: [pre, ts1, chunk1, ts2, chunk2, ...]
    for i in range(1, len(parts) - 1, 2):
        ts, chunk = parts[i], parts[i + 1]
        lines = chunk.lstrip("\n").split("\n")
        if not lines:
            continue
        m = _KIND.match(lines[0].strip())
        if not m:
            continue
        transport = (m.group(1) or "").upper()
        direction = "sent" if m.group(2).lower() == "sent" else "recv"
        msg_text = "\n".join(lines[1:]).lstrip("\n").replace("\r\n", "\n")
        # A TCP read can hold several messages; SIPp logs each separately
        # in practice, so we take the first one per record.
        head, _, body = msg_text.partition("\n\n")
        hl = head.split("\n")
        if not hl or not hl[0].strip():
            continue
        headers = []
        for h in hl[1:]:
            if not h:
                continue
            if h[0] in " \t" and headers:
                k, v = headers[-1]
                headers[-1] = (k, v + " " + h.strip())
                continue
            k, _, v = h.partition(":")
            headers.append((k.strip(), v.strip()))
        clen = None
        for k, v in headers:
            if k.lower() in ("content-length", "l"):
                try:
                    clen = int(v)
                except ValueError:
                    pass
        if clen is not None:
            body = body[:clen] if clen <= len(body) else body
        else:
            body = body.rstrip("\n")
        out.append(SipMsg(direction, transport, ts, hl[0].strip(), headers, body, msg_text))
    return out


# --------------------------------------------------------------------------
# Kamailio
# --------------------------------------------------------------------------

class Registrar:
    """A running Kamailio (plain registrar or hosted-service proxy)."""

    def __init__(self, tk: "Toolkit", ns: Optional[str], ips: list[str], port: int, workdir: Path,
                 hosted: bool, name: str, ctl_path: str, sockdir_tmp: Optional[str],
                 proc: subprocess.Popen, log: Path):
        self.tk, self.ns, self.ips, self.port = tk, ns, ips, port
        self.workdir, self.hosted, self.name = workdir, hosted, name
        self.ctl_path, self._sockdir_tmp = ctl_path, sockdir_tmp
        self.proc, self.log_path = proc, log

    @property
    def ip(self) -> str:
        return self.ips[0]

    @property
    def uri_host(self) -> str:
        return _host(self.ip) if self.port == 5060 else _hostport(self.ip, self.port)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def rpc(self, *args: str, timeout: float = 10) -> str:
        r = self.tk.run(self.ns, [self.tk.kamcmd, "-s", f"unix:{self.ctl_path}", *args], timeout)
        if r.returncode != 0:
            raise RuntimeError(f"kamcmd {' '.join(args)} failed: {r.stdout}{r.stderr}")
        return r.stdout

    def dump(self) -> dict[str, list[dict]]:
        """Location table: {aor: [{'Address':..., 'Expires':..., 'Received':..., ...}, ...]}."""
        out: dict[str, list[dict]] = {}
        aor = None
        cur: Optional[dict] = None
        for line in self.rpc("ul.dump").splitlines():
            s = line.strip()
            if s.startswith("AoR:"):
                aor = s.split(":", 1)[1].strip()
                out.setdefault(aor, [])
            elif s.startswith("Contact: {") or s == "Contact: {":
                cur = {}
                if aor is not None:
                    out[aor].append(cur)
            elif s == "}" :
                continue
            elif cur is not None and ":" in s:
                k, _, v = s.partition(":")
                cur[k.strip()] = v.strip()
        return out

    def contacts(self, user: str) -> list[dict]:
        """Live contacts of user (Expires > 0 or permanent), as dicts from ul.dump."""
        res = []
        for aor, cs in self.dump().items():
            if aor == user or aor.split("@", 1)[0] == user:
                for c in cs:
                    exp = c.get("Expires", "")
                    if exp.isdigit() and int(exp) <= 0:
                        continue
                    if exp in ("expired", "deleted"):
                        continue
                    res.append(c)
        return res

    def location(self, user: str) -> list[str]:
        """Stored contact URIs of user, exactly as registered (e.g. 'sip:1001@203.0.113.1:5060;transport=UDP')."""
        return [c.get("Address", "") for c in self.contacts(user)]

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def requests(self, method: Optional[str] = None) -> list[dict]:
        """Requests Kamailio saw: [{'method','ruri','proto','src','contact'}] from its REQ log lines."""
        rx = re.compile(r"REQ (\S+) (\S+) from (\w+):(.*?) ct=(.*)$")
        out = []
        for line in self.log_text().splitlines():
            m = rx.search(line)
            if m and (method is None or m.group(1) == method):
                out.append({"method": m.group(1), "ruri": m.group(2), "proto": m.group(3),
                            "src": m.group(4), "contact": m.group(5)})
        return out

    def stop(self) -> None:
        _stop_popen(self.proc, grace=5)
        pidf = self.workdir / "kamailio.pid"
        # children die with the main process; make sure nothing is left behind
        if pidf.exists():
            try:
                pid = int(pidf.read_text().strip() or "0")
                if pid > 0 and pid != self.proc.pid:
                    _kill_pid(pid)
            except ValueError:
                pass
        if self._sockdir_tmp:
            shutil.rmtree(self._sockdir_tmp, ignore_errors=True)
            self._sockdir_tmp = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


# --------------------------------------------------------------------------
# SIPp user agents
# --------------------------------------------------------------------------

class UA:
    """A SIPp process running ua.xml (+ ua_ooc.xml) or a one-shot scenario."""

    def __init__(self, tk: "Toolkit", ns: Optional[str], name: str, workdir: Path, argv: list[str],
                 proc: subprocess.Popen, deadline: float, user: str, ip: str, port: int,
                 transport: str):
        self.tk, self.ns, self.name, self.workdir = tk, ns, name, workdir
        self.argv, self.proc, self.deadline = argv, proc, deadline
        self.user, self.ip, self.port, self.transport = user, ip, port, transport
        self.rc: Optional[int] = None
        self.registered: Optional[bool] = None

    # ---- files
    @property
    def msg_log(self) -> Path:
        return self.workdir / "messages.log"

    @property
    def err_log(self) -> Path:
        return self.workdir / "errors.log"

    @property
    def media_dir(self) -> Path:
        return self.workdir / "media"

    # ---- process
    def alive(self) -> bool:
        return self.proc.poll() is None

    def wait(self, timeout: Optional[float] = None) -> Optional[int]:
        """Wait for SIPp to exit (default: until its own deadline + 5 s); kills it on timeout.
        Returns SIPp's exit code (0: all calls succeeded), or None if it had to be killed."""
        if timeout is None:
            timeout = max(1.0, self.deadline - time.monotonic() + 5)
        try:
            self.rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.stop()
            self.rc = None
        return self.rc

    @property
    def ok(self) -> bool:
        if self.rc is None and self.proc.poll() is not None:
            self.rc = self.proc.returncode
        return self.rc == 0

    def stop(self, media: bool = True) -> None:
        """Kill SIPp (and, by default, the rtp_peer processes it started)."""
        _stop_popen(self.proc, grace=2)
        if self.rc is None:
            self.rc = self.proc.returncode
        if media:
            self.stop_media()

    def stop_media(self) -> None:
        for pf in glob.glob(str(self.media_dir / "*.pid")):
            try:
                pid = int(Path(pf).read_text().strip() or "0")
            except (ValueError, FileNotFoundError):
                continue
            if pid > 0:
                _kill_pid(pid)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    # ---- messages
    def messages(self) -> list[SipMsg]:
        try:
            return parse_sipp_messages(self.msg_log.read_text(errors="replace"))
        except FileNotFoundError:
            return []

    def _logged(self, direction: str, requests: bool, method: Optional[str],
                status: Optional[int] = None) -> list[SipMsg]:
        return [m for m in self.messages()
                if m.direction == direction and m.is_request == requests
                and (method is None or m.method == method) and (status is None or m.status == status)]

    def received(self, method: Optional[str] = None) -> list[SipMsg]:
        """Requests that arrived at this UA (optionally only METHOD), in order."""
        return self._logged("recv", True, method)

    def received_responses(self, method: Optional[str] = None, status: Optional[int] = None) -> list[SipMsg]:
        return self._logged("recv", False, method, status)

    def sent(self, method: Optional[str] = None) -> list[SipMsg]:
        return self._logged("sent", True, method)

    def sent_responses(self, method: Optional[str] = None, status: Optional[int] = None) -> list[SipMsg]:
        return self._logged("sent", False, method, status)

    def registrations(self) -> list[tuple[int, Optional[int]]]:
        """[(cseq, final status or None)] for every REGISTER this UA sent (retransmissions merged)."""
        res: dict[int, Optional[int]] = {}
        for m in self.messages():
            if m.method != "REGISTER":
                continue
            cs = m.cseq
            if cs is None:
                continue
            if m.direction == "sent" and m.is_request:
                res.setdefault(cs, None)
            elif m.direction == "recv" and not m.is_request and m.status and m.status >= 200:
                res[cs] = m.status
        return sorted(res.items())

    def wait_registered(self, timeout: float = 5.0) -> bool:
        """True once a 200 to a REGISTER arrived (bounded wait)."""
        end = time.monotonic() + timeout
        while True:
            if any(st == 200 for _, st in self.registrations()):
                self.registered = True
                return True
            if time.monotonic() >= end or not self.alive():
                self.registered = any(st == 200 for _, st in self.registrations())
                return self.registered
            time.sleep(0.1)

    def wait_received(self, method: str, count: int = 1, timeout: float = 10.0) -> list[SipMsg]:
        end = time.monotonic() + timeout
        while True:
            got = self.received(method)
            if len(got) >= count or time.monotonic() >= end:
                return got
            time.sleep(0.1)

    def errors(self) -> str:
        try:
            return self.err_log.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def output(self) -> str:
        try:
            return (self.workdir / "sipp.out").read_text(errors="replace")
        except FileNotFoundError:
            return ""

    # ---- media
    def media_results(self, kind: Optional[str] = None) -> list[dict]:
        """rtp_peer results so far: dicts with sent/received/sources/bind/to/tag(=Call-ID)/...,
        plus 'kind' ('in' for answered calls, 'out' for placed calls).  Sorted by start."""
        res = []
        for f in sorted(glob.glob(str(self.media_dir / "*.json")), key=os.path.getmtime):
            base = os.path.basename(f)
            k = "in" if base.startswith("in_") else "out" if base.startswith("out_") else "?"
            if kind and k != kind:
                continue
            try:
                d = json.loads(Path(f).read_text())
            except (json.JSONDecodeError, FileNotFoundError):
                continue
            d["kind"] = k
            d["file"] = f
            res.append(d)
        return res

    def media_running(self) -> int:
        n = 0
        for pf in glob.glob(str(self.media_dir / "*.pid")):
            try:
                os.kill(int(Path(pf).read_text().strip()), 0)
                n += 1
            except (ValueError, ProcessLookupError, FileNotFoundError):
                pass
        return n

    def wait_media(self, count: int = 1, timeout: float = 20.0, kind: Optional[str] = None) -> list[dict]:
        """Wait (bounded) until `count` media results exist and no rtp_peer is still running."""
        end = time.monotonic() + timeout
        while True:
            res = self.media_results(kind)
            if (len(res) >= count and self.media_running() == 0) or time.monotonic() >= end:
                return res
            time.sleep(0.1)

    def media_result(self, timeout: float = 20.0, kind: Optional[str] = None) -> Optional[dict]:
        """The latest media result (waits for the first one, bounded)."""
        res = self.wait_media(1, timeout, kind)
        return res[-1] if res else None


# --------------------------------------------------------------------------
# the toolkit
# --------------------------------------------------------------------------

_counter = itertools.count(1)


class Toolkit:
    def __init__(self, run: Optional[RunFn] = None, spawn: Optional[SpawnFn] = None,
                 rtp_peer: Optional[str] = None, sipp: str = "sipp", kamailio: str = "kamailio",
                 kamcmd: str = "kamcmd"):
        self.run = run or default_run
        self.spawn = spawn or default_spawn
        self.rtp_peer = rtp_peer or find_rtp_peer()
        self.sipp, self.kamailio, self.kamcmd = sipp, kamailio, kamcmd
        self._cp = 18000 + (os.getpid() % 500) * 20
        self._mp = 50000 + (os.getpid() % 500) * 20

    # ---------------- Kamailio
    def start_registrar(self, ns: Optional[str], ip: str | Sequence[str], workdir: str | os.PathLike,
                        hosted: bool = False, port: int = 5060, name: Optional[str] = None,
                        min_expires: int = 5, max_expires: int = 3600, natping_interval: int = 10,
                        tcp: bool = True, timeout: float = 10, force_rport: bool = False,
                        domain_alias: Optional[str] = None) -> Registrar:
        """Start Kamailio (registrar.cfg, or hosted.cfg when hosted=True) listening on udp (+tcp)
        ip:port for each ip (v4 or v6).  Waits until its control socket answers.
        force_rport: answer every request at its source address and port (RFC 3581 rport
        forced on, as PBXes commonly do). domain_alias: another domain it takes as its own.
        Returns a Registrar (.location(user), .contacts(user), .dump(), .requests(), .stop())."""
        ips = [ip] if isinstance(ip, str) else list(ip)
        name = name or ("hosted" if hosted else "registrar") + f"-{ips[0].replace(':', '_')}"
        wd = Path(workdir) / f"kamailio-{name}"
        wd.mkdir(parents=True, exist_ok=True)
        ctl = str(wd / "ctl.sock")
        tmpdir = None
        if len(ctl) > 100:  # sun_path limit
            tmpdir = tempfile.mkdtemp(prefix="sae-kam-")
            ctl = os.path.join(tmpdir, "ctl.sock")
        cfg = KAMAILIO_DIR / ("hosted.cfg" if hosted else "registrar.cfg")
        argv = [self.kamailio, "-f", str(cfg), "-DD", "-E", "-Y", str(wd), "-P", str(wd / "kamailio.pid"),
                "-m", "48", "-M", "8",
                "-A", f'CTL_SOCK="unix:{ctl}"', "-A", f"MIN_EXPIRES={int(min_expires)}",
                "-A", f"MAX_EXPIRES={int(max_expires)}", "-A", f"NATPING_INTERVAL={int(natping_interval)}"]
        if force_rport:
            argv += ["-A", "FORCE_RPORT"]
        if domain_alias:
            argv += ["-A", f'DOMAIN_ALIAS="{domain_alias}"']
        for a in ips:
            argv += ["-l", f"udp:{_hostport(a, port)}"]
            if tcp:
                argv += ["-l", f"tcp:{_hostport(a, port)}"]
        log = wd / "kamailio.log"
        (wd / "cmdline").write_text(shlex.join(argv) + "\n")
        proc = self.spawn(ns, _logged(argv, log))
        reg = Registrar(self, ns, ips, port, wd, hosted, name, ctl, tmpdir, proc, log)
        end = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                reg.stop()
                raise RuntimeError(f"kamailio exited ({proc.returncode}); see {log}:\n{reg.log_text()[-2000:]}")
            if os.path.exists(ctl):
                try:
                    reg.rpc("core.version", timeout=3)
                    return reg
                except (RuntimeError, subprocess.TimeoutExpired):
                    pass
            if time.monotonic() >= end:
                reg.stop()
                raise RuntimeError(f"kamailio did not come up in {timeout}s; see {log}")
            time.sleep(0.1)

    # ---------------- SIPp
    def _next_mp(self) -> int:
        """SIPp binds -mp and -mp+2 itself (unused by us): give each SIPp its own pair."""
        self._mp += 4
        if self._mp > 59990:
            self._mp = 50000
        return self._mp

    def _next_cp(self) -> int:
        self._cp += 1
        if self._cp > 28000:
            self._cp = 18000
        return self._cp

    def start_ua(self, ns: Optional[str], ip: str, user: str, server: str, workdir: str | os.PathLike, *,
                 server_port: int = 5060, port: int = 5060, transport: str = "udp",
                 domain: Optional[str] = None,
                 register: bool = True, expires: int = 60, reg_count: int = 1, reg_interval_s: float = 30,
                 hold_s: float = 0, unregister: bool = False,
                 calls: int = 0, call_to: Optional[str] = None, call_s: float = 5, call_delay_s: float = 1,
                 large_sdp: bool = False, refer_to: Optional[str] = None, refer_after_s: float = 1,
                 rtp_port: int = 40000, media_ip: Optional[str] = None, media_s: float = 30,
                 media_args: Sequence[str] = (), media_interval_ms: Optional[int] = None,
                 name: Optional[str] = None, timeout: Optional[float] = None,
                 extra_args: Sequence[str] = ()) -> UA:
        """Start one SIPp process running ua.xml (main) + ua_ooc.xml (answers everything that
        comes in) on ip:port towards server:server_port.  Background; returns a UA handle.

        register: REGISTER reg_count times, reg_interval_s apart, then stay hold_s, then
                  un-REGISTER if unregister.   (Expires: expires)
        calls:    after registration starts, place `calls` calls to call_to, call_delay_s apart
                  (first one call_delay_s after start), each call_s long with media; with
                  refer_to, send an in-dialog REFER refer_after_s after answer.
        Incoming INVITEs are answered with SDP and media_s of RTP from rtp_port.
        timeout:  hard bound on SIPp's lifetime (default: planned schedule + 20 s)."""
        if not self.rtp_peer:
            raise RuntimeError("rtp_peer not found: build tests/e2e (or set SIPALG_RTP_PEER)")
        if calls and not call_to:
            raise ValueError("calls > 0 needs call_to")
        transport = transport.lower()
        tmode = {"udp": "u1", "tcp": "t1"}[transport]
        domain = domain or _host(server)
        n = next(_counter)
        name = name or f"ua-{user}"
        wd = Path(workdir) / f"sipp-{name}-{n}"
        (wd / "media").mkdir(parents=True, exist_ok=True)
        media_ip = media_ip or ip

        reg_count = max(1, int(reg_count))
        reg_ms = int(reg_interval_s * 1000)
        hold_ms = int(hold_s * 1000)
        reg_total_s = (reg_count - 1) * reg_interval_s + hold_s if register else 0
        calls_total_s = (call_delay_s * calls + call_s + (refer_after_s if refer_to else 0) + 5) if calls else 0
        plan_s = max(reg_total_s, calls_total_s) + 2
        if timeout is None:
            timeout = plan_s + 20
        margs = list(media_args)
        if media_interval_ms:
            margs += ["--interval-ms", str(int(media_interval_ms))]
        mp = self._next_mp()

        total_calls = (1 if register else 0) + int(calls)
        if total_calls == 0:
            raise ValueError("nothing to do: register=False and calls=0")
        rate_period_ms = max(1, int(call_delay_s * 1000))
        argv = [self.sipp, _hostport(server, server_port),
                "-sf", str(SIPP_DIR / "ua.xml"), "-oocsf", str(SIPP_DIR / "ua_ooc.xml"),
                "-t", tmode, "-i", ip.strip("[]"), "-p", str(port), "-mi", media_ip.strip("[]"),
                "-mp", str(mp), "-s", str(user), "-cp", str(self._next_cp()),
                "-m", str(total_calls), "-l", str(total_calls + 1),
                "-r", "1", "-rp", str(rate_period_ms),
                "-set", "doreg", "1" if register else "0",
                "-set", "regcount", str(reg_count), "-set", "reginterval", str(reg_ms),
                "-set", "holdms", str(hold_ms), "-set", "unreg", "1" if unregister else "0",
                "-set", "callms", str(int(call_s * 1000)), "-set", "largesdp", "1" if large_sdp else "0",
                "-set", "refer", "1" if refer_to else "0",
                "-set", "referafter", str(int(refer_after_s * 1000)),
                "-key", "expires", str(int(expires)), "-key", "domain", domain,
                "-key", "callto", call_to or f"sip:nobody@{domain}",
                "-key", "referto", refer_to or f"sip:nobody@{domain}",
                "-key", "rtpport", str(rtp_port), "-key", "rtpport1", str(rtp_port + 1),
                "-key", "rtpport2", str(rtp_port + 2), "-key", "rtpport3", str(rtp_port + 3),
                "-key", "rtppeer", self.rtp_peer, "-key", "mediadir", str(wd / "media"),
                "-key", "mediaargs", " ".join(shlex.quote(a) for a in margs),
                "-key", "mediams", str(int(media_s * 1000)),
                "-trace_msg", "-message_file", str(wd / "messages.log"),
                "-trace_err", "-error_file", str(wd / "errors.log"),
                "-trace_screen", "-screen_file", str(wd / "screen.log"),
                "-nostdin", "-timeout", f"{int(timeout)}s", "-max_retrans", "5",
                *extra_args]
        if register and transport == "udp":
            pass
        (wd / "cmdline").write_text(shlex.join(argv) + "\n")
        proc = self.spawn(ns, _logged(argv, wd / "sipp.out"))
        return UA(self, ns, name, wd, argv, proc, time.monotonic() + timeout, str(user), ip, port, transport)

    def start_phone(self, ns: Optional[str], ip: str, user: str, registrar: str, workdir: str | os.PathLike, *,
                    expires: int = 60, reregister_every: Optional[float] = None, duration: float = 60,
                    unregister: bool = False, media_port: int = 40000, transport: str = "udp",
                    port: int = 5060, registrar_port: int = 5060, wait_registered: float = 5.0,
                    call_to: Optional[str] = None, calls: int = 0, call_s: float = 5,
                    call_delay_s: float = 2, **kw) -> UA:
        """A phone: registers user at registrar from ip:port and stays registered for `duration`
        seconds (re-REGISTERing every `reregister_every` s if given), answering calls/NOTIFY/
        OPTIONS/REFER meanwhile; optionally also places calls from the same socket.
        Waits up to wait_registered s for the first 200 (sets .registered; never raises)."""
        if reregister_every:
            count = int(duration // reregister_every) + 1
            hold = max(0.0, duration - (count - 1) * reregister_every)
        else:
            count, hold, reregister_every = 1, duration, 1
        ua = self.start_ua(ns, ip, user, registrar, workdir, server_port=registrar_port, port=port,
                           transport=transport, register=True, expires=expires, reg_count=count,
                           reg_interval_s=reregister_every, hold_s=hold, unregister=unregister,
                           rtp_port=media_port, calls=calls if call_to else 0, call_to=call_to,
                           call_s=call_s, call_delay_s=call_delay_s, name=kw.pop("name", f"phone-{user}"),
                           **kw)
        if wait_registered:
            ua.wait_registered(wait_registered)
        return ua

    def call(self, ns: Optional[str], ip: str, user: str, server: str, to_uri: str,
             workdir: str | os.PathLike, *, port: int = 5062, server_port: int = 5060,
             transport: str = "udp", call_s: float = 5, media_port: int = 30000, large_sdp: bool = False,
             refer_to: Optional[str] = None, refer_after_s: float = 1, register: bool = False,
             expires: int = 60, wait: bool = True, timeout: Optional[float] = None, **kw) -> UA:
        """Place one call user -> to_uri through server from a SIPp on ip:port (default 5062, so
        it can run beside a phone on 5060).  INVITE with SDP, ACK, call_s of media, optional
        REFER, BYE.  With register=True it registers user first from the same port.
        wait=True: blocks until done (bounded) -> UA with .rc/.ok; else returns the running UA."""
        ua = self.start_ua(ns, ip, user, server, workdir, server_port=server_port, port=port,
                           transport=transport, register=register, expires=expires, reg_count=1,
                           hold_s=0, calls=1, call_to=to_uri, call_s=call_s,
                           call_delay_s=kw.pop("call_delay_s", 0.5 if register else 0.001),
                           large_sdp=large_sdp, refer_to=refer_to, refer_after_s=refer_after_s,
                           rtp_port=media_port, name=kw.pop("name", f"call-{user}"), timeout=timeout, **kw)
        if wait:
            ua.wait()
            ua.wait_media(1, timeout=call_s + 10, kind="out")
        return ua

    def _oneshot(self, scenario: str, ns: Optional[str], ip: str, user: str, server: str, target: str,
                 workdir: str | os.PathLike, port: int, server_port: int, transport: str,
                 timeout: float, name: str, wait: bool) -> UA:
        tmode = {"udp": "u1", "tcp": "t1"}[transport.lower()]
        wd = Path(workdir) / f"sipp-{name}-{next(_counter)}"
        wd.mkdir(parents=True, exist_ok=True)
        argv = [self.sipp, _hostport(server, server_port), "-sf", str(SIPP_DIR / scenario),
                "-t", tmode, "-i", ip.strip("[]"), "-p", str(port), "-mi", ip.strip("[]"),
                "-mp", str(self._next_mp()),
                "-s", str(user), "-cp", str(self._next_cp()), "-m", "1",
                "-key", "notifyto", target, "-key", "domain", _host(server),
                "-trace_msg", "-message_file", str(wd / "messages.log"),
                "-trace_err", "-error_file", str(wd / "errors.log"),
                "-nostdin", "-timeout", f"{int(max(1, timeout))}s", "-timeout_error"]
        (wd / "cmdline").write_text(shlex.join(argv) + "\n")
        proc = self.spawn(ns, _logged(argv, wd / "sipp.out"))
        ua = UA(self, ns, name, wd, argv, proc, time.monotonic() + timeout, str(user), ip, port, transport)
        if wait:
            ua.wait()
        return ua

    def send_notify(self, ns: Optional[str], ip: str, user: str, server: str, target: str,
                    workdir: str | os.PathLike, *, port: int = 5064, server_port: int = 5060,
                    transport: str = "udp", timeout: float = 10, wait: bool = True) -> UA:
        """Out-of-dialog NOTIFY (Event: message-summary, Messages-Waiting: yes) from user@ip:port
        to target (e.g. 'sip:1002@203.0.113.10') via server.  .ok when a 200 came back."""
        return self._oneshot("notify_mwi.xml", ns, ip, user, server, target, workdir, port,
                             server_port, transport, timeout, f"notify-{user}", wait)

    def send_options(self, ns: Optional[str], ip: str, user: str, server: str, target: str,
                     workdir: str | os.PathLike, *, port: int = 5066, server_port: int = 5060,
                     transport: str = "udp", timeout: float = 10, wait: bool = True) -> UA:
        """Out-of-dialog OPTIONS to target via server; .ok when a 200 came back."""
        return self._oneshot("options.xml", ns, ip, user, server, target, workdir, port,
                             server_port, transport, timeout, f"options-{user}", wait)

    def sipp_register(self, ns: Optional[str], ip: str, user: str, registrar: str,
                      workdir: str | os.PathLike, *, expires: int = 60, port: int = 5060,
                      registrar_port: int = 5060, transport: str = "udp", timeout: float = 10) -> UA:
        """One REGISTER (expires=0: un-REGISTER) from ip:port; blocks; .ok when 200 came back."""
        ua = self.start_ua(ns, ip, user, registrar, workdir, server_port=registrar_port, port=port,
                           transport=transport, register=True, expires=expires, reg_count=1,
                           hold_s=0, name=f"register-{user}", timeout=timeout)
        ua.wait()
        return ua


# --------------------------------------------------------------------------
# helpers for checks
# --------------------------------------------------------------------------

def media_ok(res: Optional[dict], min_ratio: float = 0.9, expect_sent: Optional[int] = None) -> bool:
    """True if an rtp_peer result received at least min_ratio of what it (or the peer) sent."""
    if not res:
        return False
    sent = expect_sent if expect_sent is not None else res.get("sent", 0)
    return sent > 0 and res.get("received", 0) >= min_ratio * sent


def private_addresses(text: str, prefixes: Iterable[str] = ("192.168.", "10.", "172.16.", "fd", "2001:db8:10:")) -> list[str]:
    """Addresses in text that start with one of the given private prefixes (for leak checks)."""
    import ipaddress
    rx = re.compile(r"(?<![\w.:])(\d{1,3}(?:\.\d{1,3}){3}(?![\w.])|"
                    r"[0-9a-fA-F]{0,4}(?::[0-9a-fA-F]{0,4}){2,7}(?![\w.:]))")
    out = []
    for m in rx.finditer(text):
        a = m.group(1)
        try:
            ipaddress.ip_address(a)
        except ValueError:
            continue
        if any(a.lower().startswith(p) for p in prefixes):
            out.append(a)
    return out
