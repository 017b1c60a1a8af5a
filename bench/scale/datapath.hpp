// What the lookup and toggle benches share: the populated key set, BPF_PROG_TEST_RUN on a
// frame, and the benchmark's copy of the datapath (scale.bpf.c) loaded with room for n entries
// and configured as `sipalg load` + `enable` would on the test topology.
#pragma once

#include "scale.skel.h"
#include "sipalg_maps.h"
#include "testnet.hpp"

#include <cstdint>
#include <vector>

namespace scale {

// The i-th populated endpoint: the user-space twin of scale_key() in scale.bpf.c.
sipalg_endpoint scale_key(std::uint32_t i);

// Fills `fd` (a hash keyed by sipalg_endpoint with an 8-byte value starting with the public
// port) with scale_key(0..n-1). Batched; falls back to one update per entry.
void populate(int fd, std::uint32_t n);

// `memlock:` of /proc/self/fdinfo/<fd>: the kernel's own figure for a map.
long long fdinfo_memlock(int fd);

constexpr int kK = 8; // SCALE_K in scale.bpf.c: random lookups per program run

struct Runner {
    int fd = -1;
    bool xdp = false;
    const std::vector<std::uint8_t> *frame = nullptr;
    unsigned ifindex = 0;
};

// One BPF_PROG_TEST_RUN; returns the kernel's mean duration per run (ns).
std::uint32_t test_run(const Runner &r, int repeat, std::uint32_t *ret);

struct Frames {
    std::vector<std::uint8_t> rtp_out, rtp_in, other_out;
};
Frames make_frames();

// Loaded with room for n bindings and n pinholes, with one real pinhole (192.168.1.10:40000
// <-> public 40000, scoped to 198.51.100.20:50000) and n filler entries in each hash map.
struct Datapath {
    scale_bpf *skel = nullptr;
    sipalg_config cfg{};
    std::uint32_t clock = 1;

    Datapath(const sipalg::test::net::Topology &topo, std::uint32_t n);
    ~Datapath() { scale_bpf__destroy(skel); }
    Datapath(const Datapath &) = delete;
    Datapath &operator=(const Datapath &) = delete;

    void set_enabled(bool on);
    sipalg_admin admin(sipalg_admin a);
    // A new route-cache generation, as the aging timer makes every second.
    void new_generation();
    long long map_memlock(const bpf_map *m) const { return fdinfo_memlock(bpf_map__fd(m)); }
};

} // namespace scale
