#include "instance/instance.hpp"

#include "attach/clsact.hpp"
#include "cli/error.hpp"
#include "attach/hooks.hpp"
#include "attach/legacy_names.hpp"
#include "instance/instance_owner.hpp"
#include "instance/load_plan.hpp"
#include "attach/links.hpp"
#include "state/maps_io.hpp"
#include "attach/netif.hpp"
#include "instance/pin_paths.hpp"
#include "instance/policy.hpp"
#include "instance/preflight.hpp"
#include "sipalg.skel.h"
#include "instance/slow_cleanup.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <sys/stat.h>
#include <unistd.h>

#include <net/if.h>

#include <algorithm>
#include <cerrno>
#include <functional>
#include <iostream>
#include <memory>
#include <utility>
#include <vector>

namespace sipalg {
namespace {

const char *const kProgPins[] = {
#define SIPALG_X_PIN(name, pin) pin,
        SIPALG_PROGS(SIPALG_X_PIN)
#undef SIPALG_X_PIN
};

bool exists(const std::string &path) {
    struct stat st {};
    return ::lstat(path.c_str(), &st) == 0;
}

// mkdir -p for the pin root (bpffs supports directories).
void make_dirs(const std::string &path) {
    std::string cur;
    size_t pos = 0;
    while (pos != std::string::npos) {
        pos = path.find('/', pos + 1);
        cur = path.substr(0, pos);
        if (cur.empty())
            continue;
        if (::mkdir(cur.c_str(), 0700) != 0 && errno != EEXIST)
            throw UserError("cannot create " + cur + " (" + errno_text(errno) + ")");
    }
}

void remove_pins(const std::string &dir) {
    for (const char *name : kMapPins)
        ::unlink(pin_file(dir, name).c_str());
    for (const char *name : kProgPins)
        ::unlink(pin_file(dir, name).c_str());
    for (const char *name : kLegacyPins)
        ::unlink(pin_file(dir, name).c_str());
    ::unlink(pin_file(dir, kOwnerPin).c_str());
    ::rmdir(dir.c_str());
}

// Undo steps registered during load, run in reverse unless dismissed.
class Rollback {
  public:
    void add(std::function<void()> step) { steps_.push_back(std::move(step)); }
    void dismiss() { steps_.clear(); }
    ~Rollback() {
        for (auto it = steps_.rbegin(); it != steps_.rend(); ++it) {
            try {
                (*it)();
            } catch (...) {
                // Best effort: the original error is what the user needs to see.
            }
        }
    }

