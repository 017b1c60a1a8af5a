#include "attach/hooks.hpp"

#include "attach/legacy_names.hpp"
#include "cli/error.hpp"
#include "sipalg_maps.h"
#include "state/unique_fd.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>
#include <xdp/libxdp.h>

#include <cerrno>

namespace sipalg {
namespace {

const char *mode_name(enum xdp_attach_mode mode) {
    switch (mode) {
    case XDP_MODE_NATIVE:
        return "native";
    case XDP_MODE_SKB:
        return "skb";
    case XDP_MODE_HW:
        return "hw";
    default:
        return "";
    }
}

ProgRef ref_of(const xdp_program *p) {
    // By id, for the whole name (libxdp's may be the kernel's 15 characters).
    ProgRef r = prog_ref_by_id(xdp_program__id(p));
    if (r.name.empty())
        r.name = xdp_program__name(p);
    return r;
}

bool is_ours(const xdp_program *p, std::uint32_t want_id, const char *name) {
    if (want_id != 0)
        return xdp_program__id(p) == want_id;
    return is_prog_named(ref_of(p).name, name);
}

// RAII for libxdp's multiprog view of an interface.
struct Multiprog {
    xdp_multiprog *mp = nullptr;
    explicit Multiprog(unsigned int ifindex) {
        mp = xdp_multiprog__get_from_ifindex(static_cast<int>(ifindex));
        if (libxdp_get_error(mp))
            mp = nullptr;
    }
    ~Multiprog() {
        if (mp)
            xdp_multiprog__close(mp);
    }
    Multiprog(const Multiprog &) = delete;
    Multiprog &operator=(const Multiprog &) = delete;
};

} // namespace

XdpState query_xdp(unsigned int ifindex, std::uint32_t want_id, const char *name) {
    XdpState st;
    Multiprog m(ifindex);
    if (!m.mp)
        return st;
    const xdp_program *main = xdp_multiprog__main_prog(m.mp);
    if (!main)
        return st;
    st.if_prog = ref_of(main);
    st.mode = mode_name(xdp_multiprog__attach_mode(m.mp));
    if (xdp_multiprog__is_legacy(m.mp)) {
        // A plain XDP program on the interface: ours (direct fallback) or someone else's.
        if (is_ours(main, want_id, name)) {
            st.attached = true;
            st.prog = st.if_prog;
        } else {
            st.foreign = st.if_prog;
        }
        return st;
    }
    st.multiprog = true;
    for (xdp_program *p = xdp_multiprog__next_prog(nullptr, m.mp); p;
         p = xdp_multiprog__next_prog(p, m.mp)) {
        if (is_ours(p, want_id, name)) {
            st.attached = true;
            st.prog = ref_of(p);
            break;
        }
    }
    return st;
}

int attach_xdp_libxdp(bpf_object *obj, unsigned int ifindex, XdpAttachResult &out) {
    DECLARE_LIBXDP_OPTS(xdp_program_opts, opts, .obj = obj, .prog_name = SIPALG_PROG_WAN_XDP);
    xdp_program *prog = xdp_program__create(&opts);
    int err = static_cast<int>(libxdp_get_error(prog));
    if (err)
        return err < 0 ? err : -err;
    err = xdp_program__attach(prog, static_cast<int>(ifindex), XDP_MODE_NATIVE, 0);
    if (err == 0) {
        out.prog_id = xdp_program__id(prog);
        // libxdp may itself fall back to a legacy (single program) attach on old kernels.
        out.multiprog = query_xdp(ifindex, out.prog_id).multiprog;
    }
    // The xdp_program does not own an object it was created from; the fds stay valid.
    xdp_program__close(prog);
    return err;
}

XdpAttachResult attach_xdp_direct(int prog_fd, unsigned int ifindex, const std::string &ifname) {
    // UPDATE_IF_NOEXIST: never replace somebody else's program.
    const int err = bpf_xdp_attach(static_cast<int>(ifindex), prog_fd,
                                   XDP_FLAGS_DRV_MODE | XDP_FLAGS_UPDATE_IF_NOEXIST, nullptr);
    if (err == -EBUSY || err == -EEXIST)
        throw UserError("another XDP program is already attached to " + ifname +
                        "; detach it (see `bpftool net show dev " + ifname + "`) and load again");
    if (err)
        throw UserError("cannot attach XDP program to " + ifname + " in native mode (" +
                        errno_text(err) + "); run with -v for details");
    XdpAttachResult out;
    bpf_prog_info info{};
    __u32 len = sizeof(info);
    if (bpf_obj_get_info_by_fd(prog_fd, &info, &len) == 0)
        out.prog_id = info.id;
    return out;
}

bool detach_xdp(unsigned int ifindex, std::uint32_t prog_id) {
    const XdpState st = query_xdp(ifindex, prog_id);
    if (!st.attached)
        return false;
    if (!st.multiprog) {
        // Direct attach: detach only if the interface still runs exactly our program.
        UniqueFd fd(bpf_prog_get_fd_by_id(prog_id));
        if (!fd.valid())
            return false;
        LIBBPF_OPTS(bpf_xdp_attach_opts, opts, .old_prog_fd = fd.get());
        __u32 flags = XDP_FLAGS_REPLACE;
        flags |= st.mode == "skb" ? XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE;
        const int err = bpf_xdp_detach(static_cast<int>(ifindex), flags, &opts);
        if (err)
            throw UserError("cannot detach XDP program " + std::to_string(prog_id) + " (" +
                            errno_text(err) + ")");
        return true;
    }
    // Behind the dispatcher: libxdp removes our component and rebuilds (or removes) the
    // dispatcher, leaving other programs attached.
    xdp_program *prog = xdp_program__from_id(prog_id);
    if (libxdp_get_error(prog))
        return false;
    const enum xdp_attach_mode mode = st.mode == "skb" ? XDP_MODE_SKB : XDP_MODE_NATIVE;
    const int err = xdp_program__detach(prog, static_cast<int>(ifindex), mode, 0);
    xdp_program__close(prog);
    if (err)
        throw UserError("cannot detach XDP program " + std::to_string(prog_id) +
                        " from the libxdp dispatcher (" + errno_text(err) +
                        "); run with -v for details");
    return true;
}

} // namespace sipalg
