// Host-only tests of the loader's pure parts added with the datapath: discovery of the LAN side
// and the public address, config validation, endpoint parsing, status rendering of the new
// fields. No root, no kernel.
#include "config.hpp"
#include "discover.hpp"
#include "entries.hpp"
#include "error.hpp"
#include "status_render.hpp"

#include <arpa/inet.h>

#include <gtest/gtest.h>

#include <sstream>

using namespace sipalg;

namespace {

Prefix P(const char *s) {
    return *parse_prefix(s);
}

NetView router_view() {
    // The e2e router: br-lan 192.168.10.1/24, wan0 203.0.113.1/24, bridge ports without
    // addresses, a second LAN subnet routed through br-lan.
    NetView v;
    v.addrs = {{"lo", 0x7f000001, 8, true, true},
               {"br-lan", 0xc0a80a01, 24, true, false},
               {"wan0", 0xcb007101, 24, true, false}};
    std::istringstream routes(
            "Iface\tDestination\tGateway\tFlags\tRefCnt\tUse\tMetric\tMask\tMTU\tWindow\tIRTT\n"
            "wan0\t00000000\t027100CB\t0003\t0\t0\t0\t00000000\t0\t0\t0\n"
            "wan0\t007100CB\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n"
            "br-lan\t000AA8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n"
            "br-lan\t0014A8C0\t FE0AA8C0\t0003\t0\t0\t0\t00FFFFFF\t0\t0\t0\n");
    v.routes = parse_proc_net_route(routes);
    return v;
}

TEST(Discover, PrefixParsing) {
    EXPECT_EQ(P("192.168.1.77/24"), (Prefix{0xc0a80100, 24}));
    EXPECT_EQ(P("10.0.0.0/8"), (Prefix{0x0a000000, 8}));
    for (const char *bad :
         {"192.168.1.0", "192.168.1.0/33", "192.168.1/24", "x/8", "1.2.3.4/", "1.2.3.4/2a"})
        EXPECT_FALSE(parse_prefix(bad)) << bad;
    EXPECT_TRUE(prefix_contains(P("192.168.0.0/16"), P("192.168.10.0/24")));
    EXPECT_FALSE(prefix_contains(P("192.168.10.0/24"), P("192.168.0.0/16")));
    EXPECT_EQ(format_prefix(P("192.168.10.9/24")), "192.168.10.0/24");
}

TEST(Discover, ProcNetRouteIsParsed) {
    const NetView v = router_view();
    ASSERT_EQ(v.routes.size(), 4u);
    EXPECT_EQ(v.routes[0].ifname, "wan0");
    EXPECT_EQ(v.routes[0].dst, (Prefix{0, 0}));
    EXPECT_EQ(v.routes[0].gateway, 0xcb007102u);
    EXPECT_EQ(v.routes[2].dst, P("192.168.10.0/24"));
    EXPECT_TRUE(v.routes[2].up);
}

TEST(Discover, LanFromPrivateAddressesAndRoutes) {
    const LanSide lan = decide_lan("wan0", {}, {}, router_view());
    EXPECT_EQ(lan.ifaces, std::vector<std::string>{"br-lan"});
    EXPECT_EQ(lan.prefixes, (std::vector<Prefix>{P("192.168.10.0/24"), P("192.168.20.0/24")}));
}

TEST(Discover, LanFromGivenPrefixesFollowsRoutes) {
    const LanSide lan = decide_lan("wan0", {}, {P("192.168.20.0/24")}, router_view());
    EXPECT_EQ(lan.ifaces, std::vector<std::string>{"br-lan"});
    EXPECT_EQ(lan.prefixes, std::vector<Prefix>{P("192.168.20.0/24")});
    // A covering prefix counts once.
    const LanSide cover = decide_lan("wan0", {"br-lan"},
                                     {P("192.168.0.0/16"), P("192.168.10.0/24")}, router_view());
    EXPECT_EQ(cover.prefixes, std::vector<Prefix>{P("192.168.0.0/16")});
}

TEST(Discover, LanErrorsSayWhatToPass) {
    NetView wan_only;
    wan_only.addrs = {{"wan0", 0xcb007101, 24, true, false}};
    try {
        decide_lan("wan0", {}, {}, wan_only);
        FAIL() << "expected an error";
    } catch (const UserError &e) {
        EXPECT_NE(std::string(e.what()).find("--lan IF"), std::string::npos);
    }
    EXPECT_THROW(decide_lan("wan0", {"wan0"}, {}, router_view()), UserError);
    EXPECT_THROW(decide_lan("wan0", {}, {P("10.99.0.0/16")}, router_view()), UserError);
    EXPECT_THROW(decide_lan("wan0", {"br-lan"},
                            {P("10.1.0.0/16"), P("10.2.0.0/16"), P("10.3.0.0/16"), P("10.4.0.0/16"),
                             P("10.5.0.0/16")},
                            router_view()),
                 UserError);
}

TEST(Discover, PublicAddressIsTheWans) {
    EXPECT_EQ(decide_public_ip("wan0", router_view()), 0xcb007101u);
    EXPECT_THROW(decide_public_ip("wan1", router_view()), UserError);
}

TEST(Config, DefaultsAndLayout) {
    const sipalg_config c = make_config(AlgSettings{}, 0xcb007101, 7, {P("192.168.10.0/24")});
    EXPECT_EQ(c.enabled, 0u) << "load must leave the ALG disabled";
    EXPECT_EQ(c.public_ip, htonl(0xcb007101));
    EXPECT_EQ(c.wan_ifindex, 7u);
    EXPECT_EQ(c.sip_port[0], 5060);
    EXPECT_EQ(c.sip_port[1], 0);
    EXPECT_EQ(c.port_min, 1024);
    EXPECT_EQ(c.port_max, 65535);
    EXPECT_EQ(c.reg_lifetime_s, 3600u);
    EXPECT_EQ(c.bind_lifetime_s, 300u);
    EXPECT_EQ(c.pin_idle_s, 120u);
    EXPECT_EQ(c.lan_net[0], htonl(0xc0a80a00));
    EXPECT_EQ(c.lan_plen[0], 24);
    EXPECT_EQ(c.lan_plen[1], 0);
    EXPECT_EQ(config_prefixes(c), std::vector<Prefix>{P("192.168.10.0/24")});
}

TEST(Config, ValidationRefusesNonsense) {
    const std::vector<Prefix> lan{P("192.168.10.0/24")};
    AlgSettings s;
    s.port_range = "2000-1000";
    EXPECT_THROW(make_config(s, 0xcb007101, 7, lan), UserError);
    s = {};
    s.sip_ports = {5060, 5070, 5080};
    EXPECT_THROW(make_config(s, 0xcb007101, 7, lan), UserError);
    s = {};
    s.pinhole_idle_s = 0;
    EXPECT_THROW(make_config(s, 0xcb007101, 7, lan), UserError);
    // The public address inside a LAN prefix would make the ALG NAT to a LAN address.
    EXPECT_THROW(make_config(AlgSettings{}, 0xc0a80a01, 7, lan), UserError);
    EXPECT_THROW(parse_prefixes({"192.168.1.0/24", "nonsense"}), UserError);
    EXPECT_EQ(parse_port_range("10000-20000"),
              (std::pair<std::uint16_t, std::uint16_t>{10000, 20000}));
    EXPECT_THROW(parse_port_range("0-10"), UserError);
    EXPECT_THROW(parse_port_range("10000"), UserError);
}

TEST(Entries, EndpointParsing) {
    const Endpoint e = parse_endpoint("192.168.1.10:40000", "--private");
    EXPECT_EQ(e.ip, 0xc0a8010au);
    EXPECT_EQ(e.port, 40000);
    EXPECT_EQ(parse_endpoint("198.51.100.20", "--remote", true).port, 0);
    EXPECT_THROW(parse_endpoint("198.51.100.20", "--private"), UserError);
    EXPECT_THROW(parse_endpoint("198.51.100.20:0", "--private"), UserError);
    EXPECT_THROW(parse_endpoint("198.51.100.20:70000", "--private"), UserError);
    EXPECT_THROW(parse_endpoint("0.0.0.0:5060", "--private"), UserError);
}

TEST(Entries, ListingsShowScopeAndAges) {
    EntryList l;
    l.ifname = "wan0";
    l.public_ip = 0xcb007101;
    l.now_s = 100;
    l.pin_idle_s = 120;
    NatEntry scoped;
    scoped.priv_ip = 0xc0a80a0b;
    scoped.priv_port = 40000;
    scoped.public_port = 40000;
    scoped.remote_ip = 0xc6336414;
    scoped.remote_port = 50000;
    scoped.stamp = 97;
    NatEntry pending = scoped;
    pending.public_port = 41000;
    pending.remote_ip = 0;
    l.entries = {scoped, pending};
    const std::string h = render_pinholes_human(l);
    EXPECT_NE(h.find("198.51.100.20:50000"), std::string::npos) << h;
    EXPECT_NE(h.find("(not known yet)"), std::string::npos) << h;
    const std::string j = render_pinholes_json(l);
    EXPECT_NE(j.find("\"remote\":\"198.51.100.20\",\"remote_port\":50000"), std::string::npos) << j;
    EXPECT_NE(j.find("\"idle_s\":3"), std::string::npos) << j;
    EXPECT_NE(j.find("\"remote\":null"), std::string::npos) << j;

    NatEntry b;
    b.priv_ip = 0xc0a80a0b;
    b.priv_port = 5060;
    b.public_port = 5060;
    b.stamp = 3700;
    b.lifetime_s = 3600;
    b.registered = true;
    l.entries = {b};
    const std::string bj = render_bindings_json(l);
    EXPECT_NE(bj.find("\"private\":\"192.168.10.11:5060\",\"public\":\"203.0.113.1:5060\""),
              std::string::npos)
            << bj;
    EXPECT_NE(bj.find("\"registered\":true,\"lifetime_s\":3600,\"expires_in_s\":3600"),
              std::string::npos)
            << bj;
}

TEST(StatusSummary, SlowPathSumsEveryReason) {
    CounterValues c{};
    c[SIPALG_CTR_SLOW_FRAGMENT] = 2;
    c[SIPALG_CTR_SLOW_TCP] = 3;
    c[SIPALG_CTR_SLOW_TOO_LARGE] = 4;
    c[SIPALG_CTR_SIP_OUT] = 5;
    c[SIPALG_CTR_MEDIA_IN] = 6;
    c[SIPALG_CTR_LAN_PASS] = 7;
    c[SIPALG_CTR_WAN_IN_PASS] = 1;
    const CounterSummary s = summarize(c);
    EXPECT_EQ(s.slow_path, 9u);
    EXPECT_EQ(s.forwarded, 11u);
    EXPECT_EQ(s.passed, 8u);
}

} // namespace
