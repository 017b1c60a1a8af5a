// The TCP proxy's limits with real sockets, in the test's private network namespace: a source
// over its cap is reset while its other connections carry on, a direction holding more than
// the buffer is closed, and so are a connect the far side never answers and a connection that
// never sends a message. Each outcome is reported with its own counter. The connections are a
// registrar's new connections to a binding registered over TCP (the path a WAN host has into
// the proxy); every "host" is an address on the namespace's loopback.
#include "tcp_proxy_fixture.hpp"

#include <fcntl.h>

#include <algorithm>
#include <chrono>
#include <string>

using namespace sipalg::test;
using namespace sipalg::slow;

namespace {

constexpr const char *kPhone = "192.168.1.60";
constexpr const char *kReg = "198.51.100.80";
constexpr std::uint16_t kPhonePort = 5070, kListen = 15098;

// Whether the peer reset `fd` (a non-blocking look).
bool was_reset(int fd) {
    char c;
    return recv(fd, &c, 1, MSG_DONTWAIT) < 0 && errno == ECONNRESET;
}

class SlowTcpLimits : public TcpProxyTest {
  protected:
    SlowTcpLimits() : TcpProxyTest({"tcplim", {kPhone, kReg}, 0x51a8, 0x51c, kListen}) {}
    void SetUp() override {
        TcpProxyTest::SetUp();
        ASSERT_FALSE(HasFatalFailure());
        pub_port_ = pinned_.state().binding_touch({h(kPhone), kPhonePort}, true);
        ASSERT_NE(pub_port_, 0);
        bindings_->confirm(pub_port_, {h(kPhone), kPhonePort}, {h(kReg), 5060});
    }
    void TearDown() override {
        sh("nft delete table ip sipalg_limits_test");
        TcpProxyTest::TearDown();
    }
    // The proxy with these limits: 2 connections per source, 8192 bytes per direction.
    void start(std::chrono::seconds handshake) {
        TcpLimits l;
        l.max_conns_per_source = 2;
        l.buffer = 8192;
        l.handshake = handshake;
        start_proxy(
                [this](std::optional<sipalg_counter> c, const std::string &) {
                    if (c && *c != SIPALG_CTR_DAEMON_HANDLED)
                        counted_.push_back(*c);
                },
                l);
    }
    std::size_t count(sipalg_counter c) const {
        return static_cast<std::size_t>(std::count(counted_.begin(), counted_.end(), c));
    }
    sipalg::UniqueFd phone_listener() {
        sipalg::UniqueFd fd = bound(kPhone, kPhonePort);
        EXPECT_EQ(listen(fd.get(), 8), 0);
        fcntl(fd.get(), F_SETFL, O_NONBLOCK);
        return fd;
    }
    // A registrar's connection to the binding, connected (the proxy has not seen it yet).
    sipalg::UniqueFd from_registrar() {
        sipalg::UniqueFd fd = bound(kReg, 0);
        EXPECT_EQ(connect_to(fd.get(), kPub, pub_port_), 0);
        return fd;
    }
    // Whether `fd` is reset within a second, the proxy's loop running (the error is reported
    // once, so it is remembered here).
    bool reset_soon(int fd) {
        bool reset = false;
        pump([&] { return reset = reset || was_reset(fd); }, 1);
        return reset;
    }
    // The proxy's connection to the phone, once it arrives.
    sipalg::UniqueFd at_phone(int listener) {
        sipalg::UniqueFd got;
        pump([&] {
            got = sipalg::UniqueFd(accept(listener, nullptr, nullptr));
            return got.valid();
        });
        return got;
    }

