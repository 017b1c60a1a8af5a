#include "slow/tcp_bindings.hpp"

#include <algorithm>

namespace sipalg::slow {

namespace {

bool same(Phone a, Phone b) {
    return a.ip == b.ip && a.port == b.port;
}

bool still_bound(std::uint16_t public_port, Phone phone, const SlowState &state) {
    Phone now;
    return state.binding_phone(public_port, &now) && same(now, phone);
}

} // namespace

void TcpBindings::confirm(std::uint16_t public_port, Phone phone, Addr registrar) {
    auto it = by_port_.find(public_port);
    if (it != by_port_.end() && !same(it->second.phone, phone)) {
        forget(it);
        it = by_port_.end();
    }
    if (it == by_port_.end()) {
        it = by_port_.emplace(public_port, TcpBinding{phone, {}}).first;
        if (steer_)
            steer_(public_port, true);
    }
    std::vector<Addr> &peers = it->second.peers;
    // Keyed by address: a registrar connects from whatever port it likes.
    peers.erase(std::remove_if(peers.begin(), peers.end(),
                               [&](const Addr &a) { return a.ip == registrar.ip; }),
                peers.end());
    if (peers.size() >= kMaxPeers)
        peers.erase(peers.begin());
    peers.push_back(registrar);
}

const TcpBinding *TcpBindings::find(std::uint16_t public_port, const SlowState &state) {
    auto it = by_port_.find(public_port);
    if (it == by_port_.end())
        return nullptr;
    if (!still_bound(public_port, it->second.phone, state)) {
        forget(it);
        return nullptr;
    }
    return &it->second;
}

bool TcpBindings::admits(const TcpBinding &b, std::uint32_t peer_ip) {
    return std::any_of(b.peers.begin(), b.peers.end(),
                       [&](const Addr &a) { return a.ip == peer_ip; });
}

void TcpBindings::prune(const SlowState &state) {
    for (auto it = by_port_.begin(); it != by_port_.end();) {
        auto next = std::next(it);
        if (!still_bound(it->first, it->second.phone, state))
            forget(it);
        it = next;
    }
}

void TcpBindings::clear() {
    while (!by_port_.empty())
        forget(by_port_.begin());
}

void TcpBindings::forget(std::map<std::uint16_t, TcpBinding>::iterator it) {
    const std::uint16_t port = it->first;
    by_port_.erase(it);
    if (steer_)
        steer_(port, false);
}

} // namespace sipalg::slow
