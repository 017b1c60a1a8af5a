// The daemon's TCP proxy with real sockets and its real steering, in the test's private network
// namespace (tests/common/testnet.hpp): a registrar's new connection to a binding registered
// over TCP is tproxied to the proxy, which connects to the phone from the registrar's address;
// anyone else is reset and counted; a port that is not a TCP binding is not steered at all.
// Every "host" is an address on the namespace's loopback, so no packet leaves it.
#include "tcp_proxy_fixture.hpp"

#include <fcntl.h>

#include <cstdlib>
#include <string>

using namespace sipalg::test;
using namespace sipalg::slow;

namespace {

constexpr const char *kPhone = "192.168.1.50";  // the phone's SIP socket listens here
constexpr const char *kReg = "198.51.100.77";   // the registrar
constexpr const char *kOther = "198.51.100.78"; // someone else on the Internet
constexpr std::uint16_t kPhonePort = 5070, kListen = 15097;

std::string invite_to(const std::string &contact) {
    return tcp_invite_from(contact, kReg, "z9hG4bK-n1", "tcp-new", 1);
}

std::string ringing(const std::string &contact) {
    return with_length("SIP/2.0 180 Ringing\r\nVia: SIP/2.0/TCP 198.51.100.77;branch=z9hG4bK-n1"
                       "\r\nFrom: <sip:2001@198.51.100.77>;tag=c\r\nTo: <sip:1001@198.51.100.77>"
                       ";tag=p\r\nCall-ID: tcp-new\r\nCSeq: 1 INVITE\r\nContact: <sip:1001@" +
                               contact + ";transport=tcp>\r\n",
                       "");
}

class SlowTcpInbound : public TcpProxyTest {
  protected:
    SlowTcpInbound() : TcpProxyTest({"tcpin", {kPhone, kReg, kOther}, 0x51a7, 0x51b, kListen}) {}
    void SetUp() override {
        TcpProxyTest::SetUp();
        ASSERT_FALSE(HasFatalFailure());
        start_proxy([this](std::optional<sipalg_counter> c, const std::string &line) {
            if (c && *c == SIPALG_CTR_TCP_REFUSED)
                dropped_.push_back(line);
        });
    }

    std::vector<std::string> dropped_;
};

TEST_F(SlowTcpInbound, TheRegistrarReachesThePhoneAndNobodyElseDoes) {
    const std::uint16_t pub_port = pinned_.state().binding_touch({h(kPhone), kPhonePort}, true);
    ASSERT_NE(pub_port, 0);
    sipalg::UniqueFd phone = bound(kPhone, kPhonePort);
    ASSERT_EQ(listen(phone.get(), 4), 0);
    fcntl(phone.get(), F_SETFL, O_NONBLOCK);

    // Not registered over TCP (yet): not steered, so the router itself refuses it.
    sipalg::UniqueFd early = bound(kReg, 0);
    EXPECT_EQ(connect_to(early.get(), kPub, pub_port), ECONNREFUSED);

    bindings_->confirm(pub_port, {h(kPhone), kPhonePort}, {h(kReg), 5060});

    // Someone else: taken by the proxy only to be reset, and counted.
    sipalg::UniqueFd other = bound(kOther, 0);
    ASSERT_EQ(connect_to(other.get(), kPub, pub_port), 0);
    pump([&] { return !dropped_.empty(); });
    ASSERT_EQ(dropped_.size(), 1u);
    char c;
    EXPECT_EQ(recv(other.get(), &c, 1, 0), -1);
    EXPECT_EQ(errno, ECONNRESET);
    EXPECT_EQ(accept(phone.get(), nullptr, nullptr), -1) << "the phone saw the stranger";

    // The registrar, from any port: the phone gets a connection from exactly that address.
    sipalg::UniqueFd reg = bound(kReg, 0);
    sockaddr_in reg_addr{};
    socklen_t len = sizeof(reg_addr);
    ASSERT_EQ(connect_to(reg.get(), kPub, pub_port), 0);
    getsockname(reg.get(), reinterpret_cast<sockaddr *>(&reg_addr), &len);
    sipalg::UniqueFd at_phone;
    sockaddr_in seen{};
    pump([&] {
        socklen_t l = sizeof(seen);
        at_phone = sipalg::UniqueFd(accept(phone.get(), reinterpret_cast<sockaddr *>(&seen), &l));
        return at_phone.valid();
    });
    ASSERT_TRUE(at_phone.valid()) << "the registrar's connection never reached the phone";
    EXPECT_EQ(seen.sin_addr.s_addr, reg_addr.sin_addr.s_addr);
    EXPECT_EQ(seen.sin_port, reg_addr.sin_port);
    const timeval tv{2, 0};
    setsockopt(at_phone.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));

    // Both directions rewritten as on the phone's own connection.
    const std::string pub = std::string(kPub) + ":" + std::to_string(pub_port);
    const std::string priv = std::string(kPhone) + ":" + std::to_string(kPhonePort);
    const std::string inv = invite_to(pub), want_inv = invite_to(priv);
    ASSERT_EQ(send(reg.get(), inv.data(), inv.size(), 0), static_cast<ssize_t>(inv.size()));
    EXPECT_EQ(receive(at_phone.get(), want_inv.size()), want_inv);
    const std::string ans = ringing(priv), want_ans = ringing(pub);
    ASSERT_EQ(send(at_phone.get(), ans.data(), ans.size(), 0), static_cast<ssize_t>(ans.size()));
    EXPECT_EQ(receive(reg.get(), want_ans.size()), want_ans);
    EXPECT_EQ(dropped_.size(), 1u);

    const std::string in_set = "PATH=$PATH:/usr/sbin:/sbin nft list set ip sipalg_slow_test "
                               "tcp_bindings | grep -qw " +
                               std::to_string(pub_port);
    EXPECT_EQ(std::system(in_set.c_str()), 0);

    // The binding goes: so does the steering, and the router refuses again.
    bindings_->clear();
    EXPECT_NE(std::system(in_set.c_str()), 0);
    sipalg::UniqueFd late = bound(kReg, 0);
    EXPECT_EQ(connect_to(late.get(), kPub, pub_port), ECONNREFUSED);
    // The daemon's exit leaves no table behind.
    steering_->remove();
    EXPECT_NE(std::system("PATH=$PATH:/usr/sbin:/sbin nft list table ip sipalg_slow_test "
                          ">/dev/null 2>&1"),
              0);
}

} // namespace
