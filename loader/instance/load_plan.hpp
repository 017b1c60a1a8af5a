// What `sipalg load` will do, decided before anything is touched: the public address, the LAN
// side and the maps' values, from the settings and what the system says. Pure (the facts are an
// argument), so every refusal a load can give from its settings is tested without root.
#pragma once

#include "instance/config.hpp"
#include "instance/discover.hpp"
#include "sipalg_maps.h"

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace sipalg {

// What the system says, read once: read_load_facts() here, written out by tests.
struct LoadFacts {
    NetView view;
    std::function<unsigned int(const std::string &)> ifindex_of; // 0: no such interface
};
LoadFacts read_load_facts();

struct LanHook {
    std::string name;
    unsigned int ifindex = 0;
};

struct LoadPlan {
    std::string wan;
    unsigned int wan_ifindex = 0;
    std::uint32_t public_ip = 0;     // host order
    bool follow_wan_address = false; // no --public-ip: the WAN's address, followed when it changes
    std::vector<Prefix> lan_prefixes;
    std::vector<LanHook> lan; // the interfaces the LAN tc program goes on
    bool lan_xdp = true;      // try the LAN port XDP program (apply decides where it fits)
    sipalg_config cfg{};      // enabled = 0: a load never turns the ALG on
    sipalg_limits limits{};
};

// Throws UserError with what to write instead for anything in the settings that cannot work.
LoadPlan plan_load(const std::string &wan, const AlgSettings &settings, const LoadFacts &facts);

} // namespace sipalg
