// The bindings a phone registered over TCP through the daemon's proxy, and who may open a new
// connection to them. A phone that registered over TCP may close that connection and wait on
// its listening port (RFC 3261 18.2.2 / 18.1.1): the registrar then connects to the Contact
// it stored, which is the binding's public address and port. The daemon accepts such a
// connection only from a peer the phone registered with (see admits()), and proxies it to the
// binding's private endpoint.
#pragma once

#include "slow/rewrite.hpp"

#include <cstdint>
#include <functional>
#include <map>
#include <vector>

namespace sipalg::slow {

struct TcpBinding {
    Phone phone;             // the binding's private endpoint: the phone's ip and SIP port
    std::vector<Addr> peers; // where its confirmed REGISTERs went (at most kMaxPeers)
};

class TcpBindings {
  public:
    static constexpr std::size_t kMaxPeers = 4; // registrars of one binding; the oldest goes

    // Told when a public port starts (true) or stops (false) being a TCP binding, so the
    // kernel steers new connections to it to the daemon (steering.cpp).
    using Steer = std::function<void(std::uint16_t public_port, bool on)>;
    explicit TcpBindings(Steer steer) : steer_(std::move(steer)) {}

    // A REGISTER from `phone` on binding `public_port` went to `registrar` and a 2xx came back.
    void confirm(std::uint16_t public_port, Phone phone, Addr registrar);
    // The record of a public port, if it still is the binding it was confirmed for: a binding
    // that aged out or now belongs to another phone is forgotten here.
    const TcpBinding *find(std::uint16_t public_port, const SlowState &state);
    // Whether `peer_ip` may open a connection to this binding. Today: only an address the
    // phone registered with. The one place a "trusted signalling prefixes" setting would widen
    // it (a registrar that calls from other addresses of its own cluster).
    static bool admits(const TcpBinding &b, std::uint32_t peer_ip);
    // Forgets the records whose binding is gone or changed hands.
    void prune(const SlowState &state);
    void clear();
    std::size_t size() const { return by_port_.size(); }

  private:
    void forget(std::map<std::uint16_t, TcpBinding>::iterator it);
    Steer steer_;
    std::map<std::uint16_t, TcpBinding> by_port_;
};

} // namespace sipalg::slow
