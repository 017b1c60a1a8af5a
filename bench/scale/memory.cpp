// scale memory: map memory per entry, from the kernel's own accounting, for a hash map of
// exactly the shape of sipalg_binds / sipalg_pins (BPF_MAP_TYPE_HASH, 8-byte key, 8-byte value,
// BPF_F_NO_PREALLOC, max_entries = N), created empty and filled with N entries:
//   - memlock: the map's own figure, `memlock:` in /proc/self/fdinfo/<map fd> (what
//     `bpftool map show` prints as memlock; since 6.4 it is the map type's map_mem_usage(),
//     i.e. the kernel's estimate of what the map uses right now);
//   - memcg: what the allocations were charged to a memory cgroup that only this process is
//     in (bench/lib/cgroup.hpp; cgroup v2 memory.stat "kernel", or v1
//     memory.kmem.usage_in_bytes): real slab objects, pages and vmalloc areas, so allocator
//     rounding shows. Without a cgroup of its own (cgroup not writable) it reads this process's
//     shared cgroup, where other processes add noise: it says so, and the median of several
//     repetitions is all that absorbs it.
// Plus the fixed slot every binding/pinhole has in sipalg_slots, for the per-pinhole target.
#include "cgroup.hpp"
#include "datapath.hpp"
#include "scale.hpp"
#include "stats.hpp"
#include "text.hpp"

#include <bpf/bpf.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <map>
#include <sstream>
#include <stdexcept>

using bench::fmt;
using bench::human_count;
using bench::median;

namespace scale {
namespace {

using Slabs = std::map<std::string, std::pair<long long, long long>>;

// /proc/slabinfo: objects in use per cache (name -> {active objects, object size}).
Slabs slab_snapshot() {
    Slabs m;
    std::istringstream in(bench::read_file("/proc/slabinfo"));
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty() || line[0] == '#' || line.rfind("slabinfo", 0) == 0)
            continue;
        std::istringstream l(line);
        std::string name;
        long long active = 0, total = 0, objsize = 0;
        if (l >> name >> active >> total >> objsize)
            m[name] = {active, objsize};
    }
    return m;
}

// The slab cache that grew most between two snapshots: where the map's elements went.
struct SlabGrowth {
    std::string cache;
    long long objsize = 0;
    long long objects = 0;
};

SlabGrowth slab_growth(const Slabs &a, const Slabs &b) {
    SlabGrowth g;
    for (const auto &[name, v] : b) {
        const auto it = a.find(name);
        const long long d = v.first - (it == a.end() ? 0 : it->second.first);
        if (d > g.objects)
            g = {name, v.second, d};
    }
    return g;
}

struct MemRow {
    std::string map;
    std::uint32_t entries = 0;
    long long memlock_empty = 0, memlock_full = 0;
    double memcg_empty = NAN, memcg_full = NAN; // medians over the repetitions, bytes
    std::vector<double> memcg_full_reps;
    std::vector<double> current_full_reps; // memory.current of the cgroup of its own
    double populate_s = NAN;
    SlabGrowth slab; // the cache the elements were allocated from (last repetition)
    double per_entry_memlock() const { return static_cast<double>(memlock_full) / entries; }
    double per_added_memlock() const {
        return static_cast<double>(memlock_full - memlock_empty) / entries;
    }
    double per_entry_memcg() const { return memcg_full / entries; }
    double per_added_memcg() const { return (memcg_full - memcg_empty) / entries; }
};

// The counter read around each map: the cgroup of its own, or the shared one.
struct Counter {
    std::function<long long()> read;
    std::function<long long()> current; // null when not in a cgroup of its own
    bool ok = false;
};

// Waits (bounded) until the counter is back near `target` after a map was closed: maps are
// freed asynchronously (RCU), and the next repetition's baseline must not include them.
void settle(const Counter &mc, long long target, long long slack) {
    const double deadline = bench::now_ns() + 3e9;
    while (mc.ok && bench::now_ns() < deadline && mc.read() > target + slack)
        usleep(20000);
}

