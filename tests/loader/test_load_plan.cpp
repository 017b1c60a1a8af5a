// The load's plan step (instance/load_plan.hpp) on facts written out here: what a load decides
// from its settings and the router's addresses and routes, and what it refuses, all before
// anything is touched. No root, no kernel.
#include "cli/error.hpp"
#include "instance/load_plan.hpp"
#include "router_view.hpp"

#include <arpa/inet.h>

#include <gtest/gtest.h>

#include <map>

using namespace sipalg;

namespace {

// The e2e router: wan0 203.0.113.1/24 with the default route, br-lan 192.168.10.1/24 and a
// second LAN subnet routed through it, a spare interface without an address.
LoadFacts router_facts() {
    LoadFacts f;
    f.view = router_view();
    const std::map<std::string, unsigned int> links = {
            {"lo", 1}, {"wan0", 7}, {"br-lan", 9}, {"spare0", 12}};
    f.ifindex_of = [links](const std::string &name) {
        const auto it = links.find(name);
        return it == links.end() ? 0u : it->second;
    };
    return f;
}

std::string refusal(const std::string &wan, const AlgSettings &s) {
    try {
        plan_load(wan, s, router_facts());
    } catch (const UserError &e) {
        return e.what();
    }
    return "";
}

TEST(LoadPlan, DefaultsComeFromTheRouter) {
    const LoadPlan p = plan_load("wan0", {}, router_facts());
    EXPECT_EQ(p.wan_ifindex, 7u);
    EXPECT_EQ(p.public_ip, 0xcb007101u);
    EXPECT_TRUE(p.follow_wan_address);
    ASSERT_EQ(p.lan.size(), 1u);
    EXPECT_EQ(p.lan[0].name, "br-lan");
    EXPECT_EQ(p.lan[0].ifindex, 9u);
    ASSERT_EQ(p.lan_prefixes.size(), 2u);
    EXPECT_EQ(p.lan_prefixes[0], (Prefix{0xc0a80a00, 24}));
    EXPECT_EQ(p.lan_prefixes[1], (Prefix{0xc0a81400, 24}));
    EXPECT_TRUE(p.lan_xdp);
    // The maps' values: the ALG off, the discovered sides, the settings' defaults.
    EXPECT_EQ(p.cfg.enabled, 0u);
    EXPECT_EQ(p.cfg.public_ip, htonl(0xcb007101u));
    EXPECT_EQ(p.cfg.wan_ifindex, 7u);
    EXPECT_EQ(p.cfg.lan_net[0], htonl(0xc0a80a00u));
    EXPECT_EQ(p.cfg.lan_plen[0], 24);
    EXPECT_EQ(p.cfg.lan_plen[2], 0);
    EXPECT_EQ(p.cfg.sip_port[0], 5060);
    EXPECT_EQ(p.cfg.xdp_flags, 0u); // set by apply, once it knows where the LAN XDP program runs
    EXPECT_EQ(p.limits.dlg_max_phone, 64u);
    EXPECT_EQ(p.limits.register_rate, 20u);
}

TEST(LoadPlan, GivenSettingsWin) {
    AlgSettings s;
    s.public_ip = "198.51.100.7";
    s.lan_ifaces = {"spare0"};
    s.lan_prefixes = {"192.168.50.0/24"};
    s.lan_xdp = false;
    const LoadPlan p = plan_load("wan0", s, router_facts());
    EXPECT_EQ(p.public_ip, 0xc6336407u);
    EXPECT_FALSE(p.follow_wan_address);
    EXPECT_EQ(p.cfg.public_ip, htonl(0xc6336407u));
    ASSERT_EQ(p.lan.size(), 1u);
    EXPECT_EQ(p.lan[0].name, "spare0");
    EXPECT_EQ(p.lan[0].ifindex, 12u);
    ASSERT_EQ(p.lan_prefixes.size(), 1u);
    EXPECT_EQ(p.lan_prefixes[0], (Prefix{0xc0a83200, 24}));
    EXPECT_FALSE(p.lan_xdp);
}

TEST(LoadPlan, RefusalsSayWhatToWrite) {
    EXPECT_NE(refusal("wan9", {}).find("no such interface 'wan9'"), std::string::npos);
    AlgSettings s;
    s.public_ip = "203.0.113";
    EXPECT_NE(refusal("wan0", s).find("e.g. --public-ip 203.0.113.1"), std::string::npos);
    s = {};
    s.lan_ifaces = {"nope0"};
    s.lan_prefixes = {"192.168.50.0/24"};
    EXPECT_NE(refusal("wan0", s).find("no such interface 'nope0'"), std::string::npos);
    s = {};
    s.lan_prefixes = {"192.168.1.0/33"};
    EXPECT_NE(refusal("wan0", s).find("--lan-prefix"), std::string::npos);
    s = {};
    s.port_range = "2000-1000";
    EXPECT_NE(refusal("wan0", s).find("--port-range"), std::string::npos);
    // The WAN with no address and no --public-ip: nothing to translate to.
    EXPECT_NE(refusal("spare0", {}), "");
}

} // namespace

namespace {

// The WAN failover's server goes into the limits map, and only an address of the LAN side the
// plan found (here also the second, routed LAN subnet) is taken.
TEST(LoadPlan, FailoverServerOnTheLanGoesIntoTheLimits) {
    AlgSettings s;
    EXPECT_EQ(plan_load("wan0", s, router_facts()).limits.failover_ip, 0u);
    EXPECT_EQ(plan_load("wan0", s, router_facts()).limits.failover_after_s, 30);
    s.failover_server = "192.168.20.5:5080";
    s.failover_after_s = 12;
    const LoadPlan p = plan_load("wan0", s, router_facts());
    EXPECT_EQ(p.limits.failover_ip, htonl(0xc0a81405u));
    EXPECT_EQ(p.limits.failover_port, 5080);
    EXPECT_EQ(p.limits.failover_after_s, 12);
    EXPECT_EQ(p.limits.policy & SIPALG_POLICY_FAILOVER, 0u); // the policy stays off

    s.failover_server = "203.0.113.10";
    EXPECT_NE(refusal("wan0", s).find("--failover-server 203.0.113.10 is not in a LAN prefix "
                                      "(192.168.10.0/24, 192.168.20.0/24)"),
              std::string::npos)
            << refusal("wan0", s);
    s.failover_server = "192.168.10.5";
    s.failover_after_s = 2;
    EXPECT_NE(refusal("wan0", s).find("--failover-after"), std::string::npos);
}

} // namespace
