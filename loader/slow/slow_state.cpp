#include "slow_state.hpp"

#include <arpa/inet.h>

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
    const sipalg_port s = maps_.read_slot(public_port);
    if (s.state != SIPALG_PORT_BINDING)
        return false;
    p->ip = ntohl(s.priv_ip);
    p->port = ntohs(s.priv_port);
    return true;
}

std::uint32_t MapSlowState::binding_offer_ip(std::uint16_t public_port) const {
    const sipalg_port s = maps_.read_slot(public_port);
    return s.state == SIPALG_PORT_BINDING ? ntohl(s.remote_ip) : 0;
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

void MapSlowState::media_remember(std::uint16_t owner, const std::array<std::uint16_t, 8> &ports) {
    sipalg_admin a = op_on(SIPALG_OP_MEDIA_REMEMBER, owner);
    for (std::size_t i = 0; i < ports.size(); i++)
        a.ports[i] = ports[i];
    run(a);
}

void MapSlowState::media_scope(std::uint16_t owner, const std::array<std::uint32_t, 8> &ips) {
    sipalg_admin a = op_on(SIPALG_OP_MEDIA_SCOPE, owner);
    for (std::size_t i = 0; i < ips.size(); i++)
        a.ips[i] = htonl(ips[i]);
    run(a);
}

void MapSlowState::media_close(std::uint16_t owner) {
    run(op_on(SIPALG_OP_MEDIA_CLOSE, owner));
}

void MapSlowState::media_offer(std::uint16_t owner, std::uint32_t ip) {
    sipalg_admin a = op_on(SIPALG_OP_MEDIA_OFFER, owner);
    a.remote_ip = htonl(ip);
    run(a);
}

} // namespace sipalg::slow
