// The daemon's transparent TCP proxy for SIP over TCP (why a proxy: see tcp_proxy.cpp).
#pragma once

#include "tcp_bindings.hpp"
#include "tcp_relay.hpp"
#include "unique_fd.hpp"

#include <poll.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace sipalg::slow {

class TcpProxy {
  public:
    // Told of every message's outcome (counter set) and of connections opened and closed
    // (counter empty); `line` names the connection.
    using Report = std::function<void(std::optional<sipalg_counter>, const std::string &line)>;

    // bindings: the bindings registered over TCP; the proxy confirms them as their REGISTERs
    // succeed and accepts a server's new connection to one of them (see accept_inbound()).
    TcpProxy(const Net &net, SlowState &state, TcpBindings &bindings, Report report);
    ~TcpProxy();

    // The IP_TRANSPARENT listener on 127.0.0.1:port that the tproxy rule hands connections to.
    void listen(std::uint16_t port);
    // Appends the descriptors to wait on; serve() then takes the same vector from `first` on.
    void fill(std::vector<pollfd> &fds);
    void serve(const std::vector<pollfd> &fds, std::size_t first);
    // Closes every proxied connection (the phones reconnect, through whatever is then in place).
    void close_all(const std::string &why);
    std::size_t connections() const { return conns_.size(); }

  private:
    struct Side;
    struct Conn;
    void accept_some();
    void accept_inbound(UniqueFd fd, Addr peer, Addr local);
    void serve_one(Conn &c, short phone_ev, short server_ev);
    void originate(Conn &c, Addr from, Addr to);
    void settle(Conn &c, RelayOutput &o);
    void flush(Conn &c);
    void close(Conn &c, const std::string &why);

    const Net &net_;
    SlowState &state_;
    TcpBindings &bindings_;
    Report report_;
    UniqueFd listener_;
    std::vector<std::unique_ptr<Conn>> conns_;
};

} // namespace sipalg::slow
