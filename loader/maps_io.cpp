#include "maps_io.hpp"

#include "error.hpp"
#include "pin_paths.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace sipalg {
namespace {

bpf_map_info map_info(int fd) {
    bpf_map_info info{};
    __u32 len = sizeof(info);
    if (bpf_obj_get_info_by_fd(fd, &info, &len) != 0)
        throw UserError("cannot query pinned map (" + errno_text(errno) + ")");
    return info;
}

UniqueFd open_checked(const std::string &dir, const std::string &ifname, const char *name,
                      __u32 type, __u32 value_size, __u32 *max_entries) {
    const std::string path = pin_file(dir, name);
    UniqueFd fd(bpf_obj_get(path.c_str()));
    if (!fd.valid()) {
        if (errno == ENOENT)
            throw UserError("sipalg is not loaded on " + ifname + " (" + path +
                            " missing); run: sipalg load --wan " + ifname);
        throw UserError("cannot open " + path + " (" + errno_text(errno) + ")");
    }
    const bpf_map_info info = map_info(fd.get());
    if (info.type != type || info.value_size != value_size || info.key_size != sizeof(__u32) ||
        std::strncmp(info.name, name, sizeof(info.name)) != 0)
        throw UserError(path +
                        " is not a map this sipalg version understands; run: sipalg "
                        "unload --wan " +
                        ifname + " && sipalg load --wan " + ifname);
    if (max_entries)
        *max_entries = info.max_entries;
    return fd;
}

} // namespace

InstanceMaps InstanceMaps::open(const std::string &dir, const std::string &ifname) {
    InstanceMaps m;
    m.config_ = open_checked(dir, ifname, SIPALG_MAP_CONFIG, BPF_MAP_TYPE_ARRAY,
                             sizeof(sipalg_config), nullptr);
    m.counters_ = open_checked(dir, ifname, SIPALG_MAP_COUNTERS, BPF_MAP_TYPE_PERCPU_ARRAY,
                               sizeof(__u64), &m.counter_entries_);
    return m;
}

sipalg_config InstanceMaps::read_config() const {
    sipalg_config cfg{};
    const __u32 key = SIPALG_CONFIG_KEY;
    if (bpf_map_lookup_elem(config_.get(), &key, &cfg) != 0)
        throw UserError("cannot read the config map (" + errno_text(errno) + ")");
    return cfg;
}

void InstanceMaps::write_config(const sipalg_config &cfg) const {
    const __u32 key = SIPALG_CONFIG_KEY;
    if (bpf_map_update_elem(config_.get(), &key, &cfg, BPF_EXIST) != 0)
        throw UserError("cannot write the config map (" + errno_text(errno) + ")");
}

CounterValues InstanceMaps::read_counters() const {
    CounterValues sums{};
    const int ncpus = libbpf_num_possible_cpus();
    if (ncpus <= 0)
        throw UserError("cannot count possible CPUs (" + errno_text(ncpus) + ")");
    // Per-CPU map values come back as one 8-byte-aligned slot per possible CPU.
    std::vector<__u64> per_cpu(static_cast<size_t>(ncpus));
    for (__u32 key = 0; key < SIPALG_CTR_COUNT && key < counter_entries_; ++key) {
        if (bpf_map_lookup_elem(counters_.get(), &key, per_cpu.data()) != 0)
            throw UserError("cannot read the counter map (" + errno_text(errno) + ")");
        for (__u64 v : per_cpu)
            sums[key] += v;
    }
    return sums;
}

} // namespace sipalg
