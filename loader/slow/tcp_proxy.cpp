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
// connection to the address a Contact names. A server opening a new connection to that address
// is not supported (refused by the router); see docs/design.md.
#include "tcp_proxy.hpp"

#include "sock_util.hpp"

#include <fcntl.h>
#include <netinet/tcp.h>

#include <algorithm>
#include <cerrno>

namespace sipalg::slow {

namespace {

constexpr std::size_t kMaxPending = 4u << 20; // bytes queued for a peer that is not reading
constexpr int kReadsPerWake = 4;              // bounded work per connection per wake-up
constexpr int kAcceptsPerWake = 16;

// Reads what is there (bounded); false on end of stream or error.
bool read_some(int fd, std::vector<std::uint8_t> &got, bool *eof) {
    std::uint8_t buf[65536];
    for (int i = 0; i < kReadsPerWake; i++) {
        const ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
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
    return true;
}

} // namespace

struct TcpProxy::Conn {
    Conn(UniqueFd fd, Addr phone, Addr server, const Net &net, SlowState &st)
        : down(std::move(fd)), relay(phone, server, net, st) {}
    UniqueFd down, up; // the phone's connection, the upstream one (once known)
    TcpRelay relay;
    std::vector<std::uint8_t> to_phone, to_server;
    bool connecting = false;
    bool down_eof = false, up_eof = false;
    bool down_shut = false, up_shut = false;
    bool dead = false;
    std::size_t down_idx = 0, up_idx = 0; // positions in the poll vector (0: not there)

