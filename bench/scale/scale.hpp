// The scale benchmarks of bench/scale: a small registry, as the kernel's benchs/bench.c has
// (`const struct bench bench_htab_mem = {.name, .setup, .measure, .report_final}`). Each bench
// measures and prints its own section; once all selected ones have run, each adds its lines to
// the targets section.
#pragma once

#include "cli/json.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace scale {

struct Options {
    std::vector<std::uint32_t> sizes{1000, 65536, 100000, 1000000};
    int repeat = 100000;
    int rounds = 5;
    int mem_reps = 3;
    int toggles = 200;
    int cli_toggles = 20;
    std::string sipalg;
    std::string md, json;
    std::vector<std::string> benches; // empty: all, in registry order
};

// What the benches print (stdout and the markdown file) and write (the JSON object).
struct Report {
    std::string md;
    sipalg::JsonWriter js;
    void out(const std::string &s);
};

struct Bench {
    const char *name;
    const char *summary;
    void (*run)(const Options &, Report &);
    void (*targets)(const Options &, Report &); // its part of "Against ... targets"
    void (*teardown)();                         // from the signal thread: undo what lasts
};

extern const Bench kMemory; // memory.cpp
extern const Bench kLookup; // lookup.cpp
extern const Bench kToggle; // toggle.cpp

// Below this many entries the memory cgroup's per-entry figure is noise (it moves in pages).
constexpr std::uint32_t kMemcgMinEntries = 50000;

// "met (x under)" / "NOT met (x over)": the verdict and by how much.
std::string by_how_much(double value, double target, const char *unit);

} // namespace scale
