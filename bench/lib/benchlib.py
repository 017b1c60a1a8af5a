"""What the Python benches share: one median, JSON output and the machine's facts (the twin of
bench/lib/stats.hpp, loader/cli/json.hpp and bench/lib/machine.hpp), and the e2e sandbox under
a bench's own names.

A bench in bench/NAME/ imports it with
    sys.path.insert(0, os.path.join(os.path.dirname(HERE), "lib"))
    import benchlib
"""
import json
import os
import platform
import statistics
import sys
import time

LIB = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(LIB))


def median(xs):
    """The middle of the sorted samples, the mean of the two middle ones for an even count
    (bench/lib/stats.hpp's definition); NaNs are left out, NaN if nothing is left."""
    xs = [x for x in xs if x == x]
    return statistics.median(xs) if xs else float("nan")


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine(date_format="%Y-%m-%d %H:%M", utc=False):
    """date (in date_format, local time unless utc), kernel, cpu, cpus."""
    now = time.gmtime() if utc else time.localtime()
    return {"date": time.strftime(date_format, now), "kernel": platform.release(),
            "cpu": cpu_model(), "cpus": os.cpu_count() or 0}


def write_json(path, obj, indent=1):
    """obj to path; anything json cannot encode is written as its str()."""
    with open(path, "w") as f:
        json.dump(obj, f, indent=indent, default=str)


def loader_has(sipalg_bin, option):
    """Whether `sipalg load` of that binary takes `option` (benches also run older builds)."""
    import subprocess
    try:
        p = subprocess.run([sipalg_bin, "load", "--help"], capture_output=True, text=True,
                           timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return option in p.stdout


def load_options(sipalg_bin, opts):
    """[(option, value)] as `sipalg load` arguments, leaving out what that loader lacks."""
    out = []
    for k, v in opts:
        if loader_has(sipalg_bin, k):
            out += [k, str(v)]
    return out


def loads_with_options(topology_cls):
    """A subclass of topo.py's Topology whose `sipalg load` also gets self.load_extra (a list
    of arguments). topo.py loads with the defaults, made for a few phones; a bench offers
    more calls, bindings or requests a second than those allow."""
    class Loaded(topology_cls):
        load_extra = []

        def sipalg(self, *args, check=True, timeout=20):
            if args and args[0] == "load":
                args += tuple(self.load_extra)
                timeout = max(timeout, 120)  # a busy machine may take long to verify
            return super().sipalg(*args, check=check, timeout=timeout)
    return Loaded


def sandbox_args(ap, workdir, quick_help):
    """The options a sandbox bench (signalling.py, calls.py) ends its list with: the sipalg
    binary, where its logs go, its quick run, and where the results are written."""
    ap.add_argument("--sipalg", default=os.path.join(REPO, "build", "sipalg"),
                    help="the sipalg binary (default %(default)s)")
    ap.add_argument("--workdir", default=workdir, help="logs (%(default)s)")
    ap.add_argument("--quick", action="store_true", help=quick_help)
    ap.add_argument("--md", help="write the markdown section here")
    ap.add_argument("--json", help="write the raw numbers here")


def csv_list(text):
    """Comma-separated text as its items, stripped, the empty ones left out."""
    return [x.strip() for x in str(text).split(",") if x.strip()]


def csv_ints(text):
    return [int(x) for x in csv_list(text)]


def need_root(bench):
    if os.geteuid() != 0:
        sys.exit("%s: must run as root (network namespaces)" % bench)


def need_sipalg(bench, modes, sipalg_bin):
    """The sipalg mode cannot run without the binary: say so before any namespace is made."""
    if "sipalg" in modes and not os.access(sipalg_bin, os.X_OK):
        sys.exit("%s: sipalg mode needs the built binary: --sipalg PATH (%s missing)" %
                 (bench, sipalg_bin))


def e2e_sandbox(prefix, pin_root):
    """The e2e harness's (tests/e2e/sipalg_e2e) addresses and topology modules, with every
    namespace under `prefix` and every pin under `pin_root`, so that a bench's sandbox never
    touches the e2e run's or another bench's. Returns (addresses, topo)."""
    os.environ["SAE_PREFIX"] = prefix
    os.environ["SAE_PIN_ROOT"] = pin_root
    path = os.path.join(REPO, "tests", "e2e")
    if path not in sys.path:
        sys.path.insert(0, path)
    from sipalg_e2e import addresses, topo
    if addresses.PREFIX != prefix or topo.PIN_ROOT != pin_root:
        raise RuntimeError("tests/e2e/sipalg_e2e was imported before with other names, or does "
                           "not honour SAE_PREFIX/SAE_PIN_ROOT")
    return addresses, topo


if __name__ == "__main__":
    # bench/run.sh's header line: `python3 bench/lib/benchlib.py machine`
    if sys.argv[1:] != ["machine"]:
        sys.exit("usage: benchlib.py machine")
    m = machine()
    print("kernel %s · %s · %d cores" % (m["kernel"], m["cpu"], m["cpus"]))
