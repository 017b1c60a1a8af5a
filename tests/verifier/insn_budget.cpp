// The verifier budget of the datapath: loads the linked BPF object (the one the loader attaches,
// through its skeleton) and checks each program's verified instruction count against the
// checked-in budget (insn_budget.txt): at most 10% over its line, and never past 800k (the
// kernel's limit is 1M; a program near it fails to load on the next change or kernel).
//
// Usage: sipalg_insn_budget BUDGET_FILE     (root: loads BPF programs; exit 77 without)
#include "prog_stats.hpp"
#include "sipalg.skel.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <unistd.h>

#include <cstdarg>
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

namespace {

constexpr double kGrowth = 1.10;
constexpr unsigned kCeiling = 800000;

int quiet_libbpf(enum libbpf_print_level level, const char *fmt, va_list args) {
    return level == LIBBPF_WARN ? std::vfprintf(stderr, fmt, args) : 0;
}

// "name count" lines; '#' starts a comment.
bool read_budget(const char *path, std::map<std::string, unsigned> &out) {
    std::ifstream in(path);
    if (!in)
        return false;
    std::string line;
    while (std::getline(in, line)) {
        line = line.substr(0, line.find('#'));
        std::istringstream ls(line);
        std::string name;
        unsigned n = 0;
        if (ls >> name >> n)
            out[name] = n;
    }
    return true;
}

} // namespace

int main(int argc, char **argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: sipalg_insn_budget BUDGET_FILE\n");
        return 2;
    }
    if (geteuid() != 0) {
        std::fprintf(stderr, "SKIP: needs root (loads BPF programs)\n");
        return 77;
    }
    std::map<std::string, unsigned> budget;
    if (!read_budget(argv[1], budget)) {
        std::fprintf(stderr, "cannot read %s\n", argv[1]);
        return 2;
    }
    libbpf_set_print(quiet_libbpf);
    sipalg_bpf *skel = sipalg_bpf__open_and_load();
    if (!skel) {
        std::fprintf(stderr, "cannot load the BPF object (the verifier refused a program?)\n");
        return 1;
    }
    int failed = 0;
    std::printf("%-22s %10s %10s %8s\n", "program", "verified", "budget", "growth");
    bpf_program *prog;
    bpf_object__for_each_program(prog, skel->obj) {
        const std::string name = bpf_program__name(prog);
        const sipalg::test::ProgStats st = sipalg::test::stats_of(bpf_program__fd(prog));
        if (!st.ok) {
            std::fprintf(stderr, "%s: cannot read its info\n", name.c_str());
            failed = 1;
            continue;
        }
        const auto it = budget.find(name);
        if (it == budget.end()) {
            std::printf("%-22s %10u %10s  FAIL: no budget line (add one)\n", name.c_str(),
                        st.verified_insns, "-");
            failed = 1;
            continue;
        }
        const double growth = static_cast<double>(st.verified_insns) / it->second;
        const bool over = growth > kGrowth || st.verified_insns > kCeiling;
        std::printf("%-22s %10u %10u %+7.1f%%%s\n", name.c_str(), st.verified_insns, it->second,
                    (growth - 1) * 100, over ? "  FAIL" : "");
        if (over)
            failed = 1;
        budget.erase(it);
    }
    for (const auto &[name, n] : budget) {
        std::printf("%-22s %10s %10u  FAIL: not in the object (remove its line)\n", name.c_str(),
                    "-", n);
        failed = 1;
    }
    sipalg_bpf__destroy(skel);
    if (failed)
        std::printf("failed: a program more than %.0f%% over its line or past %u, or a line "
                    "missing or left over; if the growth is meant, raise the line in %s\n",
                    (kGrowth - 1) * 100, kCeiling, argv[1]);
    return failed;
}
