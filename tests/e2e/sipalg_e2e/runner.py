"""Runs scenarios one by one, each on a freshly built sandbox, each bounded in time.

A scenario is a function(env) that returns a reason string when it passes and
raises Fail(reason) when it does not; anything else it raises is a FAIL too,
with the exception as the reason. Every scenario gets its own topology so no
conntrack entry, binding or registration leaks from one into the next.
"""

import json
import os
import shutil
import signal
import time
import traceback

from .topo import Topology

REGISTRY = {}


class Fail(Exception):
    pass


class Timeout(Exception):
    pass


def scenario(sid, title, time_limit=90):
    def wrap(fn):
        REGISTRY[sid] = (fn, title, time_limit)
        return fn

    return wrap


def scenario_ids():
    # The brief's N1-N17 first, then the other families (D: dialogs) in id order.
    return sorted(REGISTRY, key=lambda s: (s[0] != "N", s[0], int(s[1:])))


class Result:
    def __init__(self, sid, passed, reason, seconds):
        self.sid, self.passed, self.reason, self.seconds = sid, passed, reason, seconds

    def as_dict(self):
        return {"id": self.sid, "result": "PASS" if self.passed else "FAIL",
                "reason": self.reason, "seconds": round(self.seconds, 1)}


def _alarm(signum, frame):
    raise Timeout()


def _terminate(signum, frame):
    raise KeyboardInterrupt()


def run_one(sid, mode, workdir, sipalg_bin, make_env, quick):
    fn, title, limit = REGISTRY[sid]
    wd = os.path.join(workdir, mode, sid)
    # A fresh directory every time: the tools' log names repeat from run to run, and a
    # stale SIPp message log would show an earlier run's 200 OK as this run's.
    shutil.rmtree(wd, ignore_errors=True)
    os.makedirs(wd)
    topo = Topology(mode, wd, sipalg_bin)
    start = time.monotonic()
    signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(limit)
    try:
        topo.up()
        env = make_env(topo, wd, quick)
        try:
            reason = fn(env)
        finally:
            env.close()
        passed = True
    except Fail as e:
        passed, reason = False, str(e)
    except Timeout:
        passed, reason = False, "did not finish within %d s" % limit
    except KeyboardInterrupt:
        raise
    except Exception as e:  # a harness or tool error is a FAIL with its reason, not a crash
        passed, reason = False, "error: %s" % (str(e).splitlines() or [repr(e)])[0][:200]
        with open(os.path.join(wd, "traceback.txt"), "w") as f:
            traceback.print_exc(file=f)
    finally:
        signal.alarm(0)
        topo.down()
    return Result(sid, passed, reason or "", time.monotonic() - start)


def run_mode(mode, ids, workdir, sipalg_bin, make_env, quick=False, out=print):
    # Explicit, because a process started in the background by a script inherits SIGINT
    # ignored, and the sandbox must come down on INT and TERM alike.
    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGINT, _terminate)
    results = []
    for sid in ids:
        r = run_one(sid, mode, workdir, sipalg_bin, make_env, quick)
        results.append(r)
        out("%-4s %-6s %-4s %5.1fs  %s" % (sid, mode, "PASS" if r.passed else "FAIL", r.seconds,
                                          r.reason))
    return results


def save(results, mode, path, kernel):
    with open(path, "w") as f:
        json.dump({"mode": mode, "kernel": kernel, "date": time.strftime("%Y-%m-%d"),
                   "results": [r.as_dict() for r in results]}, f, indent=1)
