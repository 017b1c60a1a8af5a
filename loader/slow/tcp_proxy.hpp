// The daemon's transparent TCP proxy for SIP over TCP (why a proxy: see tcp_proxy.cpp).
#pragma once

#include "slow/tcp_bindings.hpp"
#include "slow/tcp_limits.hpp"
#include "slow/tcp_relay.hpp"
#include "state/unique_fd.hpp"

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
    // (counter empty, or the limit that closed it); `line` names the connection. Refusals by
    // a connection limit come at any rate a peer likes: for those `line` is empty except for
    // one a second per reason, which says how many went unlogged.
    using Report = std::function<void(std::optional<sipalg_counter>, const std::string &line)>;
    using Clock = TcpTimes::Clock;

    // bindings: the bindings registered over TCP; the proxy confirms them as their REGISTERs
    // succeed and accepts a server's new connection to one of them (see accept_inbound()).
    TcpProxy(const Net &net, SlowState &state, TcpBindings &bindings, Report report,
             TcpLimits limits = {});
    ~TcpProxy();

    // The IP_TRANSPARENT listener on 127.0.0.1:port that the tproxy rule hands connections to.
    void listen(std::uint16_t port);
    // Appends the descriptors to wait on; serve() then takes the same vector from `first` on.
    void fill(std::vector<pollfd> &fds);
    void serve(const std::vector<pollfd> &fds, std::size_t first);
    // Closes every proxied connection (the phones reconnect, through whatever is then in place).
    void close_all(const std::string &why);
    // Closes the connections past one of their timeouts (tcp_limits.hpp); called every few
    // hundred milliseconds, which is the timeouts' resolution.
    void expire(Clock::time_point now);
    std::size_t connections() const { return conns_.size(); }
    const TcpLimits &limits() const { return limits_; }

  private:
    struct Side;
    struct Conn;
    struct LogGate;
    void accept_some();
    bool admit(UniqueFd &fd, Addr peer, Addr local);
    void accept_inbound(UniqueFd fd, Addr peer, Addr local);
    void serve_one(Conn &c, short phone_ev, short server_ev);
    void originate(Conn &c, Addr from, Addr to);
    void settle(Conn &c, RelayOutput &o);
    void flush(Conn &c);
    void check_held(Conn &c);
    void close(Conn &c, const std::string &why,
               std::optional<sipalg_counter> counter = std::nullopt);

    const Net &net_;
    SlowState &state_;
    TcpBindings &bindings_;
    Report report_;
    TcpLimits limits_;
    TcpAdmission admission_{limits_};
    std::unique_ptr<LogGate> gate_total_, gate_source_;
    UniqueFd listener_;
    std::vector<std::unique_ptr<Conn>> conns_;
};

} // namespace sipalg::slow
