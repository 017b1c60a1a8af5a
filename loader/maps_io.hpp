// Access to an instance's pinned maps (layouts from maps/sipalg_maps.h).
#pragma once

#include "sipalg_maps.h"
#include "unique_fd.hpp"

#include <array>
#include <cstdint>
#include <string>

namespace sipalg {

struct CounterInfo {
    const char *name; // JSON key / status label
    const char *help;
};

// Names in enum order, generated from the same X-macro list the BPF side uses.
inline constexpr CounterInfo kCounters[SIPALG_CTR_COUNT] = {
#define SIPALG_X_INFO(id, name, help) {name, help},
        SIPALG_COUNTERS(SIPALG_X_INFO)
#undef SIPALG_X_INFO
};

using CounterValues = std::array<std::uint64_t, SIPALG_CTR_COUNT>;

class InstanceMaps {
  public:
    // Opens DIR/sipalg_config and DIR/sipalg_counters and checks that they are what this
    // sipalg expects (name, type, sizes), so we never write a stranger's map. Throws UserError.
    static InstanceMaps open(const std::string &dir, const std::string &ifname);

    sipalg_config read_config() const;
    void write_config(const sipalg_config &cfg) const;
    // Per-CPU values summed over all possible CPUs.
    CounterValues read_counters() const;

  private:
    UniqueFd config_;
    UniqueFd counters_;
    std::uint32_t counter_entries_ = 0;
};

} // namespace sipalg
