#include "instance.hpp"

#include "error.hpp"
#include "hooks.hpp"
#include "maps_io.hpp"
#include "netif.hpp"
#include "pin_paths.hpp"
#include "preflight.hpp"
#include "sipalg.skel.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <functional>
#include <memory>
#include <vector>

namespace sipalg {
namespace {

const char *const kPins[] = {SIPALG_MAP_CONFIG, SIPALG_MAP_COUNTERS, SIPALG_PIN_PROG_XDP,
                             SIPALG_PIN_PROG_TC};

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
    for (const char *name : kPins)
        ::unlink(pin_file(dir, name).c_str());
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
    const TcState tc = query_tc(ifindex);
    if (tc.attached)
        throw UserError("already loaded: a sipalg tc program is attached to " + ifname + fix);
}

std::string not_loaded(const std::string &ifname, const std::string &dir) {
    return "sipalg is not loaded on " + ifname + " (no " + dir + "); run: sipalg load --wan " +
           ifname;
}

} // namespace

LoadReport load_instance(const Target &t) {
    require_privileges();
    const unsigned int ifindex = require_ifindex(t.ifname);
    const std::string root = resolve_pin_root(t.pin_root);
    require_bpffs(root);
    const std::string dir = instance_dir(root, t.ifname);
    if (exists(dir))
        throw UserError("already loaded on " + t.ifname + " (" + dir +
                        " exists); run: sipalg unload --wan " + t.ifname);
    require_not_attached(ifindex, t.ifname);

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
        xdp = attach_xdp_direct(bpf_program__fd(skel->progs.sipalg_xdp), ifindex, t.ifname);
        xdp.fallback_reason = reason;
    }
    const std::uint32_t xdp_id = xdp.prog_id;
    rollback.add([ifindex, xdp_id] { detach_xdp(ifindex, xdp_id); });

    rep.tc_id = attach_tc(ifindex, t.ifname, bpf_program__fd(skel->progs.sipalg_tc));
    rollback.add([ifindex] { detach_tc(ifindex); });

    pin_fd(bpf_map__fd(skel->maps.sipalg_config), pin_file(dir, SIPALG_MAP_CONFIG));
    pin_fd(bpf_map__fd(skel->maps.sipalg_counters), pin_file(dir, SIPALG_MAP_COUNTERS));
    pin_fd(bpf_program__fd(skel->progs.sipalg_xdp), pin_file(dir, SIPALG_PIN_PROG_XDP));
    pin_fd(bpf_program__fd(skel->progs.sipalg_tc), pin_file(dir, SIPALG_PIN_PROG_TC));

    // The map starts zeroed, i.e. disabled; write it anyway so the default is explicit here
    // and not only a property of ARRAY maps.
    InstanceMaps::open(dir, t.ifname).write_config(sipalg_config{});

    rollback.dismiss();
    rep.xdp_id = xdp.prog_id;
    rep.multiprog = xdp.multiprog;
    rep.fallback_reason = xdp.fallback_reason;
    return rep;
}

UnloadReport unload_instance(const Target &t) {
    require_privileges();
    if (!valid_ifname(t.ifname))
        throw UserError("invalid interface name '" + t.ifname +
                        "'; give a name as shown by `ip link`");
    const std::string root = resolve_pin_root(t.pin_root);
    require_bpffs(root);
    const std::string dir = instance_dir(root, t.ifname);
    const unsigned int ifindex = find_ifindex(t.ifname);
    const bool have_dir = exists(dir);

    UnloadReport rep;
    rep.pin_dir = dir;
    rep.interface_gone = ifindex == 0;
    if (ifindex != 0) {
        // Prefer the exact program we pinned; without pins (someone deleted them) fall back to
        // finding our programs by name so that unload can always clean up.
        std::uint32_t xdp_id = pinned_prog_id(pin_file(dir, SIPALG_PIN_PROG_XDP));
        if (xdp_id == 0)
            xdp_id = query_xdp(ifindex).prog.id;
        if (xdp_id != 0)
            rep.xdp_detached = detach_xdp(ifindex, xdp_id);
        rep.tc_detached = detach_tc(ifindex);
    }
    if (!have_dir && !rep.xdp_detached && !rep.tc_detached)
        throw UserError(not_loaded(t.ifname, dir));
    remove_pins(dir);
    if (exists(dir))
        throw UserError("detached, but could not remove " + dir +
                        " (it holds unexpected files); remove it by hand");
    // Tidy the per-netns root when its last instance goes; harmless failure if not empty.
    if (!t.pin_root && root != kDefaultPinBase)
        ::rmdir(root.c_str());
    return rep;
}

void set_enabled(const Target &t, bool enabled) {
    require_privileges();
    if (!valid_ifname(t.ifname))
        throw UserError("invalid interface name '" + t.ifname +
                        "'; give a name as shown by `ip link`");
    const std::string root = resolve_pin_root(t.pin_root);
    require_bpffs(root);
    const std::string dir = instance_dir(root, t.ifname);
    if (!exists(dir))
        throw UserError(not_loaded(t.ifname, dir));
    const InstanceMaps maps = InstanceMaps::open(dir, t.ifname);
    sipalg_config cfg = maps.read_config();
    cfg.enabled = enabled ? 1 : 0;
    maps.write_config(cfg);
}

} // namespace sipalg
