// The daemon's TCP proxy with real sockets and its real steering, in the test's private network
// namespace (tests/common/testnet.hpp). Every "host" is an address on the namespace's loopback,
// so no packet leaves it.
#pragma once

#include "pinned_daemon.hpp"
#include "slow/steering.hpp"
#include "slow/tcp_bindings.hpp"
#include "slow/tcp_proxy.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace sipalg::test {

// The command's exit status, its output discarded.
inline int sh(const std::string &cmd) {
    return std::system(("PATH=$PATH:/usr/sbin:/sbin " + cmd + " >/dev/null 2>&1").c_str());
}

inline sockaddr_in sa(const char *ip, std::uint16_t port) {
    sockaddr_in s{};
    s.sin_family = AF_INET;
    s.sin_addr.s_addr = htonl(h(ip));
    s.sin_port = htons(port);
    return s;
}

// A TCP socket bound to ip:port (port 0: any), SO_REUSEADDR as the proxy's own. A blocking
// receive on it gives up after 2 s, so a connection nobody answers cannot hang the test.
inline sipalg::UniqueFd bound(const char *ip, std::uint16_t port) {
    sipalg::UniqueFd fd(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    const int one = 1;
    setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    const sockaddr_in a = sa(ip, port);
    EXPECT_EQ(bind(fd.get(), reinterpret_cast<const sockaddr *>(&a), sizeof(a)), 0) << ip;
    const timeval tv{2, 0};
    setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    return fd;
}

// 0, or why the connect failed (errno).
inline int connect_to(int fd, const char *ip, std::uint16_t port) {
    const sockaddr_in a = sa(ip, port);
    return connect(fd, reinterpret_cast<const sockaddr *>(&a), sizeof(a)) == 0 ? 0 : errno;
}

// Where one binary's proxy lives: its pin tag, the loopback addresses of its hosts, and the
// steering's firewall mark, route table and listening port.
struct ProxySite {
    const char *tag;
    std::vector<const char *> hosts;
    std::uint32_t mark;
    std::uint32_t table;
    std::uint16_t listen;
};

// The hosts' addresses, the steering installed for the public address and the TCP bindings
// steering their ports; each test starts the proxy it needs.
class TcpProxyTest : public PinnedDaemon {
  protected:
    explicit TcpProxyTest(ProxySite site) : PinnedDaemon(site.tag), site_(std::move(site)) {}

    void SetUp() override {
        PinnedDaemon::SetUp();
        ASSERT_FALSE(HasFatalFailure());
        for (const char *ip : site_.hosts)
            ASSERT_EQ(sh(std::string("ip addr add ") + ip + "/32 dev lo"), 0) << ip;
        steering_ = std::make_unique<slow::Steering>("test", site_.mark, site_.table, site_.listen);
        steering_->install(h(kPub));
        bindings_ = std::make_unique<slow::TcpBindings>([this](std::uint16_t port, bool on) {
            EXPECT_TRUE(steering_->tcp_binding(port, on));
        });
    }
    void TearDown() override {
        proxy_.reset();
        bindings_.reset();
        steering_.reset(); // removes the table, the rule and the route
        for (const char *ip : site_.hosts)
            sh(std::string("ip addr del ") + ip + "/32 dev lo");
        PinnedDaemon::TearDown();
    }

    void start_proxy(slow::TcpProxy::Report report, slow::TcpLimits limits = {}) {
        proxy_ = std::make_unique<slow::TcpProxy>(net_, pinned_.state(), *bindings_,
                                                  std::move(report), limits);
        proxy_->listen(site_.listen);
    }
    // The daemon's loop for the proxy, timeouts included, until `done` (at most `secs`).
    void pump(const std::function<bool()> &done, int secs = 2) {
        const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(secs);
        while (!done() && std::chrono::steady_clock::now() < end) {
            std::vector<pollfd> fds;
            proxy_->fill(fds);
            if (poll(fds.data(), fds.size(), 20) > 0)
                proxy_->serve(fds, 0);
            proxy_->expire(std::chrono::steady_clock::now());
        }
    }
    // What `fd` receives, the proxy's loop running, until it holds `size` bytes (at most 2 s).
    std::string receive(int fd, std::size_t size) {
        std::string got;
        pump([&] {
            char buf[4096];
            const ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
            if (n > 0)
                got.append(buf, static_cast<std::size_t>(n));
            return got.size() >= size;
        });
        return got;
    }

    std::unique_ptr<slow::Steering> steering_;
    std::unique_ptr<slow::TcpBindings> bindings_;
    std::unique_ptr<slow::TcpProxy> proxy_;

  private:
    ProxySite site_;
};

} // namespace sipalg::test
