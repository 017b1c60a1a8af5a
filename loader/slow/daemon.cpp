// The userspace slow path.
//
// Hand-off: the BPF programs pass every packet they cannot finish to the stack untouched, as
// before, and while this daemon is attached also give it the daemon's skb mark
// (bpf/slow_path.bpf.h). An nftables tproxy rule (steering.cpp) delivers marked UDP to our
// transparent socket after netfilter has reassembled it, and a phone's TCP connections to a SIP
// server to our transparent proxy (tcp_proxy.cpp). Why this and not AF_XDP or a ring
// buffer: the kernel already does IP reassembly right (limits, timeouts, overlap checks, its
// ReasmFails/ReasmTimeout counters), fragments that never complete are dropped there and never
// reach anyone; the daemon only ever sees whole datagrams, and it sends its results through
// ordinary sockets, so the kernel refragments to the route's MTU and computes every checksum.
// The slow path carries a few SIP messages per call, so a socket per message is cheap enough;
// media never comes here.
//
// Reinjection: outbound messages leave from the router's public address and the phone's
// binding port (a plain socket bound there), inbound ones reach the phone from the peer's own
// address (IP_TRANSPARENT lets a socket bind a foreign address), so both ends see exactly what
// the fast path would have sent.
#include "slow/daemon.hpp"

#include "instance/config.hpp"
#include "instance/discover.hpp"
#include "cli/error.hpp"
#include "attach/hooks.hpp"
#include "instance/instance_owner.hpp"
#include "cli/logging.hpp"
#include "state/maps_io.hpp"
#include "instance/pin_paths.hpp"
#include "instance/preflight.hpp"
#include "slow/rewrite.hpp"
#include "slow/sock_util.hpp"
#include "slow/steering.hpp"
#include "slow/tcp_bindings.hpp"
#include "slow/tcp_proxy.hpp"
#include "state/unique_fd.hpp"
#include "slow/wan_follow.hpp"
#include "slow/wan_watch.hpp"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstring>
#include <iostream>
#include <optional>

