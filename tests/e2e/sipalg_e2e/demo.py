"""The README's main job: one router, one registration, one call, sipalg's status.

Each step prints OK or FAIL with what was seen, so the demo says honestly which
parts work today. It exits 0 when the demo ran (whatever the verdicts) and 1 only
when the sandbox itself could not be built.
"""

import shutil
import time

from . import addresses as A
from . import checks as C
from .env import Env
from .runner import Fail
from .topo import Topology


def _step(title, fn):
    try:
        detail = fn()
        print("  [ OK ] %s: %s" % (title, detail), flush=True)
        return True
    except Fail as e:
        print("  [FAIL] %s: %s" % (title, e), flush=True)
        return False


def run(sipalg_bin, workdir):
    print("sipalg demo: sandbox router in network namespaces (all torn down at the end)")
    print("  LAN  %s on br-lan: phone1 %s, phone2 %s" %
          (A.LAN_PREFIX, A.PHONE_IP["phone1"], A.PHONE_IP["phone2"]))
    print("  WAN  router %s (nftables masquerade + stateful firewall)" % A.ROUTER_WAN_IP)
    print("  Internet: Kamailio registrar %s, remote phone %s (user %s)\n" %
          (A.REGISTRAR_IP, A.REMOTE_IP, A.REMOTE_USER))
    shutil.rmtree(workdir, ignore_errors=True)  # stale tool logs would read as this run's
    topo = Topology("sipalg", workdir, sipalg_bin)
    results = []
    try:
        topo.up()
        print("  sipalg attached to the router's WAN and enabled:")
        for line in topo.sipalg("status", "--wan", A.WAN_IF, "--pin-root",
                                "/sys/fs/bpf/sipalg-e2e").stdout.splitlines()[:2]:
            print("      " + line)
        env = Env(topo, workdir, quick=True)
        try:
            reg = env.registrar()
            remote = env.remote(duration=25)
            p1 = env.phone("phone1", duration=25)
            state = {}

            def register():
                C.registered(p1, "phone1")
                stored = reg.location("1001")
                state["contact"] = stored[0] if stored else "none"
                if A.PHONE_IP["phone1"] in state["contact"]:
                    raise Fail("200 OK, but the registrar stored %s: a private address "
                               "nobody outside can reach" % state["contact"])
                return "registrar stored %s" % state["contact"]

            def incoming():
                env.tk.send_options(A.NS_INET, A.REMOTE_IP, A.REMOTE_USER, A.REGISTRAR_IP,
                                    "sip:1001@%s" % A.REGISTRAR_IP, workdir)
                if not p1.wait_received("OPTIONS", 1, timeout=3):
                    raise Fail("a request to the stored contact never reached phone1")
                return "a request from outside reached phone1 through the router"

            def call():
                ua = env.tk.call(A.ns_phone("phone1"), A.PHONE_IP["phone1"], "1001",
                                 A.REGISTRAR_IP, "sip:%s@%s" % (A.REMOTE_USER, A.REGISTRAR_IP),
                                 workdir, call_s=4)
                env._track(ua)
                C.call_answered(ua, "phone1")
                return C.media_both_ways(ua, "out", "phone1", remote, "in", "remote")

            results.append(_step("phone1 registers", register))
            results.append(_step("phone1 is reachable from the Internet", incoming))
            results.append(_step("phone1 calls the remote phone, RTP both ways", call))
            time.sleep(0.5)
            print("\n$ sipalg status --wan wan0    (in the router namespace)")
            print(topo.sipalg("status", "--wan", A.WAN_IF, "--pin-root",
                              "/sys/fs/bpf/sipalg-e2e", check=False).stdout)
        finally:
            env.close()
    except KeyboardInterrupt:
        raise
    except Exception as e:
        print("demo: the sandbox could not be run: %s" % e)
        return 1
    finally:
        topo.down()
    failed = results.count(False)
    if failed:
        print("%d of %d steps FAIL: sipalg does not yet do what they need (the counters above "
              "show what it did: sip_rewritten, pin_created...). Where each scenario stands: "
              "docs/scenarios.md." % (failed, len(results)))
    else:
        print("all %d steps OK" % len(results))
    print("sandbox torn down")
    return 0
