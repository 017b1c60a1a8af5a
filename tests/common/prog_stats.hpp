// What the kernel says of a loaded BPF program: its size after verification and JIT, and how many
// instructions the verifier processed. Used by bench/prog_cost and the verifier budget test.
#pragma once

#include <bpf/bpf.h>

#include <cstdint>

namespace sipalg::test {

struct ProgStats {
    std::uint32_t xlated_insns = 0;
    std::uint32_t verified_insns = 0;
    std::uint32_t jited_bytes = 0;
    bool ok = false; // the kernel answered
};

inline ProgStats stats_of(int fd) {
    bpf_prog_info info{};
    __u32 len = sizeof(info);
    ProgStats s;
    if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0) {
        s.xlated_insns = info.xlated_prog_len / 8;
        s.verified_insns = info.verified_insns;
        s.jited_bytes = info.jited_prog_len;
        s.ok = true;
    }
    return s;
}

} // namespace sipalg::test
