#include "state/maps_io.hpp"

#include "attach/legacy_names.hpp"
#include "cli/error.hpp"
#include "instance/pin_paths.hpp"

#include <arpa/inet.h>
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

UniqueFd open_checked(const std::string &dir, const std::string &ifname, const MapShape &shape,
                      __u32 *max_entries) {
    std::string path = pin_file(dir, shape.name);
    // A map renamed since is found under its old pin name in an instance an older sipalg
    // loaded; its kernel name there may be the old one.
    const char *name = shape.name;
    UniqueFd fd(bpf_obj_get(path.c_str()));
    if (!fd.valid() && errno == ENOENT && legacy_pin(shape.name)) {
        UniqueFd old(bpf_obj_get(pin_file(dir, legacy_pin(shape.name)).c_str()));
        if (old.valid()) {
            name = legacy_pin(shape.name);
            path = pin_file(dir, name);
            fd = std::move(old);
        } else {
            errno = ENOENT;
        }
    }
    if (!fd.valid()) {
        // Without the config map there is no instance; without another map there is one that
        // is incomplete or was loaded by an older sipalg.
        if (errno == ENOENT && std::strcmp(shape.name, SIPALG_MAP_CONFIG) == 0)
            throw UserError("sipalg is not loaded on " + ifname + " (" + path +
                            " missing); run: sipalg load --wan " + ifname);
        if (errno == ENOENT)
            throw UserError(path +
                            " is missing (loaded by an older sipalg?); run: sipalg "
                            "unload --wan " +
                            ifname + " && sipalg load --wan " + ifname);
        throw UserError("cannot open " + path + " (" + errno_text(errno) + ")");
    }
    const bpf_map_info info = map_info(fd.get());
    if (info.type != shape.type || info.value_size != shape.value_size ||
        info.key_size != shape.key_size ||
        (std::strncmp(info.name, shape.name, sizeof(info.name)) != 0 &&
         std::strncmp(info.name, name, sizeof(info.name)) != 0))
        throw UserError(path +
                        " is not a map this sipalg version understands; run: sipalg "
                        "unload --wan " +
                        ifname + " && sipalg load --wan " + ifname);
    if (max_entries)
        *max_entries = info.max_entries;
    return fd;
}

// The one value of a single-entry array map (config, state, limits).
template <typename T>
T read_single(int fd, __u32 key, const char *map) {
    T v{};
    if (bpf_map_lookup_elem(fd, &key, &v) != 0)
        throw UserError(std::string("cannot read the ") + map + " map (" + errno_text(errno) + ")");
    return v;
}

template <typename T>
void write_single(int fd, __u32 key, const T &v, const char *map) {
    if (bpf_map_update_elem(fd, &key, &v, BPF_EXIST) != 0)
        throw UserError(std::string("cannot write the ") + map + " map (" + errno_text(errno) +
                        ")");
}

} // namespace

InstanceMaps InstanceMaps::open(const std::string &dir, const std::string &ifname, bool all) {
    InstanceMaps m;
    m.config_ = open_checked(dir, ifname, map_shape(SIPALG_MAP_CONFIG), nullptr);
    m.counters_ = open_checked(dir, ifname, map_shape(SIPALG_MAP_COUNTERS), &m.counter_entries_);
    if (!all)
        return m;
    m.ports_ = open_checked(dir, ifname, map_shape(SIPALG_MAP_SLOTS), nullptr);
    m.binds_ = open_checked(dir, ifname, map_shape(SIPALG_MAP_BINDINGS), nullptr);
    m.pins_ = open_checked(dir, ifname, map_shape(SIPALG_MAP_PINHOLES), nullptr);
    m.state_ = open_checked(dir, ifname, map_shape(SIPALG_MAP_STATE), nullptr);
    m.lanifs_ = open_checked(dir, ifname, map_shape(SIPALG_MAP_LANIFS), nullptr);
    m.xports_ = open_checked(dir, ifname, map_shape(SIPALG_MAP_BRPORTS), nullptr);
    m.dialogs_ = open_checked(dir, ifname, map_shape(SIPALG_MAP_DIALOGS), nullptr);
    m.limits_ = open_checked(dir, ifname, map_shape(SIPALG_MAP_LIMITS), nullptr);
    m.regs_ = open_checked(dir, ifname, map_shape(SIPALG_MAP_REGS), nullptr);
    m.failover_ = open_checked(dir, ifname, map_shape(SIPALG_MAP_FAILOVER), nullptr);
    return m;
}

