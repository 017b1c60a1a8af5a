"""What the stand-alone end-to-end scripts beside sae.py (slow_fragments.py, slow_tcp_limits.py)
share: the sipalg binary they are given, the router's status and their verdict lines."""
import json
import os
import sys

E2E = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def sipalg_bin():
    """argv[1], as CTest passes it; the lead's build when run by hand without one."""
    return sys.argv[1] if len(sys.argv) > 1 else os.path.join(E2E, "..", "..", "build", "sipalg")


def status(t):
    """`sipalg status -j` of the topology's router, one instance's object."""
    j = json.loads(t.alg_status_json())
    return j[0] if isinstance(j, list) else j


def report(failures, passed):
    """A FAIL line for each failure, or PASS and what held; the script's exit code."""
    for f in failures:
        print("FAIL: " + f)
    if not failures:
        print("PASS: " + passed)
    return 1 if failures else 0