MemRow measure_memory(const char *name, std::uint32_t n, int reps, const Counter &mc) {
    MemRow row;
    row.map = name;
    row.entries = n;
    std::vector<double> empty, full, pop;
    for (int r = 0; r < reps; ++r) {
        const long long before = mc.ok ? mc.read() : -1;
        const long long cur0 = mc.current ? mc.current() : -1;
        LIBBPF_OPTS(bpf_map_create_opts, o, .map_flags = BPF_F_NO_PREALLOC);
        const int fd = bpf_map_create(BPF_MAP_TYPE_HASH, name, sizeof(sipalg_endpoint), 8, n, &o);
        if (fd < 0)
            throw std::runtime_error(
                    fmt("cannot create a %u-entry hash map: %s", n, std::strerror(errno)));
        const long long created = mc.ok ? mc.read() : -1;
        row.memlock_empty = fdinfo_memlock(fd);
        const auto slab0 = slab_snapshot();
        const double t0 = bench::now_ns();
        populate(fd, n);
        pop.push_back((bench::now_ns() - t0) / 1e9);
        const long long filled = mc.ok ? mc.read() : -1;
        if (mc.current)
            row.current_full_reps.push_back(static_cast<double>(mc.current() - cur0));
        row.slab = slab_growth(slab0, slab_snapshot());
        row.memlock_full = fdinfo_memlock(fd);
        if (mc.ok) {
            empty.push_back(static_cast<double>(created - before));
            full.push_back(static_cast<double>(filled - before));
        }
        close(fd);
        settle(mc, before, 256 * 1024);
    }
    row.memcg_empty = median(empty);
    row.memcg_full = median(full);
    row.memcg_full_reps = full;
    row.populate_s = median(pop);
    return row;
}

// An array of the shape of sipalg_slots: its memlock is the fixed cost the slots add.
long long ports_memlock() {
    const int fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "sipalg_slots", sizeof(__u32),
                                  sizeof(sipalg_slot), SIPALG_SLOTS_ENTRIES, nullptr);
    if (fd < 0)
        return -1;
    const long long m = fdinfo_memlock(fd);
    close(fd);
    return m;
}

std::vector<MemRow> g_rows;
long long g_ports_memlock = -1;
std::atomic<bench::MemCgroup *> g_cgroup{nullptr};

void run(const Options &opt, Report &rep) {
    bench::MemCgroup cg;
    Counter mc;
    std::string counter_what;
    const bool own = cg.join("sipalg-bench-mem");
    bench::SharedMemcg shared;
    if (own) {
        g_cgroup = &cg;
        mc.read = [&cg] { return cg.kernel_bytes(); };
        mc.current = [&cg] { return cg.current_bytes(); };
        mc.ok = true;
        counter_what = cg.what();
    } else {
        shared = bench::SharedMemcg::find();
        std::fprintf(stderr,
                     "memory: no memory cgroup of its own (%s); measuring in this process's "
                     "shared cgroup instead: other processes' allocations add noise\n",
                     cg.why().c_str());
        if (shared.ok()) {
            mc.read = [&shared] { return shared.read(); };
            mc.ok = true;
            counter_what = shared.what + ", shared with other processes: no cgroup of its own (" +
                           cg.why() + ")";
        }
    }
    std::vector<MemRow> mem;
    for (auto n : opt.sizes)
        for (const char *m : {"sipalg_binds", "sipalg_pins"}) {
            std::fprintf(stderr, "memory: %s with %u entries...\n", m, n);
            mem.push_back(measure_memory(m, n, opt.mem_reps, mc));
        }
    g_cgroup = nullptr;
    cg.leave();
    g_ports_memlock = ports_memlock();

    rep.out("### Map memory per entry\n\n");
    rep.out("A hash map of exactly the shape of `sipalg_binds`/`sipalg_pins` (8-byte key, 8-byte\n"
            "value, `BPF_F_NO_PREALLOC`, max_entries = N), created and filled with N entries.\n"
            "*memlock*: the kernel's own figure for the map, `memlock:` in "
            "`/proc/<pid>/fdinfo/<map\n"
            "fd>` (what `bpftool map show` prints; on 6.4+ the map's `map_mem_usage()`). *memcg*: "
            "what\n"
            "creating and filling the map charged to " +
            std::string(own ? "a memory cgroup only this process is in ("
                            : "this process's "
                              "memory cgroup (") +
            (mc.ok ? counter_what : std::string("not available here")) +
            "; real slab objects and pages, median of " + std::to_string(opt.mem_reps) +
            "). \"all-in\" divides the whole map (buckets included) by N; \"per added\" is the\n"
            "increase from the empty map, per entry.\n\n");
    rep.out("| map | entries | memlock all-in B/entry | memlock per added | memcg all-in B/entry "
            "| memcg per added | elements went to (slabinfo) | fill time |\n"
            "|---|---:|---:|---:|---:|---:|---|---:|\n");
    auto &js = rep.js;
    js.field("memcg_counter", mc.ok ? counter_what : std::string());
    js.field("memcg_own_cgroup", own);
    js.key("memory");
    js.begin_array();
    for (const auto &r : mem) {
        // The memcg counter moves in pages: below ~50k entries the per-entry figure is noise.
        const bool big = r.entries >= kMemcgMinEntries && std::isfinite(r.memcg_full);
        const std::string slab =
                r.slab.objects > 0
                        ? fmt("%s: +%.2f objects/entry of %lld B", r.slab.cache.c_str(),
                              static_cast<double>(r.slab.objects) / r.entries, r.slab.objsize)
                        : std::string("-");
        rep.out(fmt("| %s | %s | %.1f | %.1f | %s | %s | %s | %.2f s |\n", r.map.c_str(),
                    human_count(r.entries).c_str(), r.per_entry_memlock(), r.per_added_memlock(),
                    big ? fmt("%.1f", r.per_entry_memcg()).c_str() : "(too small)",
                    big ? fmt("%.1f", r.per_added_memcg()).c_str() : "(too small)", slab.c_str(),
                    r.populate_s));
        js.begin_object();
        js.field("map", r.map);
        js.field("entries", r.entries);
        js.field("memlock_empty_bytes", static_cast<double>(r.memlock_empty));
        js.field("memlock_full_bytes", static_cast<double>(r.memlock_full));
        js.field("memcg_empty_bytes", r.memcg_empty);
        js.field("memcg_full_bytes", r.memcg_full);
        js.field("memcg_full_bytes_reps", r.memcg_full_reps);
        if (own)
            js.field("memcg_current_full_bytes_reps", r.current_full_reps);
        js.field("memlock_per_entry", r.per_entry_memlock());
        js.field("memlock_per_added_entry", r.per_added_memlock());
        js.field("memcg_per_entry", r.per_entry_memcg());
        js.field("memcg_per_added_entry", r.per_added_memcg());
        js.field("populate_s", r.populate_s);
        js.field("slab_cache", r.slab.cache);
        js.field("slab_objsize", static_cast<double>(r.slab.objsize));
        js.field("slab_objects_added", static_cast<double>(r.slab.objects));
        js.end_object();
    }
    js.end_array();
    g_rows = std::move(mem);
}

