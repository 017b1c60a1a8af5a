// The WAN failover policy's pure parts: its settings (--failover-server, --failover-after, the
// refusal to turn it on without a server), the WAN health decision, the registrar watch, the
// nftables redirect it installs and how `status` shows it.
#include "instance/config.hpp"
#include "instance/failover_settings.hpp"
#include "instance/policy.hpp"
#include "slow/failover.hpp"
#include "slow/wan_health.hpp"
#include "state/failover_view.hpp"

#include "cli/error.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>

using namespace sipalg;
using namespace sipalg::slow;

namespace {

const std::uint32_t kRegistrar = *parse_ipv4("203.0.113.10");
const std::uint32_t kOther = *parse_ipv4("198.51.100.7");
const std::vector<Prefix> kLan = {*parse_prefix("192.168.10.0/24")};

// ---- settings ----

TEST(FailoverSettings, ServerIsAnAddressWithAnOptionalPort) {
    EXPECT_EQ(parse_failover_server("192.168.10.5").ip, *parse_ipv4("192.168.10.5"));
    EXPECT_EQ(parse_failover_server("192.168.10.5").port, 5060);
    EXPECT_EQ(parse_failover_server("192.168.10.5:5080").port, 5080);
    for (const char *bad : {"", "pbx.lan", "192.168.10.5:", "192.168.10.5:0", "192.168.10.5:65536",
                            "192.168.10.5:50x", "192.168.10:5060", "[fd00::5]:5060"})
        EXPECT_THROW(parse_failover_server(bad), UserError) << bad;
    try {
        parse_failover_server("pbx.lan");
        FAIL();
    } catch (const UserError &e) {
        EXPECT_NE(std::string(e.what()).find("--failover-server"), std::string::npos);
    }
}

TEST(FailoverSettings, AppliedToTheLimitsOnlyForAServerOnTheLan) {
    sipalg_limits l{};
    apply_failover_settings(l, "192.168.10.5:5080", 12);
    EXPECT_EQ(ntohl(l.failover_ip), *parse_ipv4("192.168.10.5"));
    EXPECT_EQ(l.failover_port, 5080);
    EXPECT_EQ(l.failover_after_s, 12);
    EXPECT_NO_THROW(require_failover_on_lan(l, kLan));

    sipalg_limits none{};
    apply_failover_settings(none, "", 30);
    EXPECT_EQ(none.failover_ip, 0u);
    EXPECT_EQ(none.failover_port, 0);
    EXPECT_EQ(none.failover_after_s, 30);
    EXPECT_NO_THROW(require_failover_on_lan(none, kLan));

    sipalg_limits outside{};
    apply_failover_settings(outside, "203.0.113.10", 30);
    EXPECT_THROW(require_failover_on_lan(outside, kLan), UserError);
}

TEST(FailoverSettings, AfterIsZeroOrFiveToAnHour) {
    sipalg_limits l{};
    for (unsigned ok : {0u, 5u, 30u, 3600u})
        EXPECT_NO_THROW(apply_failover_settings(l, "", ok)) << ok;
    for (unsigned bad : {1u, 4u, 3601u, 70000u})
        EXPECT_THROW(apply_failover_settings(l, "", bad), UserError) << bad;
}

// The policy row: off by default, switchable at runtime; on only with a server (make_limits
// refuses --policy failover=on without --failover-server, as `sipalg policy failover on` does).
TEST(FailoverSettings, ThePolicyIsOffByDefaultAndNeedsAServer) {
    const PolicyInfo &p = find_policy("failover");
    EXPECT_EQ(p.bit, static_cast<std::uint32_t>(SIPALG_POLICY_FAILOVER));
    EXPECT_FALSE(p.default_on);
    EXPECT_TRUE(p.runtime);
    EXPECT_EQ(default_policy_flags() & SIPALG_POLICY_FAILOVER, 0u);
    AlgSettings s;
    s.policies = {"failover=on"};
    try {
        make_limits(s);
        FAIL() << "failover on without a server";
    } catch (const UserError &e) {
        EXPECT_NE(std::string(e.what()).find("--failover-server"), std::string::npos) << e.what();
    }
    s.failover_server = "192.168.10.5";
    const sipalg_limits l = make_limits(s);
    EXPECT_EQ(l.policy & SIPALG_POLICY_FAILOVER,
              static_cast<std::uint32_t>(SIPALG_POLICY_FAILOVER));
    EXPECT_EQ(l.failover_port, 5060);
    EXPECT_EQ(l.failover_after_s, 30);
}

// ---- the WAN's health ----

TEST(WanHealth, LinkRouteAndAnswerInThatOrder) {
    const WanVerdict up{};
    EXPECT_EQ(judge_wan({}, up), up);
    WanSignals s;
    s.link_up = false;
    s.unrouted = kRegistrar;
    EXPECT_EQ(judge_wan(s, up).why, SIPALG_WAN_LINK_DOWN);
    s.link_up = true;
    EXPECT_EQ(judge_wan(s, up), (WanVerdict{SIPALG_WAN_NO_ROUTE, kRegistrar}));
    s.unrouted.reset();
    s.silent = kOther;
    EXPECT_EQ(judge_wan(s, up), (WanVerdict{SIPALG_WAN_NO_ANSWER, kOther}));
}

TEST(WanHealth, LinkAndRouteComeBackByThemselves) {
    EXPECT_FALSE(judge_wan({}, {SIPALG_WAN_LINK_DOWN, 0}).down());
    EXPECT_FALSE(judge_wan({}, {SIPALG_WAN_NO_ROUTE, kRegistrar}).down());
}

TEST(WanHealth, NoAnswerEndsOnlyWithTheProbesAnswer) {
    const WanVerdict silent{SIPALG_WAN_NO_ANSWER, kRegistrar};
    EXPECT_EQ(judge_wan({}, silent), silent); // the phones' REGISTERs go elsewhere meanwhile
    WanSignals answered;
    answered.probe_answered = true;
    EXPECT_FALSE(judge_wan(answered, silent).down());
    // A link loss meanwhile is the stronger reason; when it is back, the WAN counts as up.
    WanSignals down;
    down.link_up = false;
    EXPECT_EQ(judge_wan(down, silent).why, SIPALG_WAN_LINK_DOWN);
}

TEST(WanHealth, RedirectOnlyWithThePolicyOnTheAlgEnabledAndTheWanDown) {
    const WanVerdict down{SIPALG_WAN_LINK_DOWN, 0}, up{};
    EXPECT_TRUE(redirect_wanted(true, true, down));
    EXPECT_FALSE(redirect_wanted(false, true, down)); // policy off: REGISTERs simply fail
    EXPECT_FALSE(redirect_wanted(true, false, down)); // disabled: plain NAT
    EXPECT_FALSE(redirect_wanted(true, true, up));
}

TEST(WanHealth, Words) {
    EXPECT_EQ(wan_text({}), "up");
    EXPECT_EQ(wan_text({SIPALG_WAN_LINK_DOWN, 0}), "down (link down)");
    EXPECT_EQ(wan_text({SIPALG_WAN_NO_ROUTE, kRegistrar}), "down (no route to 203.0.113.10)");
    EXPECT_EQ(wan_text({SIPALG_WAN_NO_ANSWER, kRegistrar}), "down (no answer from 203.0.113.10)");
    EXPECT_STREQ(wan_why_word(SIPALG_WAN_NO_ANSWER), "no_answer");
    EXPECT_STREQ(wan_why_word(99), "unknown");
}

TEST(RegistrarWatch, OverdueAfterTheConfiguredTimeUnanswered) {
    RegistrarWatch w(10);
    EXPECT_FALSE(w.update({{kRegistrar, 5060, true}}, 100));
    EXPECT_FALSE(w.update({{kRegistrar, 5060, false}}, 101)); // a new REGISTER, waiting
    EXPECT_FALSE(w.update({{kRegistrar, 5060, false}}, 109));
    EXPECT_EQ(w.update({{kRegistrar, 5060, false}}, 110), kRegistrar); // answered last at 100
}

TEST(RegistrarWatch, AnAnswerStartsTheWaitAgain) {
    RegistrarWatch w(10);
    EXPECT_FALSE(w.update({{kRegistrar, 5060, false}}, 100)); // first seen: waits from now
    EXPECT_FALSE(w.update({{kRegistrar, 5060, true}}, 108));
    EXPECT_FALSE(w.update({{kRegistrar, 5060, false}}, 117));
    EXPECT_EQ(w.update({{kRegistrar, 5060, false}}, 118), kRegistrar);
}

TEST(RegistrarWatch, OneSilentRegistrarAmongOthersAndForgottenEntries) {
    RegistrarWatch w(5);
    w.update({{kRegistrar, 5060, true}, {kOther, 5060, false}}, 0);
    EXPECT_EQ(w.update({{kRegistrar, 5060, true}, {kOther, 5060, false}}, 5), kOther);
    // The entry went (the registration expired): forgotten, and when it is back it waits anew.
    EXPECT_FALSE(w.update({{kRegistrar, 5060, true}}, 6));
    EXPECT_FALSE(w.update({{kRegistrar, 5060, true}, {kOther, 5060, false}}, 7));
}

TEST(RegistrarWatch, RestartAndZeroMeanNoVerdict) {
    RegistrarWatch w(5);
    w.update({{kRegistrar, 5060, false}}, 0);
    w.restart(20); // the WAN came back at 20
    EXPECT_FALSE(w.update({{kRegistrar, 5060, false}}, 24));
    EXPECT_EQ(w.update({{kRegistrar, 5060, false}}, 25), kRegistrar);
    RegistrarWatch off(0);
    off.update({{kRegistrar, 5060, false}}, 0);
    EXPECT_FALSE(off.update({{kRegistrar, 5060, false}}, 100000));
}

TEST(RegistrarWatch, RegistrarsListedOnce) {
    EXPECT_EQ(registrars_of({{kRegistrar, 5060, true}, {kOther, 1, true}, {kRegistrar, 7, false}}),
              (std::vector<std::uint32_t>{kRegistrar, kOther}));
}

// ---- the redirect ----

TEST(FailoverRedirect, RulesetDnatsPhonesSipAndMasqueradesTheRedirectedFlows) {
    RedirectPlan p;
    p.server_ip = *parse_ipv4("192.168.10.5");
    p.server_port = 5060;
    p.lan = kLan;
    p.sip_ports = {5060, 5080};
    const std::string r = failover_ruleset(failover_table("wan0"), p);
    EXPECT_EQ(r, "table ip sipalg_failover_wan0 {\n"
                 "  counter redirected { }\n"
                 "  chain prerouting {\n"
                 "    type nat hook prerouting priority dstnat; policy accept;\n"
                 "    ip saddr { 192.168.10.0/24 } ip saddr != 192.168.10.5 ip daddr != { "
                 "192.168.10.0/24 } fib daddr type != local udp dport { 5060, 5080 } dnat to "
                 "192.168.10.5:5060\n"
                 "  }\n"
                 "  chain count {\n"
                 "    type filter hook prerouting priority filter; policy accept;\n"
                 "    ct status dnat ct direction original ip daddr 192.168.10.5 udp dport 5060 "
                 "counter name \"redirected\"\n"
                 "  }\n"
                 "  chain postrouting {\n"
                 "    type nat hook postrouting priority srcnat; policy accept;\n"
                 "    ct status dnat ip daddr 192.168.10.5 udp dport 5060 masquerade\n"
                 "  }\n"
                 "}\n");
    EXPECT_EQ(failover_table("eth0.2"), "sipalg_failover_eth0_2");
}

TEST(FailoverRedirect, CounterListingParsed) {
    EXPECT_EQ(parse_nft_packets("table ip t {\n\tcounter redirected {\n\t\tpackets 42 bytes "
                                "13440\n\t}\n}\n"),
              42u);
    EXPECT_FALSE(parse_nft_packets("Error: No such file or directory"));
    EXPECT_FALSE(parse_nft_packets("packets x"));
}

TEST(FailoverRedirect, ProbeIsAnOptionsFromThePublicAddress) {
    const std::string req = probe_request(*parse_ipv4("203.0.113.1"), 40001, kRegistrar, 5060, 3);
    EXPECT_EQ(req, "OPTIONS sip:203.0.113.10:5060 SIP/2.0\r\n"
                   "Via: SIP/2.0/UDP 203.0.113.1:40001;branch=z9hG4bK-sipalg-probe-3;rport\r\n"
                   "Max-Forwards: 70\r\n"
                   "From: <sip:sipalg-probe@203.0.113.1>;tag=p3\r\n"
                   "To: <sip:203.0.113.10:5060>\r\n"
                   "Call-ID: sipalg-probe-3@203.0.113.1\r\n"
                   "CSeq: 3 OPTIONS\r\n"
                   "Content-Length: 0\r\n\r\n");
}

// ---- status ----

sipalg_limits configured(bool on) {
    sipalg_limits l{};
    apply_failover_settings(l, "192.168.10.5", 30);
    l.policy = on ? SIPALG_POLICY_FAILOVER : 0;
    return l;
}

TEST(FailoverView, NoDaemonMeansUnknown) {
    sipalg_failover f{};
    f.why = SIPALG_WAN_LINK_DOWN;
    f.updated_ns = 1'000'000'000ull;
    const FailoverView v = failover_view(configured(true), f, 10'000'000'000ull); // 9 s old
    EXPECT_TRUE(v.policy);
    EXPECT_EQ(v.server, "192.168.10.5:5060");
    EXPECT_FALSE(v.watched);
    EXPECT_EQ(v.wan, "unknown");
    EXPECT_EQ(failover_text(v), "policy on, server 192.168.10.5:5060, no answer for 30 s means "
                                "down; WAN state unknown (the daemon watches it: sipalg daemon "
                                "--wan IF)");
}

TEST(FailoverView, DownAndRedirecting) {
    sipalg_failover f{};
    f.active = 1;
    f.why = SIPALG_WAN_NO_ANSWER;
    f.peer = htonl(kRegistrar);
    f.transitions = 1;
    f.since_ms = 1796394601000ull; // 2026-12-04T14:30:01Z
    f.redirected = 17;
    f.updated_ns = 5'000'000'000ull;
    const FailoverView v = failover_view(configured(true), f, 5'500'000'000ull);
    EXPECT_EQ(v.wan, "down");
    EXPECT_EQ(v.why, "no_answer");
    EXPECT_EQ(v.peer, "203.0.113.10");
    EXPECT_TRUE(v.redirecting);
    EXPECT_EQ(utc_text(f.since_ms), "2026-12-04T14:30:01Z");
    EXPECT_EQ(failover_text(v), "policy on, server 192.168.10.5:5060, no answer for 30 s means "
                                "down; WAN down since 2026-12-04T14:30:01Z (no_answer "
                                "203.0.113.10), 1 transitions; redirecting to the server, 17 "
                                "packets redirected");
}

TEST(FailoverView, DownWithThePolicyOffRedirectsNothing) {
    sipalg_failover f{};
    f.why = SIPALG_WAN_LINK_DOWN;
    f.transitions = 3;
    f.updated_ns = 5'000'000'000ull;
    const FailoverView v = failover_view(configured(false), f, 5'000'000'000ull);
    EXPECT_FALSE(v.policy);
    EXPECT_FALSE(v.redirecting);
    EXPECT_EQ(v.peer, "");
    EXPECT_NE(failover_text(v).find("WAN down (link_down), 3 transitions; not redirecting "
                                    "(policy off)"),
              std::string::npos)
            << failover_text(v);
}

} // namespace
