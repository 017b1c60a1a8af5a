"""The sandbox router: phones on a LAN bridge, a NATing firewall router, the Internet.

    sae-phone1 ─┐                       sae-router                        sae-inet
    sae-phone2 ─┼─ veth ── br-lan 192.168.10.1 │ wan0 203.0.113.1 ── veth ── inet0 203.0.113.2
    sae-phone3 ─┤          2001:db8:10::1      │ 2001:db8:ff::1            registrar   .10
    sae-lansrv ─┘                              │                           hosted svc  .20
                                                                           remote UA 198.51.100.20

The router forwards with an ordinary nftables masquerade and a stateful
forward firewall (established,related accepted; new from the WAN dropped;
flows the router itself DNATed accepted, as OpenWrt's fw4 accepts its port
forwards: sipalg's WAN failover redirect is such a flow), as a real CPE does. The Internet namespace has no route to the LAN, so the
only way in is through NAT state - exactly what a SIP ALG has to get right.

Modes:
  none    masquerade + firewall only
  linux   the same + nftables `ct helper "sip"` (the kernel's nf_conntrack_sip/nf_nat_sip)
  sipalg  the same + sipalg attached to the router's WAN and enabled
  sipalg-off  sipalg attached but left disabled (the default after `load`): must
          behave exactly like `none`
  direct  control: no NAT, no firewall, the Internet routes to the LAN. Not a NAT
          scenario at all; it shows the harness's SIP software works, so a FAIL
          in the other columns is the router's doing, not the harness's.
"""

import os
import shutil
import signal
import subprocess
import time

from . import addresses as A

MODES = ("none", "linux", "sipalg", "sipalg-off", "direct")

# Pinned maps of the harness's sipalg instances live under their own root so a
# killed run can be cleaned without touching a production sipalg on the host.
# SAE_PIN_ROOT overrides it (bench/signalling.py, next to SAE_PREFIX).
PIN_ROOT = os.environ.get("SAE_PIN_ROOT", "/sys/fs/bpf/sipalg-e2e")

# --failover-after of the harness's sipalg: a registrar silent this long means the WAN is down
# (only with the failover policy on, which only N16 switches on).
FAILOVER_AFTER_S = 10

FIREWALL_NFT = """
table inet sae_filter {
    chain forward {
        type filter hook forward priority filter; policy drop;
        ct state established,related accept
        ct state invalid drop
        iifname "br-lan" oifname "wan0" accept
        ct status dnat accept
    }
}
table ip sae_nat {
    chain postrouting {
        type nat hook postrouting priority srcnat; policy accept;
        oifname "wan0" masquerade
    }
}
"""

# The kernel's SIP ALG, attached the way the nftables wiki documents it.
LINUX_HELPER_NFT = """
table inet sae_sip_helper {
    ct helper sip_udp {
        type "sip" protocol udp;
        l3proto inet;
    }
    ct helper sip_tcp {
        type "sip" protocol tcp;
        l3proto inet;
    }
    chain prerouting {
        type filter hook prerouting priority filter; policy accept;
        udp dport 5060 ct helper set "sip_udp"
        tcp dport 5060 ct helper set "sip_tcp"
    }
}
"""


class CommandError(RuntimeError):
    pass


def _sh(argv, timeout=20, check=True, input=None):
    p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, input=input)
    if check and p.returncode != 0:
        raise CommandError("%s: exit %d: %s" % (" ".join(argv), p.returncode,
                                                 (p.stderr or p.stdout).strip()[:500]))
    return p


def list_sandbox_namespaces():
    out = _sh(["ip", "netns", "list"], check=False).stdout
    return [line.split()[0] for line in out.splitlines() if line.startswith(A.PREFIX)]


def cleanup_stale():
    """Remove whatever a previous (possibly killed) run left behind."""
    for ns in list_sandbox_namespaces():
        pids = _sh(["ip", "netns", "pids", ns], check=False).stdout.split()
        for pid in pids:
            try:
                os.kill(int(pid), signal.SIGKILL)
            except (ProcessLookupError, ValueError):
                pass
        _sh(["ip", "netns", "del", ns], check=False)
    if os.path.isdir(PIN_ROOT):
        shutil.rmtree(PIN_ROOT, ignore_errors=True)


def kill_all(procs, timeout=5):
    """SIGKILL the process group of each one still running (start_new_session=True), then reap
    them all, waiting at most timeout seconds in all."""
    for p in procs:
        if p.poll() is None:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    deadline = time.monotonic() + timeout
    for p in procs:
        try:
            p.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            pass


