#include "attach/hooks.hpp"

#include "attach/legacy_names.hpp"
#include "cli/error.hpp"
#include "sipalg_maps.h"

#include <bpf/libbpf.h>

#include <cerrno>
#include <cstring>
#include <sstream>

namespace sipalg {
namespace {

bpf_tc_hook tc_hook_of(unsigned int ifindex, TcDir dir) {
    LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = static_cast<int>(ifindex),
                .attach_point = dir == TcDir::Ingress ? BPF_TC_INGRESS : BPF_TC_EGRESS);
    return hook;
}

std::string where(const std::string &ifname, TcDir dir) {
    std::ostringstream s;
    s << ifname << " clsact " << tc_dir_name(dir) << " (handle 0x" << std::hex << kTcHandle
      << ", prio " << std::dec << kTcPriority << ")";
    return s.str();
}

} // namespace

const char *tc_dir_name(TcDir dir) {
    return dir == TcDir::Ingress ? "ingress" : "egress";
}

TcState query_tc(unsigned int ifindex, const TcHook &h) {
    TcState st;
    bpf_tc_hook hook = tc_hook_of(ifindex, h.dir);
    LIBBPF_OPTS(bpf_tc_opts, opts, .handle = kTcHandle, .priority = kTcPriority);
    // Fails with ENOENT (no such filter) or EINVAL (no clsact qdisc): both mean "not there".
    if (bpf_tc_query(&hook, &opts) != 0)
        return st;
    const ProgRef ref = prog_ref_by_id(opts.prog_id);
    if (is_prog_named(ref.name, h.prog_name)) {
        st.attached = true;
        st.prog = ref;
    } else {
        st.foreign = ref;
    }
    return st;
}

std::uint32_t attach_tc(unsigned int ifindex, const std::string &ifname, int prog_fd,
                        const TcHook &h) {
    bpf_tc_hook hook = tc_hook_of(ifindex, h.dir);
    int err = bpf_tc_hook_create(&hook);
    // EEXIST: a clsact qdisc is already there (other users of tc), which is fine to share.
    if (err && err != -EEXIST)
        throw UserError("cannot create clsact qdisc on " + ifname + " (" + errno_text(err) +
                        "); check `tc qdisc show dev " + ifname + "`");
    LIBBPF_OPTS(bpf_tc_opts, opts, .prog_fd = prog_fd, .handle = kTcHandle,
                .priority = kTcPriority);
    err = bpf_tc_attach(&hook, &opts);
    if (err == -EEXIST)
        throw UserError("a tc filter already occupies " + where(ifname, h.dir) +
                        "; remove it with `tc filter del dev " + ifname + " " + tc_dir_name(h.dir) +
                        "`");
    if (err)
        throw UserError("cannot attach tc program on " + where(ifname, h.dir) + " (" +
                        errno_text(err) + "); run with -v for details");
    return opts.prog_id;
}

bool detach_tc(unsigned int ifindex, const TcHook &h) {
    if (!query_tc(ifindex, h).attached)
        return false;
    bpf_tc_hook hook = tc_hook_of(ifindex, h.dir);
    LIBBPF_OPTS(bpf_tc_opts, opts, .handle = kTcHandle, .priority = kTcPriority);
    const int err = bpf_tc_detach(&hook, &opts);
    if (err && err != -ENOENT)
        throw UserError("cannot detach tc program (" + errno_text(err) + ")");
    return err == 0;
}

} // namespace sipalg