sipalg_config InstanceMaps::read_config() const {
    return read_single<sipalg_config>(config_.get(), SIPALG_CONFIG_KEY, "config");
}

void InstanceMaps::write_config(const sipalg_config &cfg) const {
    write_single(config_.get(), SIPALG_CONFIG_KEY, cfg, "config");
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

sipalg_state InstanceMaps::read_state() const {
    return read_single<sipalg_state>(state_.get(), SIPALG_STATE_KEY, "state");
}

sipalg_limits InstanceMaps::read_limits() const {
    return read_single<sipalg_limits>(limits_.get(), SIPALG_LIMITS_KEY, "limits");
}

void InstanceMaps::write_limits(const sipalg_limits &l) const {
    write_single(limits_.get(), SIPALG_LIMITS_KEY, l, "limits");
}

sipalg_failover InstanceMaps::read_failover() const {
    return read_single<sipalg_failover>(failover_.get(), SIPALG_FAILOVER_KEY, "failover");
}

void InstanceMaps::write_failover(const sipalg_failover &f) const {
    write_single(failover_.get(), SIPALG_FAILOVER_KEY, f, "failover");
}

std::vector<std::uint32_t> InstanceMaps::read_lan_ifindexes() const {
    std::vector<std::uint32_t> out;
    for (__u32 key = 0; key < SIPALG_MAX_LAN_IFS; ++key) {
        __u32 v = 0;
        if (bpf_map_lookup_elem(lanifs_.get(), &key, &v) == 0 && v != 0)
            out.push_back(v);
    }
    return out;
}

void InstanceMaps::write_lan_ifindexes(const std::vector<std::uint32_t> &ifindexes) const {
    for (__u32 key = 0; key < SIPALG_MAX_LAN_IFS; ++key) {
        const __u32 v = key < ifindexes.size() ? ifindexes[key] : 0;
        if (bpf_map_update_elem(lanifs_.get(), &key, &v, BPF_ANY) != 0)
            throw UserError("cannot write the LAN interface map (" + errno_text(errno) + ")");
    }
}

std::vector<std::pair<std::uint32_t, sipalg_bridge_port>> InstanceMaps::read_lan_ports() const {
    std::vector<std::pair<std::uint32_t, sipalg_bridge_port>> out;
    __u32 key = 0, next = 0;
    const void *prev = nullptr;
    // Bounded: the map holds at most SIPALG_MAX_BRIDGE_PORTS entries.
    for (int i = 0;
         i < SIPALG_MAX_BRIDGE_PORTS && bpf_map_get_next_key(xports_.get(), prev, &next) == 0;
         ++i) {
        sipalg_bridge_port v{};
        if (bpf_map_lookup_elem(xports_.get(), &next, &v) == 0)
            out.emplace_back(next, v);
        key = next;
        prev = &key;
    }
    return out;
}

sipalg_slot InstanceMaps::read_slot(std::uint16_t port) const {
    sipalg_slot s{};
    const __u32 key = port;
    if (bpf_map_lookup_elem(ports_.get(), &key, &s) != 0)
        s = {};
    return s;
}

std::uint16_t InstanceMaps::binding_public_port(const sipalg_endpoint &ep) const {
    sipalg_binding b{};
    if (bpf_map_lookup_elem(binds_.get(), &ep, &b) != 0)
        return 0;
    const sipalg_slot s = read_slot(b.public_port);
    return s.state == SIPALG_SLOT_BINDING && s.priv_ip == ep.ip && s.priv_port == ep.port
                   ? b.public_port
                   : 0;
}

std::vector<NatEntry> InstanceMaps::list(int fwd_fd, bool pinholes) const {
    std::vector<NatEntry> out;
    sipalg_endpoint key{}, next{};
    const void *prev = nullptr;
    // Bounded by the map size: a map being modified concurrently cannot make this loop forever.
    for (std::size_t n = 0; n < 2 * SIPALG_PINHOLES_ENTRIES; ++n) {
        if (bpf_map_get_next_key(fwd_fd, prev, &next) != 0)
            break;
        key = next;
        prev = &key;
        NatEntry e;
        e.priv_ip = ntohl(key.ip);
        e.priv_port = ntohs(key.port);
        if (pinholes) {
            sipalg_pinhole v{};
            if (bpf_map_lookup_elem(fwd_fd, &key, &v) != 0)
                continue;
            e.public_port = v.public_port;
            e.call = v.call;
        } else {
            sipalg_binding v{};
            if (bpf_map_lookup_elem(fwd_fd, &key, &v) != 0)
                continue;
            e.public_port = v.public_port;
            e.lifetime_s = v.lifetime_s;
            e.registered = (v.flags & SIPALG_BIND_REGISTER) != 0;
        }
        const sipalg_slot s = read_slot(e.public_port);
        const __u32 kind = pinholes ? SIPALG_SLOT_PINHOLE : SIPALG_SLOT_BINDING;
        e.consistent = s.state == kind && s.priv_ip == key.ip && s.priv_port == key.port;
        e.remote_ip = ntohl(s.remote_ip);
        e.remote_port = ntohs(s.remote_port);
        e.owner = s.owner;
        e.refs = pinholes ? s.refs : 0;
        e.stamp = s.stamp;
        out.push_back(e);
    }
    return out;
}

std::vector<NatEntry> InstanceMaps::bindings() const {
    return list(binds_.get(), false);
}

std::vector<NatEntry> InstanceMaps::pinholes() const {
    return list(pins_.get(), true);
}

std::vector<DialogRecord> InstanceMaps::dialogs() const {
    std::vector<DialogRecord> out;
    sipalg_dialog_key key{}, next{};
    const void *prev = nullptr;
    // Bounded like list(): dialogs come and go while we walk the map.
    for (std::size_t n = 0; n < 2 * SIPALG_DIALOGS_ENTRIES; ++n) {
        if (bpf_map_get_next_key(dialogs_.get(), prev, &next) != 0)
            break;
        key = next;
        prev = &key;
        DialogRecord r;
        r.key = key;
        if (bpf_map_lookup_elem(dialogs_.get(), &key, &r.value) == 0)
            out.push_back(r);
    }
    return out;
}

std::vector<RegRecord> InstanceMaps::regs() const {
    std::vector<RegRecord> out;
    sipalg_reg_key key{}, next{};
    const void *prev = nullptr;
    // Bounded like dialogs().
    for (std::size_t n = 0; n < 2 * SIPALG_REGS_ENTRIES; ++n) {
        if (bpf_map_get_next_key(regs_.get(), prev, &next) != 0)
            break;
        key = next;
        prev = &key;
        RegRecord r;
        r.key = key;
        if (bpf_map_lookup_elem(regs_.get(), &key, &r.value) == 0)
            out.push_back(r);
    }
    return out;
}

sipalg_admin run_admin_fd(int prog_fd, sipalg_admin req) {
    LIBBPF_OPTS(bpf_test_run_opts, opts, .ctx_in = &req, .ctx_size_in = sizeof(req));
    if (bpf_prog_test_run_opts(prog_fd, &opts) != 0)
        throw UserError("cannot run the admin program (" + errno_text(errno) +
                        "); run with -v for details");
    return req;
}

sipalg_admin run_admin(const std::string &dir, const std::string &ifname, sipalg_admin req) {
    const std::string path = pin_file(dir, SIPALG_PIN_PROG_ADMIN);
    UniqueFd fd(bpf_obj_get(path.c_str()));
    if (!fd.valid())
        throw UserError("sipalg is not loaded on " + ifname + " (" + path +
                        " missing); run: sipalg load --wan " + ifname);
    return run_admin_fd(fd.get(), req);
}

} // namespace sipalg