    std::vector<sipalg_counter> counted_;
    std::uint16_t pub_port_ = 0;
};

TEST_F(SlowTcpLimits, ASourceOverItsCapIsResetAndItsOtherConnectionsCarryOn) {
    start(std::chrono::seconds(30));
    sipalg::UniqueFd phone = phone_listener();
    sipalg::UniqueFd a = from_registrar();
    sipalg::UniqueFd pa = at_phone(phone.get());
    sipalg::UniqueFd b = from_registrar();
    sipalg::UniqueFd pb = at_phone(phone.get());
    ASSERT_TRUE(pa.valid() && pb.valid());
    EXPECT_EQ(proxy_->connections(), 2u);

    sipalg::UniqueFd c = from_registrar();
    pump([&] { return count(SIPALG_CTR_TCP_LIMIT_SOURCE) > 0; });
    EXPECT_EQ(count(SIPALG_CTR_TCP_LIMIT_SOURCE), 1u);
    EXPECT_TRUE(reset_soon(c.get()));
    EXPECT_EQ(accept(phone.get(), nullptr, nullptr), -1) << "the third reached the phone";
    EXPECT_EQ(proxy_->connections(), 2u);

    // The first still carries what it is sent (a keepalive: passed whatever the signalling
    // rules say of the registrar).
    const std::string ping = "\r\n\r\n";
    ASSERT_EQ(send(a.get(), ping.data(), ping.size(), 0), static_cast<ssize_t>(ping.size()));
    EXPECT_EQ(receive(pa.get(), ping.size()), ping);

    // One closes (both ends): its slot is free again.
    b.reset();
    pb.reset();
    pump([&] { return proxy_->connections() == 1; });
    ASSERT_EQ(proxy_->connections(), 1u);
    sipalg::UniqueFd d = from_registrar();
    EXPECT_TRUE(at_phone(phone.get()).valid());
    EXPECT_EQ(count(SIPALG_CTR_TCP_LIMIT_SOURCE), 1u);
}

TEST_F(SlowTcpLimits, MoreThanTheBufferHeldForOneDirectionClosesTheConnection) {
    start(std::chrono::seconds(30));
    sipalg::UniqueFd phone = phone_listener();
    sipalg::UniqueFd a = from_registrar();
    sipalg::UniqueFd pa = at_phone(phone.get());
    ASSERT_TRUE(pa.valid());
    // Headers that never end, past the 8192-byte buffer (and below the framer's 32 KiB).
    const std::string big = "INVITE sip:1001@x SIP/2.0\r\nX-Pad: " + std::string(10000, 'p');
    ASSERT_EQ(send(a.get(), big.data(), big.size(), 0), static_cast<ssize_t>(big.size()));
    pump([&] { return count(SIPALG_CTR_TCP_OVERFLOW) > 0; });
    EXPECT_EQ(count(SIPALG_CTR_TCP_OVERFLOW), 1u);
    EXPECT_EQ(proxy_->connections(), 0u);
    EXPECT_TRUE(reset_soon(a.get()));
}

TEST_F(SlowTcpLimits, ASilentConnectionAndAConnectNobodyAnswersAreClosedInTime) {
    start(std::chrono::seconds(1));
    sipalg::UniqueFd phone = phone_listener();
    // Silent: connected both ways, no message ever.
    sipalg::UniqueFd a = from_registrar();
    sipalg::UniqueFd pa = at_phone(phone.get());
    ASSERT_TRUE(pa.valid());
    const auto t0 = std::chrono::steady_clock::now();
    pump([&] { return count(SIPALG_CTR_TCP_TIMEOUT_MSG) > 0; }, 3);
    const auto took = std::chrono::steady_clock::now() - t0;
    EXPECT_EQ(count(SIPALG_CTR_TCP_TIMEOUT_MSG), 1u);
    EXPECT_GE(took, std::chrono::milliseconds(900));
    EXPECT_LE(took, std::chrono::milliseconds(1600));
    EXPECT_TRUE(reset_soon(a.get()));

    // The phone's SYNs are lost: the proxy's connect to it never completes.
    ASSERT_EQ(sh("nft add table ip sipalg_limits_test"), 0);
    ASSERT_EQ(sh("nft 'add chain ip sipalg_limits_test out { type filter hook output priority 0; "
                 "}'"),
              0);
    ASSERT_EQ(sh("nft add rule ip sipalg_limits_test out ip daddr " + std::string(kPhone) +
                 " tcp dport " + std::to_string(kPhonePort) + " tcp flags syn drop"),
              0);
    sipalg::UniqueFd b = from_registrar();
    pump([&] { return count(SIPALG_CTR_TCP_TIMEOUT_CONNECT) > 0; }, 3);
    EXPECT_EQ(count(SIPALG_CTR_TCP_TIMEOUT_CONNECT), 1u);
    EXPECT_EQ(proxy_->connections(), 0u);
    EXPECT_TRUE(reset_soon(b.get()));
    EXPECT_EQ(count(SIPALG_CTR_TCP_TIMEOUT_MSG), 1u);
}

} // namespace
