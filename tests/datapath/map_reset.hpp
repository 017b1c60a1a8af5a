// Puts every map of a loaded BPF object back into the state a fresh load leaves it in, so that
// one loaded object can serve several tests (the verifier then runs once, not once a test).
#pragma once

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include <cerrno>
#include <cstdint>
#include <numeric>
#include <string>
#include <vector>

namespace sipalg::test {

// Arrays all zeros (an element's bpf_timer is cancelled and freed by the kernel on the update,
// as it never existed in a fresh map), hashes empty. Maps the programs cannot write (.rodata)
// are left as they are. Any other kind of map, or writable global data, has no fresh state known
// here and is an error: nothing carries over from one test to the next unnoticed. Returns ""
// or what failed.
inline std::string reset_maps(bpf_object *obj) {
    const int ncpus = libbpf_num_possible_cpus();
    if (ncpus <= 0)
        return "libbpf_num_possible_cpus failed";
    bpf_map *map;
    bpf_object__for_each_map(map, obj) {
        const std::string name = bpf_map__name(map);
        const int fd = bpf_map__fd(map);
        const auto type = bpf_map__type(map);
        switch (type) {
        case BPF_MAP_TYPE_ARRAY:
        case BPF_MAP_TYPE_PERCPU_ARRAY: {
            if (bpf_map__map_flags(map) & BPF_F_RDONLY_PROG)
                continue;
            if (bpf_map__is_internal(map))
                return name + ": writable global data has no reset";
            const std::size_t vsize = type == BPF_MAP_TYPE_PERCPU_ARRAY
                                              ? ((bpf_map__value_size(map) + 7u) / 8u * 8u) *
                                                        static_cast<std::size_t>(ncpus)
                                              : bpf_map__value_size(map);
            const std::uint32_t n = bpf_map__max_entries(map);
            std::vector<std::uint32_t> keys(n);
            std::iota(keys.begin(), keys.end(), 0u);
            const std::vector<std::uint8_t> zeros(vsize * n, 0);
            std::uint32_t count = n;
            if (bpf_map_update_batch(fd, keys.data(), zeros.data(), &count, nullptr) == 0 &&
                count == n)
                break;
            for (const std::uint32_t k : keys)
                if (bpf_map_update_elem(fd, &k, zeros.data(), BPF_ANY) != 0)
                    return name + ": cannot zero element " + std::to_string(k);
            break;
        }
        case BPF_MAP_TYPE_HASH:
        case BPF_MAP_TYPE_LRU_HASH:
        case BPF_MAP_TYPE_PERCPU_HASH:
        case BPF_MAP_TYPE_LRU_PERCPU_HASH: {
            // Always the first key: deleting while walking from a deleted key could skip some.
            std::vector<std::uint8_t> key(bpf_map__key_size(map));
            while (bpf_map_get_next_key(fd, nullptr, key.data()) == 0)
                if (bpf_map_delete_elem(fd, key.data()) != 0)
                    return name + ": cannot delete an entry";
            if (errno != ENOENT)
                return name + ": cannot walk its keys";
            break;
        }
        default:
            return name + ": no reset for map type " + std::to_string(type);
        }
    }
    return "";
}

} // namespace sipalg::test
