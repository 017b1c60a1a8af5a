// One proxied SIP-over-TCP connection, without sockets: what the daemon's transparent proxy
// (tcp_proxy.cpp) does with the bytes of the phone's connection and of the upstream connection
// it opens from the phone's binding. Each direction is framed into whole messages (SipStream),
// every message goes through the same processing as a UDP datagram (process()), and the
// result is written on the other connection, so sequence numbers and lengths are each
// connection's own business and never need fixing up.
#pragma once

#include "slow/sip_stream.hpp"
#include "slow/rewrite.hpp"

#include "sipalg_maps.h"

#include <cstdint>
#include <string>
#include <vector>

namespace sipalg::slow {

struct RelayEvent {
    sipalg_counter counter; // DAEMON_HANDLED, DAEMON_FAILED or DAEMON_DROPPED
    std::string what;       // for the log
};

struct RelayOutput {
    std::vector<std::uint8_t> to_server; // bytes to write on the upstream connection
    std::vector<std::uint8_t> to_phone;  // bytes to write on the phone's connection
    std::vector<RelayEvent> events;
    bool close = false; // the stream is broken or the binding changed: close both connections
    std::string why;    // when close
    // A 2xx to a REGISTER the phone sent on this connection reached the phone: the binding is
    // registered over TCP with this server (tcp_bindings.hpp).
    bool registered = false;
    // Whole messages, and messages plus keepalives, framed from the bytes fed (the proxy's
    // timers, tcp_limits.hpp).
    std::size_t messages = 0, pieces = 0;
};

class TcpRelay {
  public:
    // phone: the connection's peer on the LAN; server: its original destination. For a
    // connection a server opened to a binding (binding: the public address and port it
    // reached), phone is the binding's private endpoint and server the connection's peer.
    TcpRelay(Addr phone, Addr server, const Net &net, SlowState &state, Addr binding = {});

    void from_phone(const std::uint8_t *data, std::size_t len, RelayOutput &out);
    void from_server(const std::uint8_t *data, std::size_t len, RelayOutput &out);

    // Where the upstream connection must come from (the public address and the phone's binding
    // port); port 0 until the phone's first message has been processed.
    Addr upstream_from() const { return upstream_; }
    Addr phone() const { return phone_; }
    Addr server() const { return server_; }
    std::uint16_t sip_port() const { return sip_port_; }
    // Bytes of an incomplete message held from each side.
    std::size_t held_from_phone() const { return up_.buffered(); }
    std::size_t held_from_server() const { return down_.buffered(); }

  private:
    void outbound(std::vector<std::uint8_t> msg, RelayOutput &out);
    void inbound(std::vector<std::uint8_t> msg, RelayOutput &out);

    Addr phone_, server_;
    const Net &net_;
    SlowState &state_;
    SipStream up_, down_;        // bytes from the phone, bytes from the server
    std::uint16_t sip_port_ = 0; // the phone's SIP port (see phone_sip_port), once known
    Addr upstream_{};
    bool register_sent_ = false; // a REGISTER went to the server on this connection
};

} // namespace sipalg::slow
