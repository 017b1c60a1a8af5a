#include "slow/wan_follow.hpp"

#include "instance/discover.hpp"
#include "cli/error.hpp"

#include <arpa/inet.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>

namespace sipalg::slow {

Flushed flush_nat_state(const InstanceMaps &maps, int admin_fd) {
    // What there was: ending a dialog also closes the pinholes only it used.
    const sipalg_state st = maps.read_state();
    const Flushed f{st.bindings, st.pinholes, st.dialogs};
    // Dialogs first: ending one needs its binding.
    for (const DialogRecord &d : maps.dialogs()) {
        sipalg_admin a{};
        a.op = SIPALG_OP_DIALOG_END;
        a.public_port = d.key.bind_port;
        a.dm.call = d.key.call;
        run_admin_fd(admin_fd, a);
    }
    for (const bool pinholes : {true, false}) {
        for (const NatEntry &e : pinholes ? maps.pinholes() : maps.bindings()) {
            sipalg_admin a{};
            a.op = pinholes ? SIPALG_OP_PINHOLE_CLOSE : SIPALG_OP_BINDING_CLOSE;
            a.priv_ip = htonl(e.priv_ip);
            a.priv_port = htons(e.priv_port);
            run_admin_fd(admin_fd, a);
        }
    }
    return f;
}

WanFollower::WanFollower(std::string wan, bool follow) : wan_(std::move(wan)), follow_(follow) {
    if (!follow_)
        return;
    nl_ = UniqueFd(::socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_ROUTE));
    sockaddr_nl sa{};
    sa.nl_family = AF_NETLINK;
    sa.nl_groups = RTMGRP_IPV4_IFADDR;
    if (!nl_.valid() || ::bind(nl_.get(), reinterpret_cast<const sockaddr *>(&sa), sizeof(sa)) != 0)
        throw UserError("cannot listen to rtnetlink for the WAN's address (" + errno_text(errno) +
                        ")");
}

std::optional<std::uint32_t> WanFollower::changed(std::uint32_t current) {
    if (!follow_)
        return std::nullopt;
    // Only that something changed matters (an overflow, ENOBUFS, says so too): bounded drain.
    char buf[8192];
    // The first look is unconditional: the address may have changed while no daemon ran.
    bool heard = first_;
    first_ = false;
    for (int i = 0; i < 64; i++) {
        const ssize_t n = ::recv(nl_.get(), buf, sizeof(buf), 0);
        if (n < 0 && errno != ENOBUFS)
            break;
        heard = true;
    }
    if (!heard)
        return std::nullopt;
    const NetView view = read_net_view();
    bool has_any = false;
    for (const IfAddr &a : view.addrs) {
        if (a.ifname != wan_)
            continue;
        has_any = true;
        if (a.addr == current)
            return std::nullopt; // still there: a second address does not move the ALG
    }
    if (!has_any)
        return std::nullopt; // gone for now: keep everything until another one appears
    return decide_public_ip(wan_, view);
}

} // namespace sipalg::slow