  private:
    std::vector<std::function<void()>> steps_;
};

struct SkelDeleter {
    void operator()(sipalg_bpf *s) const { sipalg_bpf__destroy(s); }
};
using Skel = std::unique_ptr<sipalg_bpf, SkelDeleter>;

Skel open_skel() {
    Skel s(sipalg_bpf__open());
    if (!s)
        throw UserError("cannot open the embedded BPF object (" + errno_text(errno) + ")");
    return s;
}

void pin_fd(int fd, const std::string &path) {
    if (bpf_obj_pin(fd, path.c_str()) != 0)
        throw UserError("cannot pin " + path + " (" + errno_text(errno) + ")");
}

void require_not_attached(unsigned int ifindex, const std::string &ifname) {
    const std::string fix = "; run: sipalg unload --wan " + ifname;
    if (query_xdp(ifindex).attached)
        throw UserError("already loaded: a sipalg XDP program is attached to " + ifname + fix);
    for (const TcHook &h : {kWanEgress, kWanIngress}) {
        if (query_tc(ifindex, h).attached)
            throw UserError("already loaded: a sipalg tc program is attached to " + ifname + " " +
                            tc_dir_name(h.dir) + fix);
    }
}

// The LAN hook slot must be free: one sipalg instance per LAN interface.
void require_lan_free(unsigned int ifindex, const std::string &ifname) {
    const TcState st = query_tc(ifindex, kLanIngress);
    if (st.attached)
        throw UserError("LAN interface " + ifname +
                        " is already hooked by another sipalg instance; unload that one first "
                        "(sipalg status lists them)");
}

std::string ifname_of(unsigned int ifindex) {
    char buf[IF_NAMESIZE] = {};
    return ::if_indextoname(ifindex, buf) ? std::string(buf) : std::to_string(ifindex);
}

// The LAN ports the LAN XDP program goes on, or the reason it cannot be used at all (empty
// list). It only helps when it can redirect media to the WAN, i.e. when the WAN accepts XDP
// frames; otherwise it would only cost every LAN packet an XDP pass.
std::vector<LanPort> plan_lan_xdp(const Target &t, unsigned int wan_ifindex,
                                  const std::vector<std::uint32_t> &lan_ifindexes,
                                  std::string &why_not) {
    const auto wan = xdp_features(wan_ifindex);
    if (!wan) {
        why_not = "this kernel does not report XDP features (netdev netlink family, 6.3+)";
        return {};
    }
    if (!(*wan & kXdpActNdoXmit)) {
        why_not = t.ifname + " does not accept XDP frames (no ndo_xdp_xmit in its driver; a veth "
                             "accepts them only while its peer runs an XDP program)";
        return {};
    }
    auto ports = lan_ports(lan_ifindexes, dump_links(), accepts_xdp_frames);
    if (ports.empty())
        why_not = "the LAN interfaces have no Ethernet ports";
    return ports;
}

std::string not_loaded(const std::string &ifname, const std::string &dir) {
    return "sipalg is not loaded on " + ifname + " (no " + dir + "); run: sipalg load --wan " +
           ifname;
}

// Whether the programs pinned in `dir` run on `ifindex` in this namespace.
bool attached_here(const std::string &dir, unsigned int ifindex) {
    const std::uint32_t xdp = pinned_prog_id(dir, SIPALG_PIN_PROG_WAN_XDP);
    const std::uint32_t tc = pinned_prog_id(dir, SIPALG_PIN_PROG_WAN_EGRESS);
    const std::uint32_t wan_in = pinned_prog_id(dir, SIPALG_PIN_PROG_WAN_INGRESS);
    return (xdp != 0 && query_xdp(ifindex, xdp).attached) ||
           (tc != 0 && query_tc(ifindex, kWanEgress).prog.id == tc) ||
           (wan_in != 0 && query_tc(ifindex, kWanIngress).prog.id == wan_in);
}

std::string already_loaded(const Target &t, const std::string &dir, const std::string &why) {
    std::string fix = "sipalg unload --wan " + t.ifname;
    if (t.pin_root)
        fix += " --pin-root " + *t.pin_root;
    return "already loaded on " + t.ifname + " (" + dir + " exists" + why + "); run: " + fix;
}

// An instance dir is already there. Refuses if it is a live instance (here, or in another
// namespace that still exists); removes it if it is what a dead namespace or an interrupted
// load left. `ns_dir`: the root is keyed by this namespace's inode (the default root).
void clear_stale_or_refuse(const Target &t, const std::string &dir, unsigned int ifindex,
                           bool ns_dir) {
    const InstanceOwner me = current_owner(ifindex, 0);
    const std::optional<InstanceOwner> owner = read_owner(dir);
    const bool here = attached_here(dir, ifindex);
    std::string why;
    if (owner && owner->netns_cookie == me.netns_cookie) {
        if (here)
            throw UserError(already_loaded(t, dir, ""));
        // Ours, but not on the interface: a load killed half-way, or the interface was
        // removed and created again (its hooks went with it). Unload finds what is left.
        unload_instance(t);
        why = "its programs were not attached to " + t.ifname +
              " (an interrupted load, or the interface was re-created)";
    } else if (owner) {
        // Cookies are never reused; inodes are, once their namespace is gone.
        if (owner->netns_inode != me.netns_inode && netns_inode_in_use(owner->netns_inode))
            throw UserError(already_loaded(
                    t, dir,
                    ", loaded by another network namespace that still exists (netns inode " +
                            std::to_string(owner->netns_inode) +
                            "); give each namespace its own --pin-root, or unload it there"));
        remove_pins(dir);
        why = "left by a network namespace that no longer exists (netns inode " +
              std::to_string(owner->netns_inode) + ", " + t.ifname + " was ifindex " +
              std::to_string(owner->ifindex) + ")";
    } else {
        // No record: an older loader's instance, or a load killed before it wrote one.
        if (here || (!ns_dir && exists(pin_file(dir, SIPALG_MAP_CONFIG))))
            throw UserError(already_loaded(t, dir, ""));
        remove_pins(dir);
        why = exists(pin_file(dir, SIPALG_MAP_CONFIG))
                      ? "not attached here and not recorded by any namespace"
                      : "an interrupted load";
    }
    if (exists(dir))
        throw UserError(already_loaded(t, dir, ", holding files sipalg did not make"));
    std::cerr << "sipalg: removed a stale instance in " << dir << ": " << why << "\n";
}

// The pin root and the instance dir of a command that finds an instance (root, bpffs checked).
std::pair<std::string, std::string> instance_paths(const Target &t) {
    require_privileges();
    if (!valid_ifname(t.ifname))
        throw UserError("invalid interface name '" + t.ifname +
                        "'; give a name as shown by `ip link`");
    std::string root = resolve_pin_root(t.pin_root);
    require_bpffs(root);
    std::string dir = instance_dir(root, t.ifname);
    return {std::move(root), std::move(dir)};
}

// The only step that changes the system; every step it takes is undone if a later one fails.
LoadReport apply_load(const Target &t, const LoadPlan &plan, const std::string &root,
                      const std::string &dir) {
    const unsigned int ifindex = plan.wan_ifindex;
    sipalg_config cfg = plan.cfg;
    Rollback rollback;
    if (!exists(root)) {
        // Leave no empty per-netns directory behind if the load fails.
        rollback.add([root] { ::rmdir(root.c_str()); });
    }
    make_dirs(root);
    // mkdir of the instance dir is the lock: of two concurrent loads only one succeeds.
    int rc = ::mkdir(dir.c_str(), 0700);
    if (rc != 0 && errno == ENOENT) {
        // A concurrent unload removed the (then empty) root in between; recreate it once.
        make_dirs(root);
        rc = ::mkdir(dir.c_str(), 0700);
    }
    if (rc != 0) {
        if (errno == EEXIST)
            throw UserError("already loaded on " + t.ifname + " (" + dir +
                            " exists); run: sipalg unload --wan " + t.ifname);
        throw UserError("cannot create " + dir + " (" + errno_text(errno) + ")");
    }
    rollback.add([dir] { remove_pins(dir); });
    // First, so that whatever an interrupted load leaves says whose it is.
    InstanceOwner owner =
            current_owner(ifindex, plan.follow_wan_address ? kOwnerFollowWanAddress : 0);
    write_owner(dir, owner);

    LoadReport rep;
    rep.pin_dir = dir;
    Skel skel = open_skel();
    XdpAttachResult xdp;
    const int err = attach_xdp_libxdp(skel->obj, ifindex, xdp);
    if (err == -EEXIST || err == -EBUSY) {
        const XdpState st = query_xdp(ifindex);
        throw UserError("another XDP program (" +
                        (st.foreign.name.empty() ? "id " + std::to_string(st.foreign.id)
                                                 : st.foreign.name) +
                        ") is attached to " + t.ifname +
                        " and cannot be shared; detach it (see `bpftool net show dev " + t.ifname +
                        "`) and load again");
    }
    if (err) {
        // libxdp's dispatcher could not be used (e.g. no freplace support): attach our program
        // directly. It then cannot share the interface, which the load message says.
        xdp.fallback_reason = errno_text(err);
        skel = open_skel();
        if (sipalg_bpf__load(skel.get()) != 0)
            throw UserError("cannot load the BPF programs (" + errno_text(errno) +
                            "); run with -v to see the verifier log");
        const std::string reason = xdp.fallback_reason;
        xdp = attach_xdp_direct(bpf_program__fd(skel->progs.sipalg_wan_xdp), ifindex, t.ifname);
        xdp.fallback_reason = reason;
    }
    const std::uint32_t xdp_id = xdp.prog_id;
    rollback.add([ifindex, xdp_id] { detach_xdp(ifindex, xdp_id); });

    if (create_clsact(ifindex)) {
        owner.flags |= kOwnerCreatedWanClsact;
        rollback.add([ifindex, name = t.ifname] { remove_clsact_if_empty(ifindex, name); });
    }
    rep.tc_id = attach_tc(ifindex, t.ifname, bpf_program__fd(skel->progs.sipalg_wan_egress),
                          kWanEgress);
    rollback.add([ifindex] { detach_tc(ifindex, kWanEgress); });
    rep.wan_in_id = attach_tc(ifindex, t.ifname, bpf_program__fd(skel->progs.sipalg_wan_ingress),
                              kWanIngress);
    rollback.add([ifindex] { detach_tc(ifindex, kWanIngress); });
    std::vector<std::uint32_t> lan_ifindexes;
    for (const auto &[name, idx] : plan.lan) {
        if (create_clsact(idx)) {
            owner.flags |= kOwnerCreatedLanClsact << lan_ifindexes.size();
            rollback.add([idx = idx, name = name] { remove_clsact_if_empty(idx, name); });
        }
        const std::uint32_t id =
                attach_tc(idx, name, bpf_program__fd(skel->progs.sipalg_lan_ingress), kLanIngress);
        rollback.add([idx = idx] { detach_tc(idx, kLanIngress); });
        rep.lan.emplace_back(name, id);
        lan_ifindexes.push_back(idx);
    }
    std::vector<LanPort> ports;
    if (plan.lan_xdp)
        ports = plan_lan_xdp(t, ifindex, lan_ifindexes, rep.lan_xdp_off);
    else
        rep.lan_xdp_off = "not wanted (--no-lan-xdp)";
    for (const LanPort &port : ports) {
        // Directly, not through libxdp: its dispatcher would need a second copy of the object.
        // A port that already runs another XDP program keeps it and only loses the shortcut.
        sipalg_bridge_port v{};
        v.l3_ifindex = port.l3_ifindex;
        std::copy(port.router_mac.begin(), port.router_mac.end(), v.router_mac);
        v.flags = port.xdp_xmit ? SIPALG_IFACE_XDP_XMIT : 0;
        const __u32 key = port.ifindex;
        if (bpf_map_update_elem(bpf_map__fd(skel->maps.sipalg_brports), &key, &v, BPF_ANY) != 0)
            throw UserError("cannot write the LAN port map (" + errno_text(errno) + ")");
        try {
            const XdpAttachResult a = attach_xdp_direct(
                    bpf_program__fd(skel->progs.sipalg_lan_port_xdp), port.ifindex, port.name);
            rollback.add([idx = port.ifindex, id = a.prog_id] { detach_xdp(idx, id); });
            rep.lan_xdp.push_back({port.name, a.prog_id, port.xdp_xmit});
        } catch (const UserError &e) {
            bpf_map_delete_elem(bpf_map__fd(skel->maps.sipalg_brports), &key);
            rep.lan_xdp_skipped.push_back(port.name + ": " + e.what());
        }
    }
    if (!rep.lan_xdp.empty())
        cfg.xdp_flags |= SIPALG_XDP_WAN_XMIT;
    else if (rep.lan_xdp_off.empty())
        rep.lan_xdp_off = "no LAN port could take it";

    const std::pair<const char *, const bpf_map *> maps[] = {
#define SIPALG_X_PIN(name, type, entries, flags, key, value, pin)                                  \
    SIPALG_IF_##pin({#name, skel->maps.name}, )
            SIPALG_MAPS(SIPALG_X_PIN)
#undef SIPALG_X_PIN
    };
    for (const auto &[name, map] : maps)
        pin_fd(bpf_map__fd(map), pin_file(dir, name));
    const std::pair<const char *, const bpf_program *> progs[] = {
#define SIPALG_X_PIN(name, pin) {pin, skel->progs.name},
            SIPALG_PROGS(SIPALG_X_PIN)
#undef SIPALG_X_PIN
    };
    for (const auto &[name, prog] : progs)
        pin_fd(bpf_program__fd(prog), pin_file(dir, name));

    update_owner(dir, owner);
    // enabled = 0: the ALG starts disabled, whatever the rest of the config says.
    const InstanceMaps m = InstanceMaps::open(dir, t.ifname, true);
    m.write_config(cfg);
    m.write_limits(plan.limits);
    m.write_lan_ifindexes(lan_ifindexes);
    // The aging timer lives in the pinned state map: it keeps running after we exit and
    // stops when unload removes the pins.
    sipalg_admin arm{};
    arm.op = SIPALG_OP_TIMER_START;
    arm = run_admin_fd(bpf_program__fd(skel->progs.sipalg_admin), arm);
    if (arm.result != 0)
        throw UserError("cannot start the aging timer (" + errno_text(arm.result) +
                        "); run with -v for details");

    rollback.dismiss();
    rep.xdp_id = xdp.prog_id;
    rep.multiprog = xdp.multiprog;
    rep.fallback_reason = xdp.fallback_reason;
    rep.public_ip = plan.public_ip;
    rep.lan_prefixes = plan.lan_prefixes;
    return rep;
}

} // namespace

LoadReport load_instance(const Target &t, const AlgSettings &settings) {
    require_privileges();
    const unsigned int ifindex = require_ifindex(t.ifname);
    const std::string root = resolve_pin_root(t.pin_root);
    require_bpffs(root);
    const std::string dir = instance_dir(root, t.ifname);
    if (exists(dir))
        clear_stale_or_refuse(t, dir, ifindex, !t.pin_root && root != kDefaultPinBase);
    require_not_attached(ifindex, t.ifname);
    const LoadPlan plan = plan_load(t.ifname, settings, read_load_facts());
    for (const LanHook &lan : plan.lan)
        require_lan_free(lan.ifindex, lan.name);
    return apply_load(t, plan, root, dir);
}

UnloadReport unload_instance(const Target &t) {
    const auto paths = instance_paths(t);
    const std::string &root = paths.first, &dir = paths.second;
    const unsigned int ifindex = find_ifindex(t.ifname);
    const bool have_dir = exists(dir);

    UnloadReport rep;
    rep.pin_dir = dir;
    rep.interface_gone = ifindex == 0;
    // LAN hooks first (they feed the WAN): the LAN interfaces (tc) and LAN ports (XDP)
    // recorded at load, plus any interface that runs exactly one of our pinned programs there
    // (in case the record is gone).
    std::vector<unsigned int> lan_ifs, xdp_ports;
    std::vector<std::uint32_t> recorded_lan;
    std::uint32_t slow_mark = 0;
    const std::optional<InstanceOwner> owner = read_owner(dir);
    try {
        const InstanceMaps m = InstanceMaps::open(dir, t.ifname, true);
        slow_mark = m.read_state().slow_mark;
        recorded_lan = m.read_lan_ifindexes();
        for (std::uint32_t idx : recorded_lan)
            lan_ifs.push_back(idx);
        for (const auto &[idx, port] : m.read_lan_ports())
            xdp_ports.push_back(idx);
    } catch (const UserError &) {
        // No readable record: the scan below still finds our hooks.
    }
    const std::uint32_t lan_prog = pinned_prog_id(dir, SIPALG_PIN_PROG_LAN_INGRESS);
    const std::uint32_t lan_xdp_prog = pinned_prog_id(dir, SIPALG_PIN_PROG_LAN_PORT_XDP);
    if (lan_prog != 0 || lan_xdp_prog != 0) {
        if (struct if_nameindex *all = ::if_nameindex()) {
            for (auto *i = all; i->if_index != 0; ++i) {
                if (lan_prog != 0 && query_tc(i->if_index, kLanIngress).prog.id == lan_prog)
                    lan_ifs.push_back(i->if_index);
                if (lan_xdp_prog != 0 && query_xdp(i->if_index, lan_xdp_prog).attached)
                    xdp_ports.push_back(i->if_index);
            }
            ::if_freenameindex(all);
        }
    }
    const auto add_once = [](std::vector<std::string> &names, const std::string &name) {
        if (std::find(names.begin(), names.end(), name) == names.end())
            names.push_back(name);
    };
    for (unsigned int idx : xdp_ports) {
        const std::uint32_t id =
                lan_xdp_prog ? lan_xdp_prog : query_xdp(idx, 0, SIPALG_PROG_LAN_PORT_XDP).prog.id;
        if (id != 0 && detach_xdp(idx, id))
            add_once(rep.lan_xdp_detached, ifname_of(idx));
    }
    for (unsigned int idx : lan_ifs) {
        if (detach_tc(idx, kLanIngress))
            add_once(rep.lan_detached, ifname_of(idx));
    }
    if (ifindex != 0) {
        // Prefer the exact program we pinned; without pins (someone deleted them) fall back to
        // finding our programs by name so that unload can always clean up.
        std::uint32_t xdp_id = pinned_prog_id(dir, SIPALG_PIN_PROG_WAN_XDP);
        if (xdp_id == 0)
            xdp_id = query_xdp(ifindex).prog.id;
        if (xdp_id != 0)
            rep.xdp_detached = detach_xdp(ifindex, xdp_id);
        rep.tc_detached = detach_tc(ifindex, kWanEgress);
        rep.wan_in_detached = detach_tc(ifindex, kWanIngress);
        if (owner && (owner->flags & kOwnerCreatedWanClsact))
            remove_clsact_if_empty(ifindex, t.ifname);
    }
    for (size_t i = 0; owner && i < recorded_lan.size() && i < 24; i++) {
        if (owner->flags & (kOwnerCreatedLanClsact << i))
            remove_clsact_if_empty(recorded_lan[i], ifname_of(recorded_lan[i]));
    }
    if (!have_dir && !rep.xdp_detached && !rep.tc_detached && !rep.wan_in_detached &&
        rep.lan_detached.empty() && rep.lan_xdp_detached.empty())
        throw UserError(not_loaded(t.ifname, dir));
    // A daemon that was killed left its steering; a running one sees its pins go and exits.
    rep.steering_removed = remove_daemon_steering(t.ifname, slow_mark);
    remove_pins(dir);
    if (exists(dir))
        throw UserError("detached, but could not remove " + dir +
                        " (it holds unexpected files); remove it by hand");
    // Tidy the per-netns root when its last instance goes; harmless failure if not empty.
    if (!t.pin_root && root != kDefaultPinBase)
        ::rmdir(root.c_str());
    return rep;
}

std::string loaded_instance_dir(const Target &t) {
    const std::string dir = instance_paths(t).second;
    if (!exists(dir))
        throw UserError(not_loaded(t.ifname, dir));
    return dir;
}

void set_enabled(const Target &t, bool enabled) {
    const std::string dir = loaded_instance_dir(t);
    const InstanceMaps maps = InstanceMaps::open(dir, t.ifname);
    sipalg_config cfg = maps.read_config();
    cfg.enabled = enabled ? 1 : 0;
    maps.write_config(cfg);
}

std::uint32_t set_policy(const Target &t, const std::string &name, bool on) {
    const PolicyInfo &p = find_policy(name);
    if (!p.runtime)
        throw UserError(std::string("policy ") + p.name +
                        " cannot change while loaded; unload and load again with --policy " +
                        p.name + (on ? "=on" : "=off"));
    const InstanceMaps maps = InstanceMaps::open(loaded_instance_dir(t), t.ifname, true);
    sipalg_limits l = maps.read_limits();
    l.policy = on ? (l.policy | p.bit) : (l.policy & ~p.bit);
    check_policies(l);
    maps.write_limits(l);
    return l.policy;
}

std::uint32_t read_policies(const Target &t) {
    return InstanceMaps::open(loaded_instance_dir(t), t.ifname, true).read_limits().policy;
}

} // namespace sipalg
