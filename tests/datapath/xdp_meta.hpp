// The XDP -> tc metadata as the tests read it back (layout of bpf/xdp_meta.bpf.h, which is
// BPF-only; the static_assert there and the size check here keep the two in step).
#pragma once

#include <cstdint>
#include <cstring>
#include <vector>

namespace sipalg::test {

inline constexpr std::uint32_t kMetaMagic = 0x53495041u;
inline constexpr std::uint32_t kMetaMacs = 0x1;

struct XdpMeta {
    std::uint32_t magic;
    std::uint32_t ifindex;
    std::uint32_t nh; // network order
    std::uint32_t flags;

    static XdpMeta from(const std::vector<std::uint8_t> &bytes) {
        XdpMeta m{};
        if (bytes.size() == sizeof(m))
            std::memcpy(&m, bytes.data(), sizeof(m));
        return m;
    }
};
static_assert(sizeof(XdpMeta) == 16);

} // namespace sipalg::test
