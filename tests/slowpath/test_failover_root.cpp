// The daemon's WAN failover parts against a real kernel, in a private network namespace
// (tests/common/testnet.hpp): the link and route signals it reads, and the nftables table the
// redirect installs and removes. Root; no BPF. The whole policy end to end is N16 (e2e).
#include "slow/failover.hpp"
#include "slow/wan_watch.hpp"
#include "testnet.hpp"

#include "attach/run_cmd.hpp"

#include <net/if.h>
#include <unistd.h>

#include <gtest/gtest.h>

using namespace sipalg;
using namespace sipalg::slow;
namespace net = sipalg::test::net;

namespace {

class FailoverRoot : public ::testing::Test {
  protected:
    void SetUp() override {
        if (geteuid() != 0)
            GTEST_SKIP() << "needs root (a network namespace, nftables)";
        wan_ = net::enter().wan_ifindex;
    }
    static void sh(const std::string &cmd) { net::detail::sh(cmd); }
    unsigned int wan_ = 0;
};

TEST_F(FailoverRoot, LinkAndRoutesAsTheKernelHasThem) {
    const std::uint32_t on_link = *parse_ipv4("203.0.113.10");
    const std::uint32_t far = *parse_ipv4("198.51.100.7");
    EXPECT_TRUE(link_running("wan0"));
    EXPECT_EQ(route_oif(on_link), wan_);
    EXPECT_EQ(route_oif(far), wan_); // the default route
    EXPECT_EQ(route_oif(*parse_ipv4("192.168.1.10")), ::if_nametoindex("lan0"));
    EXPECT_FALSE(link_running("no-such-if"));

    sh("ip link set wan0 down"); // the kernel drops the routes through it
    EXPECT_FALSE(link_running("wan0"));
    EXPECT_EQ(route_oif(on_link), 0u);
    EXPECT_EQ(route_oif(far), 0u);

    sh("ip link set wan0 up");
    sh("ip route replace default via 203.0.113.2 dev wan0");
    EXPECT_TRUE(link_running("wan0"));
    EXPECT_EQ(route_oif(far), wan_);
    sh("ip route add blackhole 198.51.100.0/24");
    EXPECT_EQ(route_oif(far), 0u); // not a unicast route out of the WAN
    sh("ip route del blackhole 198.51.100.0/24");
}

TEST_F(FailoverRoot, TheRedirectTableIsInstalledAndRemoved) {
    RedirectPlan p;
    p.server_ip = *parse_ipv4("192.168.1.5");
    p.server_port = 5060;
    p.lan = {*parse_prefix("192.168.1.0/24")};
    p.sip_ports = {5060};
    std::string listing;
    {
        FailoverRedirect r("wan0");
        std::string why;
        ASSERT_TRUE(r.install(p, &why)) << why;
        EXPECT_TRUE(r.installed());
        ASSERT_EQ(run_cmd({"nft", "list", "table", "ip", "sipalg_failover_wan0"}, &listing), 0);
        EXPECT_NE(listing.find("dnat to 192.168.1.5:5060"), std::string::npos) << listing;
        EXPECT_NE(listing.find("masquerade"), std::string::npos) << listing;
        EXPECT_EQ(r.packets(), 0u);
        r.remove();
        EXPECT_FALSE(r.installed());
        EXPECT_NE(run_cmd({"nft", "list", "table", "ip", "sipalg_failover_wan0"}), 0);
        ASSERT_TRUE(r.install(p, &why)) << why;
    } // the destructor removes it too (a daemon that stops)
    EXPECT_NE(run_cmd({"nft", "list", "table", "ip", "sipalg_failover_wan0"}), 0);
}

} // namespace
