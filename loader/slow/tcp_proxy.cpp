// SIP over TCP: the daemon terminates the phone's connection and re-originates it.
//
// Why a transparent proxy and not in-place rewriting with sequence-number fix-ups: a rewritten
// message changes length, so every later segment's sequence and acknowledgement numbers, SACK
// blocks and retransmissions of either side would need fixing, for the life of the connection,
// and a message split across segments could only be rewritten by holding segments back, which
// is a proxy anyway, without its robustness. Terminating the connection gives each side an
// ordinary TCP connection; the proxy frames messages by Content-Length (SipStream), rewrites
// whole messages with the same code as UDP (process()), and writes them on the other side.
//
// The phone's connection reaches the listener through the daemon's tproxy rule (steering.cpp)
// with its original destination as local address, so the phone sees the server's address. The
// upstream connection leaves from the router's public address and the phone's binding port:
// that is what the rewritten Via and Contact say, so the server sends requests for the phone
// (an incoming call) on this same connection, as RFC 3261 18.2.2 / RFC 5923 servers reuse a
// connection to the address a Contact names.
//
// The other way round: a phone that registered over TCP may close its connection and wait on
// its listening port for the server to connect to the Contact it registered (RFC 3261 18.2.2,
// 18.1.1), i.e. to the binding's public address and port. Once a REGISTER's 2xx has come back
// through the proxy, the binding is recorded (TcpBindings) and the steering sends new
// connections to that port to this same listener; the proxy accepts one only from a peer the
// phone registered with, and connects to the binding's private endpoint from that peer's own
// address and port (IP_TRANSPARENT), so the phone sees the server, as it does for UDP.
#include "slow/tcp_proxy.hpp"

#include "slow/sock_util.hpp"

#include <fcntl.h>
#include <netinet/tcp.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <initializer_list>
#include <utility>

namespace sipalg::slow {

namespace {

constexpr int kReadsPerWake = 4; // bounded work per connection per wake-up
constexpr int kAcceptsPerWake = 16;
// Room for a burst of SYNs: the proxy resets what its limits refuse at once, but a SYN the
// kernel drops for a full queue is retried by the phone only a second or more later.
constexpr int kBacklog = 1024;

bool in_lan(const Net &net, std::uint32_t ip) {
    return std::any_of(net.lan.begin(), net.lan.end(), [&](const Prefix &p) {
        return prefix_contains(p, Prefix{ip, 32});
    });
}

// Closes with a reset: the peer learns at once that nobody holds this connection.
void reset(UniqueFd &fd) {
    const linger l{1, 0};
    if (fd.valid())
        setsockopt(fd.get(), SOL_SOCKET, SO_LINGER, &l, sizeof(l));
    fd.reset();
}

// Reads what is there, at most `max` bytes; false on error.
bool read_some(int fd, std::vector<std::uint8_t> &got, bool *eof, std::size_t max) {
    std::uint8_t buf[65536];
    for (int i = 0; i < kReadsPerWake && got.size() < max; i++) {
        const ssize_t n = recv(fd, buf, std::min(sizeof(buf), max - got.size()), MSG_DONTWAIT);
        if (n > 0) {
            got.insert(got.end(), buf, buf + n);
            continue;
        }
        if (n == 0) {
            *eof = true;
            return true;
        }
        return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
    }
    return true;
}

// Writes what it can of `pending`; false on error.
bool write_some(int fd, std::vector<std::uint8_t> &pending) {
    while (!pending.empty()) {
        const ssize_t n = send(fd, pending.data(), pending.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n < 0)
            return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
        pending.erase(pending.begin(), pending.begin() + n);
    }
    // A burst is not kept in memory for the rest of a long-lived connection.
    if (pending.capacity() > 4096)
        pending.shrink_to_fit();
    return true;
}

// Room for one direction before it holds more than `cap` (one byte more is read, so that a peer
// over the cap is seen to be).
std::size_t room(std::size_t cap, std::size_t held) {
    return (cap > held ? cap - held : 0) + 1;
}

std::string seconds(std::chrono::seconds s) {
    return std::to_string(s.count()) + " s";
}

} // namespace

// One connection of a proxied pair.
struct TcpProxy::Side {
    UniqueFd fd;
    std::vector<std::uint8_t> pending; // bytes to write on it
    bool eof = false;                  // it sent its end
    bool shut = false;                 // we passed the other side's end on to it
    std::size_t idx = 0;               // position in the poll vector (0: not there)
};

// A proxied pair: the phone's side and the server's side. Outbound (the phone connected), the
// phone's side is the accepted one and the daemon originates the server's; inbound (a server
// connected to a TCP binding) the other way round.
struct TcpProxy::Conn {
    Conn(std::uint32_t source_ip, Addr phone_addr, Addr server_addr, const Net &net, SlowState &st,
         Addr binding = {})
        : relay(phone_addr, server_addr, net, st, binding), inbound(binding.port != 0),
          source(source_ip), times(Clock::now()) {}
    TcpRelay relay;
    Side phone, server;
    const bool inbound;
    const std::uint32_t source; // who opened it (TcpAdmission)
    TcpTimes times;             // times.connecting: the originated side's connect() is pending
    bool dead = false;

