// The daemon's transparent TCP proxy for SIP over TCP (why a proxy: see tcp_proxy.cpp).
#pragma once

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

    TcpProxy(const Net &net, SlowState &state, Report report);
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
    struct Conn;
    void accept_some();
    void serve_one(Conn &c, short down_ev, short up_ev);
    void connect_upstream(Conn &c);
    void settle(Conn &c, RelayOutput &o);
    void flush(Conn &c);
    void close(Conn &c, const std::string &why);

    const Net &net_;
    SlowState &state_;
    Report report_;
    UniqueFd listener_;
    std::vector<std::unique_ptr<Conn>> conns_;
};

} // namespace sipalg::slow
