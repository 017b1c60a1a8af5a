// Scale of sipalg's state: bindings and pinholes at 100k and 1M entries. Three benches, each in
// its own file, run in this order unless named on the command line:
//   memory  map memory per entry (memory.cpp)
//   lookup  lookup cost at size (lookup.cpp)
//   toggle  time for enable/disable to take effect (toggle.cpp)
//
// The real datapath cannot hold 100k or 1M of either: every binding and pinhole owns a public
// UDP port of the one public IPv4 address (sipalg_slots, 65536 slots), so one public address
// holds at most ~64k bindings + pinholes together. The 100k/1M rows measure the hash maps alone
// at that size (what more public addresses would need; sipalg does not support that).
//
// Usage: scale [memory] [lookup] [toggle]
//              [--sizes 1000,65536,100000,1000000] [--repeat 100000] [--rounds 5]
//              [--mem-reps 3] [--toggles 200] [--sipalg PATH | --no-cli] [--quick]
//              [--md FILE] [--json FILE]                                           (root)
#include "bpf_util.hpp"
#include "machine.hpp"
#include "scale.hpp"
#include "text.hpp"

#include <bpf/libbpf.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

using bench::fmt;

namespace scale {

const Bench *const kBenches[] = {&kMemory, &kLookup, &kToggle};

void Report::out(const std::string &s) {
    std::fputs(s.c_str(), stdout);
    std::fflush(stdout);
    md += s;
}

std::string by_how_much(double value, double target, const char *unit) {
    const double d = value - target;
    return d <= 0 ? fmt("met (%.2f %s under)", -d, unit) : fmt("NOT met (%.2f %s over)", d, unit);
}

namespace {

[[noreturn]] void usage() {
    std::fprintf(stderr, "usage: scale [memory] [lookup] [toggle]\n"
                         "             [--sizes N,N,...] [--repeat R] [--rounds K] [--mem-reps M]\n"
                         "             [--toggles T] [--sipalg PATH | --no-cli] [--quick]\n"
                         "             [--md FILE] [--json FILE]        (root)\n");
    for (const Bench *b : kBenches)
        std::fprintf(stderr, "  %-7s %s\n", b->name, b->summary);
    std::exit(2);
}

Options parse(int argc, char **argv) {
    Options o;
#ifdef SCALE_SIPALG_BIN
    o.sipalg = SCALE_SIPALG_BIN;
#endif
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto val = [&]() -> std::string {
            if (i + 1 >= argc)
                usage();
            return argv[++i];
        };
        if (a == "--sizes") {
            o.sizes.clear();
            std::stringstream ss(val());
            std::string t;
            while (std::getline(ss, t, ','))
                if (!t.empty())
                    o.sizes.push_back(static_cast<std::uint32_t>(std::stoul(t)));
        } else if (a == "--repeat") {
            o.repeat = std::stoi(val());
        } else if (a == "--rounds") {
            o.rounds = std::stoi(val());
        } else if (a == "--mem-reps") {
            o.mem_reps = std::stoi(val());
        } else if (a == "--toggles") {
            o.toggles = std::stoi(val());
        } else if (a == "--sipalg") {
            o.sipalg = val();
        } else if (a == "--no-cli") {
            o.sipalg.clear();
        } else if (a == "--quick") {
            o.sizes = {1000, 100000};
            o.repeat = 100000;
            o.rounds = 3;
            o.mem_reps = 1;
            o.toggles = 40;
            o.cli_toggles = 6;
        } else if (a == "--md") {
            o.md = val();
        } else if (a == "--json") {
            o.json = val();
        } else if (!a.empty() && a[0] != '-') {
            bool known = false;
            for (const Bench *b : kBenches)
                known = known || a == b->name;
            if (!known)
                usage();
            o.benches.push_back(a);
        } else {
            usage();
        }
    }
    if (o.sizes.empty() || o.repeat <= 0 || o.rounds <= 0 || o.mem_reps <= 0 || o.toggles <= 1)
        usage();
    for (auto n : o.sizes)
        if (n < 16 || n > 16u * 1024 * 1024)
            usage();
    return o;
}

bool selected(const Options &o, const Bench &b) {
    if (o.benches.empty())
        return true;
    for (const auto &n : o.benches)
        if (n == b.name)
            return true;
    return false;
}

// Ctrl-C / kill: undo what outlives the process (the toggle bench's namespace and pins, the
// memory bench's cgroup); everything else is held by file descriptors. The signals are blocked
// in every thread and taken by one thread that tears down and exits, whatever the others do.
void handle_signals() {
    static sigset_t sigs;
    sigemptyset(&sigs);
    for (int sig : {SIGINT, SIGTERM, SIGHUP})
        sigaddset(&sigs, sig);
    pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
    std::thread([] {
        int sig = 0;
        if (sigwait(&sigs, &sig) != 0)
            return;
        std::fprintf(stderr, "scale: signal %d, tearing down\n", sig);
        for (const Bench *b : kBenches)
            if (b->teardown)
                b->teardown();
        _exit(128 + sig);
    }).detach();
}

int run(const Options &opt) {
    const bench::Machine m = bench::machine();
    Report rep;
    auto &js = rep.js;
    js.begin_object();
    js.field("date", m.date);
    js.field("kernel", m.kernel);
    js.field("cpu", m.cpu);
    js.field("cpus", static_cast<double>(m.cpus));

    rep.out("## Scale: bindings and pinholes (`bench/scale`)\n\n");
    rep.out(fmt("%s, kernel %s, %s, %ld CPUs. Sizes: ", m.date.c_str(), m.kernel.c_str(),
                m.cpu.c_str(), m.cpus));
    std::string sizes;
    for (size_t i = 0; i < opt.sizes.size(); ++i) {
        if (i)
            sizes += ", ";
        sizes += bench::human_count(opt.sizes[i]);
    }
    rep.out(sizes + ".\n\n");
    rep.out("**The real datapath holds at most 65535 bindings + pinholes per public address**: "
            "each\n"
            "owns a public UDP port of the one public IPv4 address (`sipalg_slots`, 65536 slots,\n"
            "ports 1024-65535 by default). 100k and 1M would need more public addresses, which\n"
            "sipalg does not support: those rows measure the hash maps alone at that size\n"
            "(`sipalg_binds`/`sipalg_pins` with max_entries raised in a bench-only copy of the\n"
            "object, filled from user space).\n\n");
    bool any_targets = false;
    for (const Bench *b : kBenches)
        if (selected(opt, *b)) {
            b->run(opt, rep);
            any_targets = any_targets || b->targets;
        }
    if (any_targets) {
        rep.out("\n### Against the targets\n\n");
        js.key("targets");
        js.begin_object();
        for (const Bench *b : kBenches)
            if (selected(opt, *b) && b->targets)
                b->targets(opt, rep);
        js.end_object();
    }
    js.end_object();

    if (!opt.md.empty()) {
        std::ofstream f(opt.md);
        f << rep.md;
        if (!f)
            throw std::runtime_error("cannot write " + opt.md);
    }
    if (!opt.json.empty()) {
        std::ofstream f(opt.json);
        f << js.str() << "\n";
        if (!f)
            throw std::runtime_error("cannot write " + opt.json);
    }
    return 0;
}

} // namespace
} // namespace scale

int main(int argc, char **argv) {
    const scale::Options opt = scale::parse(argc, argv);
    if (geteuid() != 0) {
        std::fprintf(stderr, "scale: run as root (loads BPF programs, creates a namespace)\n");
        return 1;
    }
    scale::handle_signals();
    libbpf_set_print(sipalg::test::quiet_libbpf);
    try {
        return scale::run(opt);
    } catch (const std::exception &e) {
        std::fprintf(stderr, "scale: %s\n", e.what());
        return 1;
    }
}
