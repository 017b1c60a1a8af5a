// scale lookup: lookup cost at size. The benchmark's own copy of the datapath (scale.bpf.c
// includes the real bpf/ sources) with max_entries of sipalg_binds/sipalg_pins raised before
// load and the maps filled from user space; BPF_PROG_TEST_RUN repeat=R, median of K rounds,
// each round minus a baseline measured right before it:
//   - the real sipalg_lan_ingress on an RTP packet of a pinhole and on a packet of no flow
//     (two hash misses), and sipalg_wan_xdp on inbound RTP (an array lookup: size-independent),
//     the same packet every run (a hot flow);
//   - random lookups: 8 per run of uniformly random populated (hit) or absent (miss)
//     endpoints, hash lookup + the port-slot check the datapath does after it: a flow that is
//     not in the CPU cache.
#include "datapath.hpp"
#include "scale.hpp"
#include "stats.hpp"
#include "text.hpp"

#include <linux/bpf.h>
#include <linux/pkt_cls.h>

#include <cstdio>
#include <map>
#include <stdexcept>

using namespace sipalg::test;
using bench::fmt;
using bench::human_count;

namespace scale {
namespace {

struct LookupRow {
    std::string name;
    std::string unit;                                 // "packet" or "lookup"
    std::map<std::uint32_t, double> ns;               // by size
    std::map<std::uint32_t, std::vector<double>> raw; // per-round differences
};

void run(const Options &opt, Report &rep) {
    const net::Topology &topo = net::enter();
    const Frames fr = make_frames();
    std::vector<LookupRow> rows = {
            {"RTP out, tc `sipalg_lan_ingress` (pinhole hash hit, route cached)", "packet", {}, {}},
            {"other UDP out, tc `sipalg_lan_ingress` (2 hash misses: pins, binds)",
             "packet",
             {},
             {}},
            {"RTP in, XDP `sipalg_wan_xdp` (port array, no hash)", "packet", {}, {}},
            {"random pinhole lookup, hit (hash + port slot)", "lookup", {}, {}},
            {"random pinhole lookup, miss", "lookup", {}, {}},
            {"random binding lookup, hit (hash + port slot)", "lookup", {}, {}},
            {"random binding lookup, miss", "lookup", {}, {}},
    };
    std::map<std::uint32_t, std::pair<long long, long long>> dp_memlock; // pins, binds
    long long ports_memlock = -1;
    for (auto n : opt.sizes) {
        std::fprintf(stderr, "lookups: %u entries...\n", n);
        Datapath dp(topo, n);
        dp_memlock[n] = {dp.map_memlock(dp.skel->maps.sipalg_pins),
                         dp.map_memlock(dp.skel->maps.sipalg_binds)};
        ports_memlock = dp.map_memlock(dp.skel->maps.sipalg_slots);
        const auto fd = [&](bpf_program *p) { return bpf_program__fd(p); };
        const Runner lan_rtp{fd(dp.skel->progs.scale_lan), false, &fr.rtp_out, topo.lan_ifindex};
        const Runner lan_other{fd(dp.skel->progs.scale_lan), false, &fr.other_out,
                               topo.lan_ifindex};
        const Runner tc_base{fd(dp.skel->progs.scale_tc_restore), false, &fr.rtp_out,
                             topo.lan_ifindex};
        const Runner xdp_rtp{fd(dp.skel->progs.scale_xdp), true, &fr.rtp_in, topo.wan_ifindex};
        const Runner xdp_base{fd(dp.skel->progs.scale_xdp_restore_meta), true, &fr.rtp_in,
                              topo.wan_ifindex};
        const Runner keys{fd(dp.skel->progs.scale_keys), true, &fr.rtp_in, topo.wan_ifindex};
        const Runner ph{fd(dp.skel->progs.scale_pins_hit), true, &fr.rtp_in, topo.wan_ifindex};
        const Runner pm{fd(dp.skel->progs.scale_pins_miss), true, &fr.rtp_in, topo.wan_ifindex};
        const Runner bh{fd(dp.skel->progs.scale_binds_hit), true, &fr.rtp_in, topo.wan_ifindex};
        const Runner bm{fd(dp.skel->progs.scale_binds_miss), true, &fr.rtp_in, topo.wan_ifindex};
        struct C {
            const Runner *r, *base;
            std::uint32_t want;
            double div;
            long long hits_per_run; // -1: not a random-lookup case
        };
        const std::vector<C> cases = {
                {&lan_rtp, &tc_base, TC_ACT_REDIRECT, 1, -1},
                {&lan_other, &tc_base, TC_ACT_OK, 1, -1},
                {&xdp_rtp, &xdp_base, XDP_PASS, 1, -1},
                {&ph, &keys, XDP_PASS, kK, kK},
                {&pm, &keys, XDP_PASS, kK, 0},
                {&bh, &keys, XDP_PASS, kK, kK},
                {&bm, &keys, XDP_PASS, kK, 0},
        };
        // Warm-up, and a check that each case takes the path it claims to measure.
        for (size_t i = 0; i < cases.size(); ++i) {
            dp.set_enabled(true);
            dp.new_generation();
            const std::uint64_t h0 = dp.skel->bss->scale_hits;
            std::uint32_t ret = 0;
            test_run(*cases[i].r, 1000, &ret);
            if (ret != cases[i].want)
                throw std::runtime_error(rows[i].name + ": returned " + std::to_string(ret));
            const std::uint64_t h = dp.skel->bss->scale_hits - h0;
            if (cases[i].hits_per_run >= 0 &&
                h != static_cast<std::uint64_t>(cases[i].hits_per_run) * 1000)
                throw std::runtime_error(rows[i].name + ": " + std::to_string(h) +
                                         " hash hits in 1000 runs, expected " +
                                         std::to_string(cases[i].hits_per_run * 1000));
        }
        for (size_t i = 0; i < cases.size(); ++i) {
            std::vector<double> diffs;
            for (int r = 0; r < opt.rounds; ++r) {
                const double b = test_run(*cases[i].base, opt.repeat, nullptr);
                dp.set_enabled(true);
                dp.new_generation();
                std::uint32_t ret = 0;
                const double c = test_run(*cases[i].r, opt.repeat, &ret);
                if (ret != cases[i].want)
                    throw std::runtime_error(rows[i].name + ": wrong path");
                diffs.push_back((c - b) / cases[i].div);
            }
            rows[i].ns[n] = bench::median(diffs);
            rows[i].raw[n] = diffs;
        }
    }
    rep.out("\n### Lookup cost at size\n\n");
    rep.out(fmt("`BPF_PROG_TEST_RUN`, repeat=%d, median of %d rounds, each minus a baseline run "
                "right before it (the frame-restoring wrapper around nothing; for random "
                "lookups the same loop without the map lookups). ns per packet, or per lookup "
                "for the random rows (8 lookups per run, uniformly random over the N entries "
                "in the map, or absent keys for misses; at 1M the tables are far larger than "
                "the CPU caches, so these are cache-missing lookups; at 65536 and 100k they are "
                "about the size of the last-level cache, so those figures depend on what else "
                "runs on the machine). The datapath rows send the same packet every run: a hot "
                "flow. Both hash maps hold N entries each. Cells: median (min-max of the "
                "rounds).\n\n",
                opt.repeat, opt.rounds));
    std::string hdr = "| case | unit |", sep = "|---|---|";
    for (auto n : opt.sizes) {
        // Appended in place: " " + std::string trips GCC 12's false -Wrestrict at -O3.
        hdr += ' ';
        hdr += human_count(n);
        hdr += " |";
        sep += "---:|";
    }
    rep.out(hdr + "\n" + sep + "\n");
    auto &js = rep.js;
    js.key("lookup");
    js.begin_array();
    for (const auto &r : rows) {
        std::string line = "| " + r.name + " | ns/" + r.unit + " |";
        js.begin_object();
        js.field("case", r.name);
        js.field("unit", "ns/" + r.unit);
        js.key("by_size");
        js.begin_object();
        for (auto n : opt.sizes) {
            const auto &rv = r.raw.at(n);
            line += fmt(" %.0f (%.0f-%.0f) |", r.ns.at(n), bench::min_of(rv), bench::max_of(rv));
            js.key(std::to_string(n));
            js.begin_object();
            js.field("median", r.ns.at(n));
            js.field("rounds", rv);
            js.end_object();
        }
        js.end_object();
        js.end_object();
        rep.out(line + "\n");
    }
    js.end_array();
    js.key("datapath_map_memlock");
    js.begin_object();
    for (const auto &[n, m] : dp_memlock) {
        js.key(std::to_string(n));
        js.begin_object();
        js.field("sipalg_pins", static_cast<double>(m.first));
        js.field("sipalg_binds", static_cast<double>(m.second));
        js.end_object();
    }
    js.end_object();
    js.field("sipalg_ports_memlock", static_cast<double>(ports_memlock));
}

} // namespace

const Bench kLookup = {"lookup", "lookup cost at size (BPF_PROG_TEST_RUN)", run, nullptr, nullptr};

} // namespace scale
