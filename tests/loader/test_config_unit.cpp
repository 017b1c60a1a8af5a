// Host-only tests of the loader's pure parts added with the datapath: discovery of the LAN side
// and the public address, config validation, endpoint parsing, status rendering of the new
// fields. No root, no kernel.
#include "instance/config.hpp"
#include "instance/discover.hpp"
#include "state/entries.hpp"
#include "cli/error.hpp"
#include "cli/status_render.hpp"
#include "router_view.hpp"

#include <arpa/inet.h>

#include <gtest/gtest.h>

#include <cstring>
#include <initializer_list>
#include <sstream>

using namespace sipalg;

namespace {

Prefix P(const char *s) {
    return *parse_prefix(s);
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

// make_limits() refuses `bad`, saying each of `words` (the first names the option).
void expect_limits_refused(const AlgSettings &bad, std::initializer_list<const char *> words) {
    try {
        make_limits(bad);
        ADD_FAILURE() << *words.begin() << " accepted";
    } catch (const UserError &e) {
        for (const char *w : words)
            EXPECT_NE(std::string(e.what()).find(w), std::string::npos) << e.what();
    }
}

TEST(Config, DialogLimits) {
    const sipalg_limits d = make_limits(AlgSettings{});
    EXPECT_EQ(d.dlg_idle_s, 300u);
    EXPECT_EQ(d.dlg_max_phone, 64u);
    EXPECT_EQ(d.dlg_max_total, 16384u);
    for (unsigned r : d.reserved)
        EXPECT_EQ(r, 0u);

    AlgSettings s;
    s.dialog_idle_s = 10;
    s.max_dialogs_per_phone = 1;
    s.max_dialogs = SIPALG_DIALOGS_ENTRIES;
    const sipalg_limits edge = make_limits(s);
    EXPECT_EQ(edge.dlg_idle_s, 10u);
    EXPECT_EQ(edge.dlg_max_phone, 1u);
    EXPECT_EQ(edge.dlg_max_total, static_cast<unsigned>(SIPALG_DIALOGS_ENTRIES));

    const auto refused = [](const AlgSettings &bad, const char *opt) {
        expect_limits_refused(bad, {opt, "out of range; use"});
    };
    s = {};
    s.dialog_idle_s = 9;
    refused(s, "--dialog-idle 9");
    s.dialog_idle_s = 86401;
    refused(s, "--dialog-idle 86401");
    s = {};
    s.max_dialogs_per_phone = 0;
    refused(s, "--max-dialogs-per-phone 0");
    s = {};
    s.max_dialogs = 0;
    refused(s, "--max-dialogs 0");
    s.max_dialogs = SIPALG_DIALOGS_ENTRIES + 1;
    refused(s, "--max-dialogs 65537");
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

// A listing of wan0 (public 203.0.113.1) at ALG clock 100 s.
template <class List>
List wan0_listing() {
    List l;
    l.ifname = "wan0";
    l.public_ip = 0xcb007101;
    l.now_s = 100;
    return l;
}

// Its pinholes, closed after 120 s without media.
EntryList pinhole_listing() {
    EntryList l = wan0_listing<EntryList>();
    l.pin_idle_s = 120;
    return l;
}

// Phone 192.168.10.11's entry for `port` (public port the same), stamped `stamp`.
NatEntry phone_entry(std::uint16_t port, std::uint32_t stamp) {
    NatEntry e;
    e.priv_ip = 0xc0a80a0b;
    e.priv_port = port;
    e.public_port = port;
    e.stamp = stamp;
    return e;
}

TEST(Entries, ListingsShowScopeAndAges) {
    EntryList l = pinhole_listing();
    NatEntry scoped = phone_entry(40000, 97);
    scoped.remote_ip = 0xc6336414;
    scoped.remote_port = 50000;
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

    NatEntry b = phone_entry(5060, 3700);
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

TEST(Entries, PinholeListingShowsDialogRefs) {
    EntryList l = pinhole_listing();
    NatEntry e = phone_entry(40000, 90);
    e.remote_ip = 0xc6336414;
    e.refs = 2;
    l.entries = {e};
    EXPECT_EQ(render_pinholes_human(l),
              "wan0: 1 pinhole (those no dialog uses close after 120 s without media)\n"
              "PRIVATE                 PUBLIC                  REMOTE (only source in)   REFS  "
              "IDLE\n"
              "192.168.10.11:40000     203.0.113.1:40000       198.51.100.20:*           2     "
              "10s\n");
    const std::string j = render_pinholes_json(l);
    EXPECT_NE(j.find("\"owner_port\":0,\"refs\":2,\"call\":0"), std::string::npos) << j;
}

// Two dialogs as the BPF side stores them: an outbound confirmed call with an agreed audio and
// video exchange and a pending re-offer, and an inbound call still ringing whose binding is gone.
DialogList sample_dialogs() {
    DialogList l = wan0_listing<DialogList>();
    l.dlg_idle_s = 300;

    DialogEntry a;
    a.key.call = 0x0123456789abcdefull;
    a.key.bind_port = 5060;
    a.phone_port = 5062;
    a.d.priv_ip = htonl(0xc0a80a0b);
    a.d.created_s = 40;
    a.d.seen_s = 97;
    a.d.session_s = 1800;
    a.d.state = SIPALG_DLG_CONFIRMED;
    a.d.rtp[0] = 40000;
    a.d.rtcp[0] = 40001;
    a.d.rtp[1] = 40002;
    a.d.rtcp[1] = 40003;
    a.d.pend_rtp[1] = 40002; // kept by the re-offer: in use, not pending
    a.d.pend_rtp[2] = 40010; // a line the re-offer adds
    a.d.peer_ip[0] = htonl(0xc6336414);
    a.d.peer_ip[1] = htonl(0xc6336414);
    std::memcpy(a.d.callid, "a84b4c76e66710@pc33", SIPALG_CALLID_TEXT);

    DialogEntry b;
    b.key.call = 0xff;
    b.key.bind_port = 5070;
    b.d.priv_ip = htonl(0xc0a80a0c);
    b.d.created_s = 95;
    b.d.seen_s = 99;
    b.d.state = SIPALG_DLG_EARLY;
    b.d.flags = SIPALG_DLGF_INBOUND | SIPALG_DLGF_REMOTE_OFFER;
    const unsigned char id_b[] = {'a', 'b', 'c', 0x01, 'd'};
    std::memcpy(b.d.callid, id_b, sizeof(id_b));
    l.entries = {a, b};
    return l;
}

TEST(Entries, DialogListingText) {
    EXPECT_EQ(render_dialogs_human(sample_dialogs()),
              "wan0: 2 dialogs (ended after 300 s without SIP or media)\n"
              "CALL-ID              PHONE                  BINDING  DIR  REMOTE           AGE     "
              "SIP IDLE  STATE      OFFER         PINHOLES\n"
              "a84b4c76e66710@p...  192.168.10.11:5062     5060     out  198.51.100.20    60s     "
              "3s        confirmed  -             40000,40001,40002,40003,40010*\n"
              "abc?d                192.168.10.12:?        5070     in   -                5s      "
              "1s        early      remote offer  -\n"
              "* opened by the phone's offer, not answered yet\n");

    DialogList l = sample_dialogs();
    l.entries.resize(1);
    l.entries[0].d.state = 7;
    l.entries[0].d.flags = SIPALG_DLGF_LOCAL_OFFER | SIPALG_DLGF_REMOTE_OFFER;
    l.entries[0].d.peer_ip[2] = htonl(0xcb00710a);
    l.entries[0].d.pend_rtp[2] = 0;
    const std::string h = render_dialogs_human(l);
    EXPECT_NE(h.find("1 dialog (ended"), std::string::npos) << h;
    EXPECT_NE(h.find(" 198.51.100.20,203.0.113.10 60s"), std::string::npos) << h;
    EXPECT_NE(h.find(" state 7    local+remote  40000,40001,40002,40003\n"), std::string::npos)
            << h;
    EXPECT_EQ(h.find("* opened"), std::string::npos) << h;

    l.entries.clear();
    EXPECT_EQ(render_dialogs_human(l),
              "wan0: 0 dialogs (ended after 300 s without SIP or media)\n");
}

TEST(Entries, DialogListingJson) {
    EXPECT_EQ(render_dialogs_json(sample_dialogs()),
              R"({"interface":"wan0","public_ip":"203.0.113.1","clock_s":100,"dialog_idle_s":300,)"
              R"("dialogs":[)"
              R"({"call":"0123456789abcdef","call_id":"a84b4c76e66710@p","call_id_cut":true,)"
              R"("phone":"192.168.10.11","phone_port":5062,"bind_port":5060,)"
              R"("binding":"203.0.113.1:5060","inbound":false,"state":"confirmed",)"
              R"("local_offer":false,"remote_offer":false,"age_s":60,"idle_s":3,)"
              R"("session_expires_s":1800,"remotes":["198.51.100.20"],)"
              R"("pinholes":[40000,40001,40002,40003],"pending_pinholes":[40010],"lines":[)"
              R"({"line":0,"rtp":40000,"rtcp":40001,"pending_rtp":null,"pending_rtcp":null,)"
              R"("remote":"198.51.100.20"},)"
              R"({"line":1,"rtp":40002,"rtcp":40003,"pending_rtp":40002,"pending_rtcp":null,)"
              R"("remote":"198.51.100.20"},)"
              R"({"line":2,"rtp":null,"rtcp":null,"pending_rtp":40010,"pending_rtcp":null,)"
              R"("remote":null}]},)"
              R"({"call":"00000000000000ff","call_id":"abc?d","call_id_cut":false,)"
              R"("phone":"192.168.10.12","phone_port":null,"bind_port":5070,)"
              R"("binding":"203.0.113.1:5070","inbound":true,"state":"early",)"
              R"("local_offer":false,"remote_offer":true,"age_s":5,"idle_s":1,)"
              R"("session_expires_s":null,"remotes":[],"pinholes":[],"pending_pinholes":[],)"
              R"("lines":[]}]})");
    DialogList l = sample_dialogs();
    l.entries.resize(1);
    l.entries[0].d.state = 0;
    EXPECT_NE(render_dialogs_json(l).find(R"("state":0,)"), std::string::npos);
    l.entries.clear();
    EXPECT_EQ(render_dialogs_json(l),
              R"({"interface":"wan0","public_ip":"203.0.113.1","clock_s":100,"dialog_idle_s":300,)"
              R"("dialogs":[]})");
}

TEST(Entries, CallIdTextIsPrintable) {
    sipalg_dialog d{};
    EXPECT_EQ(callid_text(d), "");
    EXPECT_FALSE(callid_may_be_cut(d));
    const unsigned char raw[] = {'x', 0x7f, 0xc3, 0xa9, ' ', 'y'};
    std::memcpy(d.callid, raw, sizeof(raw));
    EXPECT_EQ(callid_text(d), "x????y");
    std::memset(d.callid, 'z', SIPALG_CALLID_TEXT);
    EXPECT_EQ(callid_text(d), std::string(SIPALG_CALLID_TEXT, 'z'));
    EXPECT_TRUE(callid_may_be_cut(d));
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

TEST(Config, SignallingRules) {
    const sipalg_limits d = make_limits(AlgSettings{});
    EXPECT_EQ(d.any_peer, 0u); // direct signalling by default
    EXPECT_EQ(d.register_rate, 20u);
    EXPECT_EQ(d.invite_rate, 20u);
    EXPECT_EQ(d.bind_max_phone, 16u);
    for (unsigned char plen : d.trusted_plen)
        EXPECT_EQ(plen, 0u);

    AlgSettings s;
    s.any_peer = true;
    s.trusted_peers = {"198.51.100.7/24", "203.0.113.9/32"};
    s.register_rate = 0;
    s.invite_rate = 100000;
    s.max_bindings_per_phone = 0;
    const sipalg_limits l = make_limits(s);
    EXPECT_EQ(l.any_peer, 1u);
    EXPECT_EQ(l.trusted_net[0], htonl(0xc6336400)); // masked to the prefix
    EXPECT_EQ(l.trusted_plen[0], 24u);
    EXPECT_EQ(l.trusted_net[1], htonl(0xcb007109));
    EXPECT_EQ(l.trusted_plen[1], 32u);
    EXPECT_EQ(l.trusted_plen[2], 0u);
    EXPECT_EQ(l.register_rate, 0u);
    EXPECT_EQ(l.invite_rate, 100000u);
    EXPECT_EQ(l.bind_max_phone, 0u);

    const auto refused = [](const AlgSettings &bad, const char *what) {
        expect_limits_refused(bad, {what});
    };
    s = {};
    s.trusted_peers = {"1.0.0.0/8", "2.0.0.0/8", "3.0.0.0/8", "4.0.0.0/8", "5.0.0.0/8"};
    refused(s, "at most 4");
    s.trusted_peers = {"0.0.0.0/0"};
    refused(s, "--trusted-peer 0.0.0.0/0 would trust every address; use --any-peer");
    s.trusted_peers = {"example.com"};
    refused(s, "--trusted-peer 'example.com'");
    s = {};
    s.invite_rate = 100001;
    refused(s, "--invite-rate 100001 is out of range");
}