    Side &originated() { return inbound ? phone : server; }
    // Whether `s` can be read and written (not still connecting).
    bool ready(const Side &s) const {
        return s.fd.valid() && !(times.connecting && &s == (inbound ? &phone : &server));
    }
    std::string name() const {
        if (inbound)
            return "tcp " + str(relay.server()) + " -> " + str(relay.upstream_from()) + " (to " +
                   str(relay.phone()) + ")";
        return "tcp " + str(relay.phone()) + " -> " + str(relay.server()) +
               (relay.upstream_from().port ? " (as " + str(relay.upstream_from()) + ")" : "");
    }
};

// One log line a second for a reason that a flood can trigger at any rate.
struct TcpProxy::LogGate {
    Clock::time_point last{};
    std::size_t unlogged = 0;
    // The line to log now, or empty (counted as unlogged).
    std::string pass(const std::string &line) {
        const auto now = Clock::now();
        if (last != Clock::time_point{} && now - last < std::chrono::seconds(1)) {
            unlogged++;
            return {};
        }
        last = now;
        std::string out = line;
        if (unlogged)
            out += " (and " + std::to_string(unlogged) + " more in the last second, not logged)";
        unlogged = 0;
        return out;
    }
};

TcpProxy::TcpProxy(const Net &net, SlowState &state, TcpBindings &bindings, Report report,
                   TcpLimits limits)
    : net_(net), state_(state), bindings_(bindings), report_(std::move(report)), limits_(limits),
      gate_total_(std::make_unique<LogGate>()), gate_source_(std::make_unique<LogGate>()) {}

TcpProxy::~TcpProxy() = default;

void TcpProxy::listen(std::uint16_t port) {
    UniqueFd fd(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!fd.valid())
        throw UserError("cannot create the daemon's TCP socket (" + errno_text(errno) + ")");
    set_opt(fd.get(), SOL_IP, IP_TRANSPARENT, 1, "IP_TRANSPARENT (needs CAP_NET_ADMIN)");
    set_opt(fd.get(), SOL_SOCKET, SO_REUSEADDR, 1, "SO_REUSEADDR");
    const sockaddr_in sa = sin_of({INADDR_LOOPBACK, port});
    if (bind(fd.get(), reinterpret_cast<const sockaddr *>(&sa), sizeof(sa)) != 0 ||
        ::listen(fd.get(), kBacklog) != 0)
        throw UserError("cannot listen on TCP 127.0.0.1:" + std::to_string(port) + " (" +
                        errno_text(errno) + "); another daemon running? or use --listen-port");
    listener_ = std::move(fd);
}

void TcpProxy::fill(std::vector<pollfd> &fds) {
    fds.push_back({listener_.get(), POLLIN, 0});
    for (auto &c : conns_) {
        for (Side *s : {&c->phone, &c->server}) {
            s->idx = 0;
            if (!s->fd.valid())
                continue;
            const bool ready = c->ready(*s);
            s->idx = fds.size();
            fds.push_back({s->fd.get(),
                           static_cast<short>((s->eof || !ready ? 0 : POLLIN) |
                                              (!ready || !s->pending.empty() ? POLLOUT : 0)),
                           0});
        }
    }
}

void TcpProxy::serve(const std::vector<pollfd> &fds, std::size_t first) {
    // Connections accepted below were not in `fds`: they wait for the next round.
    const std::size_t known = conns_.size();
    for (std::size_t i = 0; i < known; i++) {
        Conn &c = *conns_[i];
        auto ev = [&](const Side &s) -> short {
            return s.idx && s.idx < fds.size() ? fds[s.idx].revents : 0;
        };
        const short phone_ev = ev(c.phone), server_ev = ev(c.server);
        if (phone_ev || server_ev)
            serve_one(c, phone_ev, server_ev);
    }
    if (first < fds.size() && (fds[first].revents & POLLIN))
        accept_some();
    conns_.erase(
            std::remove_if(conns_.begin(), conns_.end(), [](const auto &c) { return c->dead; }),
            conns_.end());
}

void TcpProxy::accept_some() {
    for (int i = 0; i < kAcceptsPerWake; i++) {
        sockaddr_in peer{}, local{};
        socklen_t plen = sizeof(peer), llen = sizeof(local);
        UniqueFd fd(accept4(listener_.get(), reinterpret_cast<sockaddr *>(&peer), &plen,
                            SOCK_NONBLOCK | SOCK_CLOEXEC));
        if (!fd.valid())
            return;
        // A transparent socket's local address is the connection's original destination.
        if (getsockname(fd.get(), reinterpret_cast<sockaddr *>(&local), &llen) != 0)
            continue;
        const int one = 1;
        setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        if (addr_of(local).ip == net_.public_ip && !in_lan(net_, addr_of(peer).ip)) {
            accept_inbound(std::move(fd), addr_of(peer), addr_of(local));
            continue;
        }
        if (!admit(fd, addr_of(peer), addr_of(local)))
            continue;
        auto c = std::make_unique<Conn>(addr_of(peer).ip, addr_of(peer), addr_of(local), net_,
                                        state_);
        c->phone.fd = std::move(fd);
        report_(std::nullopt, c->name() + ": accepted");
        conns_.push_back(std::move(c));
    }
}

// Whether the connection's source may open one more (else it is reset and counted).
bool TcpProxy::admit(UniqueFd &fd, Addr peer, Addr local) {
    const TcpAdmission::Refusal r = admission_.admit(peer.ip);
    if (r == TcpAdmission::Refusal::None)
        return true;
    reset(fd);
    const bool total = r == TcpAdmission::Refusal::Total;
    const std::string line =
            "tcp " + str(peer) + " -> " + str(local) + ": refused: " +
            (total ? std::to_string(limits_.max_conns) + " connections in total (--tcp-max-conns)"
                   : format_ipv4(peer.ip) + " holds " +
                             std::to_string(limits_.max_conns_per_source) +
                             " connections (--tcp-max-conns-per-source)");
    report_(total ? SIPALG_CTR_TCP_LIMIT_TOTAL : SIPALG_CTR_TCP_LIMIT_SOURCE,
            (total ? gate_total_ : gate_source_)->pass(line));
    return false;
}

void TcpProxy::accept_inbound(UniqueFd fd, Addr peer, Addr local) {
    const TcpBinding *b = bindings_.find(local.port, state_);
    if (!b || !TcpBindings::admits(*b, peer.ip)) {
        reset(fd);
        report_(SIPALG_CTR_TCP_REFUSED,
                "tcp " + str(peer) + " -> " + str(local) + ": refused: " +
                        (b ? "not a peer the phone registered with"
                           : "no binding registered over TCP on that port"));
        return;
    }
    if (!admit(fd, peer, local))
        return;
    auto c = std::make_unique<Conn>(peer.ip, Addr{b->phone.ip, b->phone.port}, peer, net_, state_,
                                    local);
    c->server.fd = std::move(fd);
    report_(std::nullopt, c->name() + ": accepted");
    // From the peer's own address and port, so the phone sees the server that connected.
    originate(*c, peer, c->relay.phone());
    if (!c->dead)
        conns_.push_back(std::move(c));
}

void TcpProxy::serve_one(Conn &c, short phone_ev, short server_ev) {
    const short orig_ev = c.inbound ? phone_ev : server_ev;
    if (c.times.connecting && (orig_ev & (POLLOUT | POLLERR | POLLHUP))) {
        int err = 0;
        socklen_t len = sizeof(err);
        getsockopt(c.originated().fd.get(), SOL_SOCKET, SO_ERROR, &err, &len);
        if (err) {
            close(c, std::string(c.inbound ? "connecting to the phone" : "upstream connection") +
                             " failed: " + errno_text(err));
            return;
        }
        c.times.connecting = false;
    }
    if (c.ready(c.phone) && (phone_ev & (POLLIN | POLLHUP | POLLERR))) {
        std::vector<std::uint8_t> got;
        if (!read_some(c.phone.fd.get(), got, &c.phone.eof,
                       room(limits_.buffer, c.relay.held_from_phone() + c.server.pending.size()))) {
            close(c, "the phone's connection failed: " + errno_text(errno));
            return;
        }
        RelayOutput o;
        c.relay.from_phone(got.data(), got.size(), o);
        settle(c, o);
        if (c.dead)
            return;
        if (!c.server.fd.valid() && c.relay.upstream_from().port)
            originate(c, c.relay.upstream_from(), c.relay.server());
    }
    if (!c.dead && c.ready(c.server) && (server_ev & (POLLIN | POLLHUP | POLLERR))) {
        std::vector<std::uint8_t> got;
        if (!read_some(c.server.fd.get(), got, &c.server.eof,
                       room(limits_.buffer, c.relay.held_from_server() + c.phone.pending.size()))) {
            close(c, "the server's connection failed: " + errno_text(errno));
            return;
        }
        RelayOutput o;
        c.relay.from_server(got.data(), got.size(), o);
        settle(c, o);
    }
    if (!c.dead)
        flush(c);
    if (!c.dead)
        check_held(c);
}

void TcpProxy::originate(Conn &c, Addr from, Addr to) {
    UniqueFd fd(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    const int one = 1;
    const sockaddr_in f = sin_of(from), t = sin_of(to);
    // SO_REUSEADDR: the phone's UDP binding has the same port, and a phone may hold connections
    // to several servers from one binding (distinct 4-tuples). IP_TRANSPARENT: toward the
    // phone the address is the server's, not ours.
    if (!fd.valid() || setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
        (c.inbound && setsockopt(fd.get(), SOL_IP, IP_TRANSPARENT, &one, sizeof(one)) != 0) ||
        bind(fd.get(), reinterpret_cast<const sockaddr *>(&f), sizeof(f)) != 0) {
        close(c, "cannot bind " + str(from) + " (" + errno_text(errno) + ")");
        return;
    }
    setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (connect(fd.get(), reinterpret_cast<const sockaddr *>(&t), sizeof(t)) != 0 &&
        errno != EINPROGRESS) {
        close(c, "cannot connect to " + str(to) + " (" + errno_text(errno) + ")");
        return;
    }
    c.originated().fd = std::move(fd);
    c.times.connect_began(Clock::now());
    report_(std::nullopt, c.name() + ": connecting " + (c.inbound ? "to the phone" : "upstream"));
}

void TcpProxy::settle(Conn &c, RelayOutput &o) {
    c.times.framed(Clock::now(), o.messages, o.pieces,
                   c.relay.held_from_phone() || c.relay.held_from_server());
    for (const RelayEvent &e : o.events)
        report_(e.counter, c.name() + ": " + e.what);
    c.server.pending.insert(c.server.pending.end(), o.to_server.begin(), o.to_server.end());
    c.phone.pending.insert(c.phone.pending.end(), o.to_phone.begin(), o.to_phone.end());
    if (o.registered && c.relay.upstream_from().port) {
        bindings_.confirm(c.relay.upstream_from().port, {c.relay.phone().ip, c.relay.sip_port()},
                          c.relay.server());
        report_(std::nullopt, c.name() + ": registered over TCP: new connections from " +
                                      format_ipv4(c.relay.server().ip) + " to " +
                                      str(c.relay.upstream_from()) + " reach " +
                                      format_ipv4(c.relay.phone().ip) + ":" +
                                      std::to_string(c.relay.sip_port()));
    }
    if (o.close)
        close(c, o.why);
}

// After writing what the peers took: more than the cap still held for one direction means a
// peer that does not read, or a message larger than the proxy carries.
void TcpProxy::check_held(Conn &c) {
    const std::size_t up = c.relay.held_from_phone() + c.server.pending.size();
    const std::size_t down = c.relay.held_from_server() + c.phone.pending.size();
    if (up > limits_.buffer || down > limits_.buffer)
        close(c,
              std::string("over ") + std::to_string(limits_.buffer) + " bytes held from the " +
                      (up > limits_.buffer ? "phone" : "server") + " (--tcp-buffer)",
              SIPALG_CTR_TCP_OVERFLOW);
}

void TcpProxy::expire(Clock::time_point now) {
    for (auto &c : conns_) {
        if (c->dead)
            continue;
        switch (tcp_expiry(c->times, now, limits_)) {
        case TcpExpiry::None:
            break;
        case TcpExpiry::Connect:
            close(*c,
                  std::string(c->inbound ? "connecting to the phone" : "the upstream connection") +
                          " did not complete within " + seconds(limits_.handshake) +
                          " (--tcp-handshake-timeout)",
                  SIPALG_CTR_TCP_TIMEOUT_CONNECT);
            break;
        case TcpExpiry::Message:
            close(*c,
                  std::string(c->times.any_message ? "a message" : "no first message") +
                          " not complete within " + seconds(limits_.handshake) +
                          " (--tcp-handshake-timeout)",
                  SIPALG_CTR_TCP_TIMEOUT_MSG);
            break;
        case TcpExpiry::Idle:
            close(*c, "idle for " + seconds(limits_.idle) + " (--tcp-idle)",
                  SIPALG_CTR_TCP_TIMEOUT_IDLE);
            break;
        }
    }
    conns_.erase(
            std::remove_if(conns_.begin(), conns_.end(), [](const auto &c) { return c->dead; }),
            conns_.end());
}

void TcpProxy::flush(Conn &c) {
    if (c.ready(c.server) && !write_some(c.server.fd.get(), c.server.pending)) {
        close(c, "writing to the server failed: " + errno_text(errno));
        return;
    }
    if (c.ready(c.phone) && !write_some(c.phone.fd.get(), c.phone.pending)) {
        close(c, "writing to the phone failed: " + errno_text(errno));
        return;
    }
    // A side that ended has its end passed on once everything before it was written.
    if (c.phone.eof && !c.server.fd.valid()) {
        close(c, "the phone closed before the first message");
        return;
    }
    for (auto [from, to] : {std::pair{&c.phone, &c.server}, std::pair{&c.server, &c.phone}}) {
        if (from->eof && c.ready(*to) && to->pending.empty() && !to->shut) {
            shutdown(to->fd.get(), SHUT_WR);
            to->shut = true;
        }
    }
    if (c.phone.eof && c.server.eof)
        close(c, "closed by both ends");
}

void TcpProxy::close(Conn &c, const std::string &why, std::optional<sipalg_counter> counter) {
    if (c.dead)
        return;
    c.dead = true;
    admission_.release(c.source);
    if (!(c.phone.eof && c.server.eof)) {
        // Abortive: a reset, so neither end keeps sending on a connection nobody holds.
        reset(c.phone.fd);
        reset(c.server.fd);
    }
    c.phone.fd.reset();
    c.server.fd.reset();
    report_(counter, c.name() + ": closed: " + why);
}

void TcpProxy::close_all(const std::string &why) {
    for (auto &c : conns_)
        close(*c, why);
    conns_.clear();
}

} // namespace sipalg::slow