void targets(const Options &, Report &rep) {
    const double slot = static_cast<double>(sizeof(sipalg_slot));
    const double ports_fixed = static_cast<double>(g_ports_memlock);
    rep.out(fmt("Per pinhole = its `sipalg_pins` entry (all-in, i.e. with its share of the "
                "buckets, at a full table) + its %.0f-byte slot in `sipalg_slots` (an array of "
                "65536 slots, %.2f MiB by memlock, fixed whatever the count). Bindings cost the "
                "same (`sipalg_binds` has the same layout). Each phone with pinholes adds one "
                "`sipalg_phones` entry (same element size).\n\n",
                slot, ports_fixed / 1048576.0));
    rep.out("| entries | per pinhole, memlock | per pinhole, memcg | target <= 128 B |\n"
            "|---:|---:|---:|---|\n");
    auto &js = rep.js;
    js.key("bytes_per_pinhole");
    js.begin_array();
    for (const auto &r : g_rows) {
        if (r.map != "sipalg_pins" || r.entries < kMemcgMinEntries)
            continue; // a near-empty table is not what the target is about
        const double a = r.per_entry_memlock() + slot;
        const double b = r.per_entry_memcg() + slot;
        const bool in_range = r.entries <= SIPALG_SLOTS_ENTRIES;
        rep.out(fmt("| %s%s | %.2f B | %s | memlock: %s; memcg: %s |\n",
                    human_count(r.entries).c_str(),
                    in_range ? "" : " (hash only; needs >1 address)", a,
                    std::isfinite(b) ? fmt("%.1f B", b).c_str() : "(too small)",
                    by_how_much(a, 128, "B").c_str(),
                    std::isfinite(b) ? by_how_much(b, 128, "B").c_str() : "n/a"));
        js.begin_object();
        js.field("entries", r.entries);
        js.field("memlock", a);
        js.field("memcg", b);
        js.end_object();
    }
    js.end_array();
    bool any = false;
    for (const auto &r : g_rows)
        any = any || r.entries >= kMemcgMinEntries;
    if (!any)
        rep.out(fmt("| (no size >= %u measured) | | | |\n", kMemcgMinEntries));
}

void teardown() {
    if (bench::MemCgroup *cg = g_cgroup.load())
        cg->leave();
}

} // namespace

const Bench kMemory = {"memory", "map memory per entry (memlock, memcg of its own)", run, targets,
                       teardown};

} // namespace scale
