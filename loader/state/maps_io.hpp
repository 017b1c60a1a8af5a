// Access to an instance's pinned maps (layouts from maps/sipalg_maps.h) and to its admin
// program, through which every change to bindings and pinholes goes.
#pragma once

#include "sipalg_maps.h"
#include "state/unique_fd.hpp"

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

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

// Every pinned map of an instance, by pin file name (the maps' own names).
inline constexpr const char *kMapPins[] = {
#define SIPALG_X_PIN(name, type, entries, flags, key, value, pin) SIPALG_IF_##pin(#name, )
        SIPALG_MAPS(SIPALG_X_PIN)
#undef SIPALG_X_PIN
};

// What a pinned map must be for this sipalg to use it: its kernel name (also its pin file), type,
// key and value sizes.
struct MapShape {
    const char *name;
    __u32 type;
    __u32 key_size;
    __u32 value_size;
};

inline constexpr MapShape kMapShapes[] = {
#define SIPALG_X_SHAPE(name, type, entries, flags, key, value, pin)                                \
    SIPALG_IF_##pin({#name, type, sizeof(key), sizeof(value)}, )
        SIPALG_MAPS(SIPALG_X_SHAPE)
#undef SIPALG_X_SHAPE
};

// The shape of the pinned map `name`; a name not in SIPALG_MAPS does not compile.
consteval const MapShape &map_shape(std::string_view name) {
    for (const MapShape &s : kMapShapes)
        if (name == s.name)
            return s;
    throw "not a pinned map of SIPALG_MAPS";
}

// One binding or pinhole as listed: its forward entry joined with its port slot.
struct NatEntry {
    std::uint32_t priv_ip = 0;   // host order
    std::uint16_t priv_port = 0; // host order
    std::uint16_t public_port = 0;
    std::uint32_t remote_ip = 0; // pinholes: scope (0: not known yet)
    std::uint16_t remote_port = 0;
    std::uint16_t owner = 0;
    std::uint32_t stamp = 0;      // ALG clock: binding expiry / pinhole last seen
    std::uint32_t lifetime_s = 0; // bindings
    std::uint32_t call = 0;       // pinholes
    std::uint16_t refs = 0;       // pinholes: dialog media lines using it
    bool registered = false;      // bindings: last refreshed by a REGISTER
    bool consistent = true;       // the slot agrees with the forward entry
};

// One registration as stored: (registrar, the phone's binding) and its value.
struct RegRecord {
    sipalg_reg_key key{};
    sipalg_reg value{};
};

// One dialog as stored: the key (Call-ID hash, the phone's binding) and its value.
struct DialogRecord {
    sipalg_dialog_key key{};
    sipalg_dialog value{};
};

class InstanceMaps {
  public:
    // Opens DIR/sipalg_config and DIR/sipalg_counters (always needed) and checks that they are
    // what this sipalg expects (name, type, sizes), so we never write a stranger's map. With
    // `all`, also the state maps (ports, bindings, pinholes, ...). Throws UserError.
    static InstanceMaps open(const std::string &dir, const std::string &ifname, bool all = false);

    sipalg_config read_config() const;
    void write_config(const sipalg_config &cfg) const;
    // Per-CPU values summed over all possible CPUs.
    CounterValues read_counters() const;

    // The rest need open(..., all = true).
    sipalg_state read_state() const;
    sipalg_limits read_limits() const;
    void write_limits(const sipalg_limits &l) const;
    std::vector<std::uint32_t> read_lan_ifindexes() const;
    void write_lan_ifindexes(const std::vector<std::uint32_t> &ifindexes) const;
    // The LAN ports the LAN XDP program was attached to, by ifindex.
    std::vector<std::pair<std::uint32_t, sipalg_bridge_port>> read_lan_ports() const;
    std::vector<NatEntry> bindings() const;
    std::vector<NatEntry> pinholes() const;
    std::vector<DialogRecord> dialogs() const;
    std::vector<RegRecord> regs() const;
    // The WAN failover state the daemon publishes (struct sipalg_failover).
    sipalg_failover read_failover() const;
    void write_failover(const sipalg_failover &f) const;
    // One port slot (all zero = FREE if it cannot be read), and the public port of the binding
    // of a phone SIP socket (0: none); both in network order where the maps are.
    sipalg_slot read_slot(std::uint16_t port) const;
    std::uint16_t binding_public_port(const sipalg_endpoint &ep) const;

  private:
    std::vector<NatEntry> list(int fwd_fd, bool pinholes) const;

    UniqueFd config_;
    UniqueFd counters_;
    std::uint32_t counter_entries_ = 0;
    UniqueFd ports_, binds_, pins_, state_, lanifs_, xports_, dialogs_, limits_, regs_, failover_;
};

// Runs the instance's pinned admin program (SIPALG_PIN_PROG_ADMIN in `dir`) with `req`;
// returns it as the program left it (result, public_port). Throws UserError if it cannot run.
sipalg_admin run_admin(const std::string &dir, const std::string &ifname, sipalg_admin req);
// The same with an open program fd (at load time, before anything is pinned).
sipalg_admin run_admin_fd(int prog_fd, sipalg_admin req);

} // namespace sipalg