class Topology:
    def __init__(self, mode, workdir, sipalg_bin=None):
        if mode not in MODES:
            raise ValueError("mode must be one of %s" % ", ".join(MODES))
        self.mode = mode
        self.workdir = workdir
        self.sipalg_bin = sipalg_bin
        self.procs = []
        self.daemon = None  # the slow-path daemon, in the sipalg modes
        self.namespaces = []
        os.makedirs(workdir, exist_ok=True)

    # --- running things -------------------------------------------------

    def run(self, ns, argv, timeout=20, check=True, input=None):
        return _sh(["ip", "netns", "exec", ns] + list(argv), timeout=timeout, check=check,
                   input=input)

    def spawn(self, ns, argv, log_name=None, host_sys=False):
        """Start a background process in a namespace; down() kills it. host_sys: enter
        only the network namespace (nsenter), keeping the host's /sys and its bpffs."""
        log = open(os.path.join(self.workdir, log_name or (os.path.basename(argv[0]) + ".log")),
                   "ab")
        enter = ["nsenter", "--net=/run/netns/" + ns] if host_sys else ["ip", "netns", "exec", ns]
        p = subprocess.Popen(enter + list(argv), stdout=log,
                             stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                             start_new_session=True)
        log.close()
        self.procs.append(p)
        return p

    def sipalg(self, *args, check=True, timeout=20):
        """Run the sipalg CLI in the router. nsenter (not `ip netns exec`) keeps the
        host's /sys, so the pinned maps land on the real bpffs."""
        if not self.sipalg_bin:
            raise CommandError("sipalg mode needs --sipalg PATH (the built binary)")
        return _sh(["nsenter", "--net=/run/netns/" + A.NS_ROUTER, self.sipalg_bin] + list(args),
                   timeout=timeout, check=check)

    def nft(self, ns, ruleset):
        self.run(ns, ["nft", "-f", "-"], input=ruleset)

    def sysctl(self, ns, key, value, check=True):
        self.run(ns, ["sysctl", "-qw", "%s=%s" % (key, value)], check=check)

    # --- bring-up and teardown -------------------------------------------

    def _add_ns(self, ns):
        _sh(["ip", "netns", "add", ns])
        self.namespaces.append(ns)
        self.run(ns, ["ip", "link", "set", "lo", "up"])
        # No router advertisements or DAD delays: addresses are usable at once.
        self.sysctl(ns, "net.ipv6.conf.all.accept_ra", 0)
        self.sysctl(ns, "net.ipv6.conf.default.accept_dad", 0)
        self.sysctl(ns, "net.ipv6.conf.all.accept_dad", 0)

    def _veth(self, ns_a, if_a, ns_b, if_b):
        _sh(["ip", "link", "add", if_a, "netns", ns_a, "type", "veth", "peer", "name", if_b,
             "netns", ns_b])
        self.run(ns_a, ["ip", "link", "set", if_a, "up"])
        self.run(ns_b, ["ip", "link", "set", if_b, "up"])

    def _addr(self, ns, ifname, cidr):
        extra = ["nodad"] if ":" in cidr else []
        self.run(ns, ["ip", "addr", "add", cidr, "dev", ifname] + extra)

    def up(self):
        cleanup_stale()
        try:
            self._build()
        except BaseException:
            self.down()
            raise
        return self

    def _build(self):
        r, inet = A.NS_ROUTER, A.NS_INET
        for ns in (r, inet):
            self._add_ns(ns)

        # Router: LAN bridge + WAN.
        self.run(r, ["ip", "link", "add", A.LAN_BRIDGE, "type", "bridge"])
        self.run(r, ["ip", "link", "set", A.LAN_BRIDGE, "up"])
        self._addr(r, A.LAN_BRIDGE, A.LAN_GW + "/24")
        self._addr(r, A.LAN_BRIDGE, A.LAN6_GW + "/64")
        # Bridged LAN-to-LAN traffic must not run through the IP firewall (N15).
        self.sysctl(r, "net.bridge.bridge-nf-call-iptables", 0, check=False)
        self.sysctl(r, "net.bridge.bridge-nf-call-ip6tables", 0, check=False)
        self.sysctl(r, "net.ipv4.ip_forward", 1)
        self.sysctl(r, "net.ipv6.conf.all.forwarding", 1)

        lan_hosts = [(A.ns_phone(p), A.PHONE_IP[p], A.PHONE_IP6[p]) for p in A.PHONES]
        lan_hosts.append((A.NS_LANSRV, A.LANSRV_IP, "2001:db8:10::5"))
        for i, (ns, ip4, ip6) in enumerate(lan_hosts):
            self._add_ns(ns)
            port = "lan-p%d" % i
            self._veth(r, port, ns, "eth0")
            self.run(r, ["ip", "link", "set", port, "master", A.LAN_BRIDGE])
            self._addr(ns, "eth0", ip4 + "/24")
            self._addr(ns, "eth0", ip6 + "/64")
            self.run(ns, ["ip", "route", "add", "default", "via", A.LAN_GW])
            self.run(ns, ["ip", "-6", "route", "add", "default", "via", A.LAN6_GW])

        self._veth(r, A.WAN_IF, inet, A.INET_IF)
        self._addr(r, A.WAN_IF, A.ROUTER_WAN_IP + "/24")
        self._addr(r, A.WAN_IF, A.ROUTER_WAN_IP6 + "/64")
        self.run(r, ["ip", "route", "add", "default", "via", A.INET_IP])
        self.run(r, ["ip", "-6", "route", "add", "default", "via", A.INET_IP6])
        for cidr in (A.INET_IP + "/24", A.REGISTRAR_IP + "/24", A.HOSTED_IP + "/24",
                     A.REMOTE_IP + "/24", A.INET_IP6 + "/64", A.REGISTRAR_IP6 + "/64",
                     A.REMOTE_IP6 + "/64"):
            self._addr(inet, A.INET_IF, cidr)
        # The remote UA's network reaches the router's WAN through the ISP's host.
        self.sysctl(inet, "net.ipv4.ip_forward", 1)

        # IPv6 is routed, not NATed: the Internet knows the LAN's /64 and only the
        # firewall's state keeps unsolicited traffic out (N17).
        self.run(inet, ["ip", "-6", "route", "add", A.LAN6_PREFIX, "via", A.ROUTER_WAN_IP6])
        if self.mode == "direct":
            # Control topology: plain routing, so the Internet may reach the LAN.
            self.run(inet, ["ip", "route", "add", "192.168.0.0/16", "via", A.ROUTER_WAN_IP])
        else:
            self.nft(r, FIREWALL_NFT)
        if self.mode == "linux":
            self.nft(r, LINUX_HELPER_NFT)
        if self.mode in ("sipalg", "sipalg-off"):
            # The WAN failover's internal server is configured for every scenario; its policy
            # stays off (the default) unless a scenario switches it on (N16).
            self.sipalg("load", "--wan", A.WAN_IF, "--pin-root", PIN_ROOT, "--failover-server",
                        "%s:5060" % A.LANSRV_IP, "--failover-after", str(FAILOVER_AFTER_S))
            self.start_daemon()
        if self.mode == "sipalg":
            self.sipalg("enable", "--wan", A.WAN_IF, "--pin-root", PIN_ROOT)

    def start_daemon(self):
        """The userspace slow path, as a router would run it next to the loaded ALG."""
        p = self.spawn(A.NS_ROUTER, [self.sipalg_bin, "-v", "daemon", "--wan", A.WAN_IF,
                                     "--pin-root", PIN_ROOT], "sipalg-daemon.log", host_sys=True)
        self.daemon = p
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            if p.poll() is not None:
                raise CommandError("sipalg daemon exited with %d (see %s)" % (
                    p.returncode, os.path.join(self.workdir, "sipalg-daemon.log")))
            if '"daemon_attached":true' in self.alg_status_json().replace(" ", ""):
                return
            time.sleep(0.1)
        raise CommandError("sipalg daemon did not attach within 5 s")

    def stop_daemon(self):
        p = self.daemon
        if p is None or p.poll() is not None:
            return
        p.terminate()  # SIGTERM: it detaches and removes its nftables rule
        try:
            p.wait(timeout=5)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()

    def set_alg(self, enabled):
        self.sipalg("enable" if enabled else "disable", "--wan", A.WAN_IF, "--pin-root", PIN_ROOT)

    def alg_status_json(self):
        return self.sipalg("status", "--wan", A.WAN_IF, "--pin-root", PIN_ROOT, "-j").stdout

    def wan_link(self, up):
        """Takes the WAN veth down or up. Down removes the routes through it; up puts the
        default routes back, as the router's DHCP/PPP client would."""
        self.run(A.NS_ROUTER, ["ip", "link", "set", A.WAN_IF, "up" if up else "down"])
        if up:
            self.run(A.NS_ROUTER, ["ip", "route", "replace", "default", "via", A.INET_IP])
            self.run(A.NS_ROUTER, ["ip", "-6", "route", "replace", "default", "via", A.INET_IP6],
                     check=False)  # IPv6 DAD/NDP may need a moment; N16 needs IPv4 only

    def down(self):
        self.stop_daemon()  # gracefully first: it removes its nftables table on SIGTERM
        kill_all(self.procs)
        self.procs = []
        if self.mode in ("sipalg", "sipalg-off") and self.sipalg_bin and A.NS_ROUTER in self.namespaces:
            self.sipalg("unload", "--wan", A.WAN_IF, "--pin-root", PIN_ROOT, check=False)
        self.namespaces = []
        cleanup_stale()

    def __enter__(self):
        return self.up()

    def __exit__(self, *exc):
        self.down()
        return False