    std::string name() const {
        return "tcp " + str(relay.phone()) + " -> " + str(relay.server()) +
               (relay.upstream_from().port ? " (as " + str(relay.upstream_from()) + ")" : "");
    }
};

TcpProxy::TcpProxy(const Net &net, SlowState &state, Report report)
    : net_(net), state_(state), report_(std::move(report)) {}

TcpProxy::~TcpProxy() = default;

void TcpProxy::listen(std::uint16_t port) {
    UniqueFd fd(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!fd.valid())
        throw UserError("cannot create the daemon's TCP socket (" + errno_text(errno) + ")");
    set_opt(fd.get(), SOL_IP, IP_TRANSPARENT, 1, "IP_TRANSPARENT (needs CAP_NET_ADMIN)");
    set_opt(fd.get(), SOL_SOCKET, SO_REUSEADDR, 1, "SO_REUSEADDR");
    const sockaddr_in sa = sin_of({INADDR_LOOPBACK, port});
    if (bind(fd.get(), reinterpret_cast<const sockaddr *>(&sa), sizeof(sa)) != 0 ||
        ::listen(fd.get(), 128) != 0)
        throw UserError("cannot listen on TCP 127.0.0.1:" + std::to_string(port) + " (" +
                        errno_text(errno) + "); another daemon running? or use --listen-port");
    listener_ = std::move(fd);
}

void TcpProxy::fill(std::vector<pollfd> &fds) {
    fds.push_back({listener_.get(), POLLIN, 0});
    for (auto &c : conns_) {
        c->down_idx = fds.size();
        fds.push_back({c->down.get(),
                       static_cast<short>((c->down_eof ? 0 : POLLIN) |
                                          (c->to_phone.empty() ? 0 : POLLOUT)),
                       0});
        c->up_idx = 0;
        if (c->up.valid()) {
            c->up_idx = fds.size();
            const bool want_out = c->connecting || !c->to_server.empty();
            fds.push_back({c->up.get(),
                           static_cast<short>((c->up_eof || c->connecting ? 0 : POLLIN) |
                                              (want_out ? POLLOUT : 0)),
                           0});
        }
    }
}

void TcpProxy::serve(const std::vector<pollfd> &fds, std::size_t first) {
    // Connections accepted below were not in `fds`: they wait for the next round.
    const std::size_t known = conns_.size();
    for (std::size_t i = 0; i < known; i++) {
        Conn &c = *conns_[i];
        const short down_ev = c.down_idx < fds.size() ? fds[c.down_idx].revents : 0;
        const short up_ev = c.up_idx && c.up_idx < fds.size() ? fds[c.up_idx].revents : 0;
        if (down_ev || up_ev)
            serve_one(c, down_ev, up_ev);
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
        auto c = std::make_unique<Conn>(std::move(fd), addr_of(peer), addr_of(local), net_, state_);
        report_(std::nullopt, c->name() + ": accepted");
        conns_.push_back(std::move(c));
    }
}

void TcpProxy::serve_one(Conn &c, short down_ev, short up_ev) {
    if (c.connecting && (up_ev & (POLLOUT | POLLERR | POLLHUP))) {
        int err = 0;
        socklen_t len = sizeof(err);
        getsockopt(c.up.get(), SOL_SOCKET, SO_ERROR, &err, &len);
        if (err) {
            close(c, "upstream connection failed: " + errno_text(err));
            return;
        }
        c.connecting = false;
    }
    if (down_ev & (POLLIN | POLLHUP | POLLERR)) {
        std::vector<std::uint8_t> got;
        if (!read_some(c.down.get(), got, &c.down_eof)) {
            close(c, "the phone's connection failed: " + errno_text(errno));
            return;
        }
        RelayOutput o;
        c.relay.from_phone(got.data(), got.size(), o);
        settle(c, o);
        if (c.dead)
            return;
        if (!c.up.valid() && c.relay.upstream_from().port)
            connect_upstream(c);
    }
    if (!c.dead && c.up.valid() && !c.connecting && (up_ev & (POLLIN | POLLHUP | POLLERR))) {
        std::vector<std::uint8_t> got;
        if (!read_some(c.up.get(), got, &c.up_eof)) {
            close(c, "the upstream connection failed: " + errno_text(errno));
            return;
        }
        RelayOutput o;
        c.relay.from_server(got.data(), got.size(), o);
        settle(c, o);
    }
    if (!c.dead)
        flush(c);
}

void TcpProxy::connect_upstream(Conn &c) {
    const Addr from = c.relay.upstream_from();
    UniqueFd fd(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    const int one = 1;
    const sockaddr_in f = sin_of(from), t = sin_of(c.relay.server());
    // SO_REUSEADDR: the phone's UDP binding has the same port, and a phone may hold connections
    // to several servers from one binding (distinct 4-tuples).
    if (!fd.valid() || setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
        bind(fd.get(), reinterpret_cast<const sockaddr *>(&f), sizeof(f)) != 0) {
        close(c, "cannot bind " + str(from) + " (" + errno_text(errno) + ")");
        return;
    }
    setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (connect(fd.get(), reinterpret_cast<const sockaddr *>(&t), sizeof(t)) != 0 &&
        errno != EINPROGRESS) {
        close(c, "cannot connect upstream (" + errno_text(errno) + ")");
        return;
    }
    c.up = std::move(fd);
    c.connecting = true;
    report_(std::nullopt, c.name() + ": connecting upstream");
}

void TcpProxy::settle(Conn &c, RelayOutput &o) {
    for (const RelayEvent &e : o.events)
        report_(e.counter, c.name() + ": " + e.what);
    c.to_server.insert(c.to_server.end(), o.to_server.begin(), o.to_server.end());
    c.to_phone.insert(c.to_phone.end(), o.to_phone.begin(), o.to_phone.end());
    if (o.close)
        close(c, o.why);
    else if (c.to_server.size() > kMaxPending || c.to_phone.size() > kMaxPending)
        close(c, "a peer stopped reading (over 4 MiB queued)");
}

void TcpProxy::flush(Conn &c) {
    if (c.up.valid() && !c.connecting && !write_some(c.up.get(), c.to_server)) {
        close(c, "writing upstream failed: " + errno_text(errno));
        return;
    }
    if (!write_some(c.down.get(), c.to_phone)) {
        close(c, "writing to the phone failed: " + errno_text(errno));
        return;
    }
    // A side that ended has its end passed on once everything before it was written.
    if (c.down_eof && !c.up.valid()) {
        close(c, "the phone closed before the first message");
        return;
    }
    if (c.down_eof && c.to_server.empty() && !c.connecting && !c.up_shut) {
        shutdown(c.up.get(), SHUT_WR);
        c.up_shut = true;
    }
    if (c.up_eof && c.to_phone.empty() && !c.down_shut) {
        shutdown(c.down.get(), SHUT_WR);
        c.down_shut = true;
    }
    if (c.down_eof && c.up_eof)
        close(c, "closed by both ends");
}

void TcpProxy::close(Conn &c, const std::string &why) {
    if (c.dead)
        return;
    c.dead = true;
    if (!(c.down_eof && c.up_eof)) {
        // Abortive: a reset, so neither end keeps sending on a connection nobody holds.
        const linger l{1, 0};
        setsockopt(c.down.get(), SOL_SOCKET, SO_LINGER, &l, sizeof(l));
        if (c.up.valid())
            setsockopt(c.up.get(), SOL_SOCKET, SO_LINGER, &l, sizeof(l));
    }
    c.down.reset();
    c.up.reset();
    report_(std::nullopt, c.name() + ": closed: " + why);
}

void TcpProxy::close_all(const std::string &why) {
    for (auto &c : conns_)
        close(*c, why);
    conns_.clear();
}

} // namespace sipalg::slow