namespace sipalg::slow {

namespace {

volatile std::sig_atomic_t g_stop = 0;

void on_signal(int) {
    g_stop = 1;
}

UniqueFd listen_socket(std::uint16_t port) {
    UniqueFd fd(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (!fd.valid())
        throw UserError("cannot create the daemon's socket (" + errno_text(errno) + ")");
    set_opt(fd.get(), SOL_IP, IP_TRANSPARENT, 1, "IP_TRANSPARENT (needs CAP_NET_ADMIN)");
    set_opt(fd.get(), SOL_IP, IP_RECVORIGDSTADDR, 1, "IP_RECVORIGDSTADDR");
    set_opt(fd.get(), SOL_SOCKET, SO_REUSEADDR, 1, "SO_REUSEADDR");
    set_opt(fd.get(), SOL_SOCKET, SO_RCVBUF, 1 << 20, "SO_RCVBUF");
    const sockaddr_in sa = sin_of({INADDR_LOOPBACK, port});
    if (bind(fd.get(), reinterpret_cast<const sockaddr *>(&sa), sizeof(sa)) != 0)
        throw UserError("cannot bind 127.0.0.1:" + std::to_string(port) + " (" + errno_text(errno) +
                        "); another daemon running? or use --listen-port");
    return fd;
}

// Sends one datagram from `from` (local or, with IP_TRANSPARENT, foreign) to `to`.
bool send_from(Addr from, Addr to, const std::vector<std::uint8_t> &payload, std::string *err) {
    UniqueFd fd(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    const int one = 1, dont = IP_PMTUDISC_DONT; // the kernel fragments to the route's MTU
    const sockaddr_in f = sin_of(from), t = sin_of(to);
    if (!fd.valid() || setsockopt(fd.get(), SOL_IP, IP_TRANSPARENT, &one, sizeof(one)) != 0 ||
        setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
        setsockopt(fd.get(), SOL_IP, IP_MTU_DISCOVER, &dont, sizeof(dont)) != 0 ||
        bind(fd.get(), reinterpret_cast<const sockaddr *>(&f), sizeof(f)) != 0 ||
        sendto(fd.get(), payload.data(), payload.size(), 0, reinterpret_cast<const sockaddr *>(&t),
               sizeof(t)) < 0) {
        *err = errno_text(errno);
        return false;
    }
    return true;
}

bool in_lan(const Net &net, std::uint32_t ip) {
    return std::any_of(net.lan.begin(), net.lan.end(), [&](const Prefix &p) {
        return prefix_contains(p, Prefix{ip, 32});
    });
}

// Two descriptors per proxied connection and a few of our own: the common soft limit of 1024
// would make accept() fail long before --tcp-max-conns, for every phone alike.
void raise_fd_limit(std::size_t max_conns) {
    const rlim_t want = 2 * static_cast<rlim_t>(max_conns) + 64;
    rlimit rl{};
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= want)
        return;
    rl.rlim_cur = rl.rlim_max == RLIM_INFINITY ? want : std::min(want, rl.rlim_max);
    setrlimit(RLIMIT_NOFILE, &rl);
    if (rl.rlim_cur < want)
        std::cerr << "sipalg daemon: warning: open files limited to " << rl.rlim_cur << ", below "
                  << want << " for --tcp-max-conns " << max_conns << "\n";
}

class Daemon {
  public:
    Daemon(const DaemonOptions &o, const std::string &dir)
        : o_(o), dir_(dir), maps_(InstanceMaps::open(dir, o.target.ifname, true)),
          admin_(bpf_obj_get(pin_file(dir, SIPALG_PIN_PROG_ADMIN).c_str())),
          state_(maps_, admin_.get()),
          steering_(o.target.ifname, o.mark, o.route_table, o.listen_port),
          tcp_bindings_([this](std::uint16_t port, bool on) {
              if (!steering_.tcp_binding(port, on))
                  std::cerr << "sipalg daemon: cannot " << (on ? "steer" : "stop steering")
                            << " new TCP connections to public port " << port << " (nft failed)\n";
          }),
          tcp_(
                  net_, state_, tcp_bindings_,
                  [this](std::optional<sipalg_counter> c, const std::string &line) {
                      if (c)
                          count(*c);
                      if (!line.empty() && (!c || *c != SIPALG_CTR_DAEMON_HANDLED || o_.verbose))
                          std::cerr << "sipalg daemon: " << line << "\n";
                  },
                  o.tcp) {
        if (!admin_.valid())
            throw UserError("sipalg is not loaded on " + o.target.ifname +
                            "; run: sipalg load --wan " + o.target.ifname);
        const sipalg_config cfg = maps_.read_config();
        net_.public_ip = ntohl(cfg.public_ip);
        net_.lan = config_prefixes(cfg);
        admin_id_ = pinned_prog_id(pin_file(dir_, SIPALG_PIN_PROG_ADMIN));
        const std::optional<InstanceOwner> owner = read_owner(dir_);
        wan_.emplace(o.target.ifname, owner && (owner->flags & kOwnerFollowWanAddress));
        watch_.emplace(o.target.ifname, maps_);
    }

    int run() {
        raise_fd_limit(o_.tcp.max_conns);
        UniqueFd sock = listen_socket(o_.listen_port);
        tcp_.listen(o_.listen_port);
        steering_.install(net_.public_ip);
        beat(o_.mark);
        std::cerr << "sipalg daemon: " << o_.target.ifname << ": slow path attached (mark 0x"
                  << std::hex << o_.mark << std::dec << ", 127.0.0.1:" << o_.listen_port
                  << ", messages up to " << slow_msg_max() << " bytes; TCP: " << o_.tcp.max_conns
                  << " connections, " << o_.tcp.max_conns_per_source << " per source, "
                  << o_.tcp.buffer << " bytes held per direction, " << o_.tcp.handshake.count()
                  << " s to connect or finish a message, " << o_.tcp.idle.count() << " s idle)\n";
        auto last_beat = std::chrono::steady_clock::now();
        std::vector<std::uint8_t> buf(65536);
        std::vector<pollfd> fds;
        while (!g_stop) {
            fds.assign(1, pollfd{sock.get(), POLLIN, 0});
            tcp_.fill(fds);
            const int n = poll(fds.data(), fds.size(), 500);
            if (n < 0 && errno != EINTR)
                throw UserError("poll failed (" + errno_text(errno) + ")");
            // Bounded: at most 64 datagrams per wake-up, so the heartbeat is never starved.
            for (int i = 0;
                 n > 0 && (fds[0].revents & POLLIN) && i < 64 && receive_one(sock.get(), buf);
                 i++) {
            }
            if (n > 0)
                tcp_.serve(fds, 1);
            const auto now = std::chrono::steady_clock::now();
            if (now - last_beat >= std::chrono::milliseconds(500)) {
                // Unloaded (or unloaded and loaded again): unload removed our steering, and a
                // new instance's daemon may already have installed its own, so leave it be.
                if (pinned_prog_id(pin_file(dir_, SIPALG_PIN_PROG_ADMIN)) != admin_id_) {
                    tcp_.close_all("the instance was unloaded");
                    steering_.abandon();
                    watch_->abandon();
                    std::cerr << "sipalg daemon: " << o_.target.ifname
                              << ": the instance was unloaded; exiting\n";
                    return 0;
                }
                follow_wan();
                beat(o_.mark);
                last_beat = now;
                tcp_.expire(now);
                const bool enabled = maps_.read_config().enabled != 0;
                watch_->tick(enabled, net_.public_ip);
                // Disabled means plain NAT for everything: the proxy's connections go too, and
                // so do the TCP bindings (a phone registers again once it is enabled).
                if (!enabled) {
                    if (tcp_.connections())
                        tcp_.close_all("the ALG was disabled");
                    tcp_bindings_.clear();
                } else {
                    tcp_bindings_.prune(state_);
                }
            }
        }
        tcp_.close_all("the daemon is stopping");
        watch_->stop();
        beat(0);
        steering_.remove();
        std::cerr << "sipalg daemon: " << o_.target.ifname << ": detached\n";
        return 0;
    }

  private:
    // The rule of wan_follow.hpp.
    void follow_wan() {
        const std::optional<std::uint32_t> ip = wan_->changed(net_.public_ip);
        if (!ip)
            return;
        sipalg_config cfg = maps_.read_config();
        cfg.public_ip = htonl(*ip);
        maps_.write_config(cfg);
        const Flushed f = flush_nat_state(maps_, admin_.get());
        tcp_.close_all("the WAN address changed");
        tcp_bindings_.clear();
        std::cerr << "sipalg daemon: " << o_.target.ifname << ": WAN address "
                  << format_ipv4(net_.public_ip) << " -> " << format_ipv4(*ip)
                  << ": the public address follows; flushed " << f.bindings << " bindings, "
                  << f.pinholes << " pinholes, " << f.dialogs << " dialogs of the old address\n";
        net_.public_ip = *ip;
        steering_.install(net_.public_ip);
    }

    void beat(std::uint32_t mark) {
        sipalg_admin a{};
        a.op = SIPALG_OP_DAEMON_BEAT;
        a.arg = mark;
        run_admin_fd(admin_.get(), a);
    }

    void count(sipalg_counter c) {
        sipalg_admin a{};
        a.op = SIPALG_OP_DAEMON_COUNT;
        a.arg = c;
        run_admin_fd(admin_.get(), a);
    }

    // One datagram; false when there is none left.
    bool receive_one(int fd, std::vector<std::uint8_t> &buf) {
        sockaddr_in src{};
        char ctrl[256];
        iovec iov{buf.data(), buf.size()};
        msghdr mh{};
        mh.msg_name = &src;
        mh.msg_namelen = sizeof(src);
        mh.msg_iov = &iov;
        mh.msg_iovlen = 1;
        mh.msg_control = ctrl;
        mh.msg_controllen = sizeof(ctrl);
        const ssize_t len = recvmsg(fd, &mh, MSG_DONTWAIT);
        if (len < 0)
            return false;
        Datagram d;
        d.src = {ntohl(src.sin_addr.s_addr), ntohs(src.sin_port)};
        bool have_dst = false;
        for (cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
            if (c->cmsg_level == SOL_IP && c->cmsg_type == IP_ORIGDSTADDR) {
                sockaddr_in dst{};
                std::memcpy(&dst, CMSG_DATA(c), sizeof(dst));
                d.dst = {ntohl(dst.sin_addr.s_addr), ntohs(dst.sin_port)};
                have_dst = true;
            }
        }
        if (!have_dst || (mh.msg_flags & MSG_TRUNC)) {
            drop(d, "no original destination or truncated");
            return true;
        }
        if (in_lan(net_, d.src.ip))
            d.dir = Dir::Out;
        else if (d.dst.ip == net_.public_ip)
            d.dir = Dir::In;
        else {
            drop(d, "neither from the LAN nor to the public address");
            return true;
        }
        d.payload.assign(buf.begin(), buf.begin() + len);
        handle(d);
        return true;
    }

    void handle(const Datagram &d) {
        const Outcome r = process(d, net_, state_);
        if (!outcome_sendable(r.verdict)) {
            count(outcome_counter(r.verdict));
            log(d, "dropped: " + r.why);
            return;
        }
        std::string err;
        if (!send_from(r.from, r.to, r.payload, &err)) {
            drop(d, "send " + str(r.from) + " -> " + str(r.to) + " failed: " + err);
            return;
        }
        count(SIPALG_CTR_DAEMON_HANDLED);
        if (o_.verbose)
            log(d, std::string(r.verdict == Verdict::Rewritten ? "rewritten" : "unchanged") +
                           ", sent " + str(r.from) + " -> " + str(r.to) + " (" +
                           std::to_string(r.payload.size()) + " bytes)");
    }

    void drop(const Datagram &d, const std::string &why) {
        count(SIPALG_CTR_DAEMON_DROPPED);
        log(d, "dropped: " + why);
    }

    void log(const Datagram &d, const std::string &what) {
        std::cerr << "sipalg daemon: " << str(d.src) << " -> " << str(d.dst) << " ("
                  << d.payload.size() << " bytes): " << what << "\n";
    }

    const DaemonOptions &o_;
    std::string dir_;
    std::uint32_t admin_id_ = 0;
    InstanceMaps maps_;
    UniqueFd admin_;
    MapSlowState state_;
    Steering steering_;
    Net net_;
    TcpBindings tcp_bindings_;
    TcpProxy tcp_;
    std::optional<WanFollower> wan_;
    std::optional<WanWatch> watch_; // the WAN failover policy
};

} // namespace

int run_daemon(const DaemonOptions &o) {
    require_privileges();
    const std::string root = resolve_pin_root(o.target.pin_root);
    require_bpffs(root);
    Daemon d(o, instance_dir(root, o.target.ifname));
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
    return d.run();
}

} // namespace sipalg::slow
