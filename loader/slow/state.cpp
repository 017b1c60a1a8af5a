#include "slow/state.hpp"

#include <arpa/inet.h>

#include <cerrno>

namespace sipalg::slow {

namespace {

sipalg_admin op_on(sipalg_admin_op op, std::uint16_t public_port) {
    sipalg_admin a{};
    a.op = op;
    a.public_port = public_port;
    return a;
}

} // namespace

sipalg_admin MapSlowState::run(sipalg_admin a) const {
    return run_admin_fd(admin_fd_, a);
}

std::uint16_t MapSlowState::binding_touch(Phone p, bool is_register) {
    sipalg_admin a = op_on(SIPALG_OP_BINDING_TOUCH, 0);
    a.priv_ip = htonl(p.ip);
    a.priv_port = htons(p.port);
    a.arg = is_register ? 1 : 0;
    a = run(a);
    return a.result == 0 ? a.public_port : 0;
}

std::uint16_t MapSlowState::binding_port(Phone p) const {
    sipalg_endpoint ep{};
    ep.ip = htonl(p.ip);
    ep.port = htons(p.port);
    return maps_.binding_public_port(ep);
}

bool MapSlowState::binding_phone(std::uint16_t public_port, Phone *p) const {
    const sipalg_slot s = maps_.read_slot(public_port);
    if (s.state != SIPALG_SLOT_BINDING)
        return false;
    p->ip = ntohl(s.priv_ip);
    p->port = ntohs(s.priv_port);
    return true;
}

void MapSlowState::binding_lifetime(std::uint16_t public_port, std::uint32_t seconds) {
    sipalg_admin a = op_on(SIPALG_OP_BINDING_LIFETIME, public_port);
    a.arg = seconds;
    run(a);
}

std::uint16_t MapSlowState::pinhole_open(Phone media, std::uint16_t want, std::uint16_t owner,
                                         std::uint32_t remote_ip) {
    sipalg_admin a = op_on(SIPALG_OP_PINHOLE_OPEN, want);
    a.priv_ip = htonl(media.ip);
    a.priv_port = htons(media.port);
    a.remote_ip = htonl(remote_ip);
    a.owner = owner;
    a = run(a);
    return a.result == 0 ? a.public_port : 0;
}

bool MapSlowState::dialog_begin(std::uint16_t owner, const sipalg_dialog_msg &dm,
                                std::array<std::uint32_t, 4> *scope) {
    sipalg_admin a = op_on(SIPALG_OP_DIALOG_BEGIN, owner);
    a.dm = dm;
    a = run(a);
    for (std::size_t i = 0; i < scope->size(); i++)
        (*scope)[i] = a.result == 0 ? ntohl(a.ips[i]) : 0;
    return a.result == 0;
}

void MapSlowState::dialog_out(std::uint16_t owner, const sipalg_dialog_msg &dm,
                              const std::array<std::uint16_t, 8> &ports) {
    sipalg_admin a = op_on(SIPALG_OP_DIALOG_OUT, owner);
    a.dm = dm;
    for (std::size_t i = 0; i < ports.size(); i++)
        a.ports[i] = ports[i];
    run(a);
}

void MapSlowState::dialog_in(std::uint16_t owner, const sipalg_dialog_msg &dm) {
    sipalg_admin a = op_on(SIPALG_OP_DIALOG_IN, owner);
    a.dm = dm;
    run(a);
}

SlowState::Signal MapSlowState::signal(std::uint16_t owner, std::uint32_t peer, bool inbound,
                                       const sipalg_dialog_msg &dm, bool *reg_answer) {
    sipalg_admin a = op_on(SIPALG_OP_SIGNAL, owner);
    a.remote_ip = htonl(peer);
    a.arg = inbound ? 1 : 0;
    a.dm = dm;
    a = run(a);
    if (reg_answer)
        *reg_answer = a.result == 0 && inbound && a.arg == 1;
    if (a.result == -EACCES)
        return Signal::Refused;
    if (a.result == -EAGAIN)
        return Signal::OverRate;
    // No binding (-ENOENT) cannot happen here: the caller has just found it.
    return Signal::Ok;
}

void MapSlowState::count(sipalg_counter c) {
    sipalg_admin a = op_on(SIPALG_OP_DAEMON_COUNT, 0);
    a.arg = c;
    run(a);
}

} // namespace sipalg::slow
