// Who may signal to a phone (bpf/signal_policy.bpf.h), through the real programs with the limits
// `sipalg load` writes by default: requests reach a phone only from a registrar that accepted
// its REGISTER with a matching 2xx, inside one of its calls, or from a trusted prefix; a
// REGISTER naming another LAN host binds nothing; REGISTERs and INVITEs have a rate per source;
// one LAN host has a bounded number of bindings. Also the same rules as the daemon reaches them
// (the admin program's SIPALG_OP_SIGNAL).
#include "datapath.hpp"
#include "sipalg/sip_types.h"

#include <string>

using namespace sipalg::test;

namespace {

constexpr const char *kPub = "203.0.113.1";
constexpr const char *kScanner = "203.0.113.99";
constexpr const char *kCallId = "1j9FpLxk3uxtm8tn"; // sip_register()'s

// The registrar's answer to sip_register(kPhone1, 5060, kRegistrar), as it reaches the router.
std::string reg_answer(const std::string &status, int cseq, const std::string &call = kCallId,
                       const std::string &expires = ";expires=600") {
    return "SIP/2.0 " + status + "\r\nVia: SIP/2.0/UDP " + kPub +
           ":5060;branch=z9hG4bK-sipalg-test-1;rport=5060\r\nFrom: <sip:1001@198.51.100.7>;tag="
           "a73kszlfl\r\nTo: <sip:1001@198.51.100.7>;tag=r1\r\nCall-ID: " +
           call + "@" + kPub + "\r\nCSeq: " + std::to_string(cseq) +
           " REGISTER\r\nContact: <sip:1001@" + kPub + ":5060>" + expires +
           "\r\nContent-Length: 0\r\n\r\n";
}

// A new call to the phone (as a scanner, or the registrar, would send it).
std::string invite_to_phone(const std::string &from, const std::string &call) {
    return "INVITE sip:1001@" + std::string(kPub) + ":5060 SIP/2.0\r\nVia: SIP/2.0/UDP " + from +
           ":5060;branch=z9hG4bK-" + call + "\r\nFrom: <sip:100@" + from +
           ">;tag=s\r\nTo: <sip:1001@" + kPub + ">\r\nCall-ID: " + call +
           "\r\nCSeq: 1 INVITE\r\nUser-Agent: friendly-scanner\r\nContent-Length: 0\r\n\r\n";
}

class Signalling : public SharedDatapath {
  protected:
    void configure() override {
        write_limits(load_limits());
        set_clock(100);
    }

    int send_register(const char *phone = net::kPhone1, std::uint16_t port = 5060) {
        return run_lan(build_udp_frame(phone_register(phone, net::kPhone1Mac, port))).ret;
    }
    int from_wan(const char *src, const std::string &payload, std::uint16_t dport = 5060) {
        return run_wan_in(build_udp_frame(from_internet(src, 5060, dport, payload))).ret;
    }
    void registered() {
        ASSERT_EQ(send_register(), TC_ACT_REDIRECT);
        ASSERT_EQ(from_wan(net::kRegistrar, reg_answer("200 OK", 1)), TC_ACT_REDIRECT);
        ASSERT_EQ(counter(SIPALG_CTR_REG_ANSWER_MISMATCH), 0u);
    }
    sipalg_admin signal_op(const char *peer, bool inbound, sipalg_dialog_msg dm) {
        sipalg_admin a{};
        a.op = SIPALG_OP_SIGNAL;
        a.public_port = 5060;
        a.remote_ip = be32(peer);
        a.arg = inbound ? 1 : 0;
        a.dm = dm;
        return admin(a);
    }
};

TEST_F(Signalling, AScannersInviteNeverRingsThePhone) {
    registered();
    EXPECT_EQ(from_wan(kScanner, invite_to_phone(kScanner, "scan-1")), TC_ACT_SHOT);
    EXPECT_EQ(from_wan(net::kRemote, invite_to_phone(net::kRemote, "scan-2")), TC_ACT_SHOT);
    EXPECT_EQ(counter(SIPALG_CTR_SIG_UNSOLICITED), 2u);
    EXPECT_EQ(counter(SIPALG_CTR_DLG_CREATED), 0u); // and nothing was remembered of them
    // The registrar's INVITE gets through, and so does what the scanner sends within it.
    EXPECT_EQ(from_wan(net::kRegistrar, invite_to_phone(net::kRegistrar, "call-1")),
              TC_ACT_REDIRECT);
    EXPECT_EQ(counter(SIPALG_CTR_SIG_UNSOLICITED), 2u);
    EXPECT_EQ(from_wan(kScanner, replace_all(invite_to_phone(kScanner, "call-1"), "INVITE", "BYE")),
              TC_ACT_REDIRECT);
}

TEST_F(Signalling, NothingGetsInBeforeTheRegistrarsMatching2xx) {
    ASSERT_EQ(send_register(), TC_ACT_REDIRECT);
    const std::string call = invite_to_phone(net::kRegistrar, "early");
    EXPECT_EQ(from_wan(net::kRegistrar, call), TC_ACT_SHOT); // REGISTER not answered yet
    const std::uint32_t stamp = slot(5060).stamp;

    // Answers that do not match change nothing (the phone still gets them, and ignores them).
    EXPECT_EQ(from_wan(net::kRegistrar, reg_answer("200 OK", 2)), TC_ACT_REDIRECT); // CSeq
    EXPECT_EQ(from_wan(net::kRegistrar, reg_answer("200 OK", 1, "other")), TC_ACT_REDIRECT);
    EXPECT_EQ(from_wan(kScanner, reg_answer("200 OK", 1)), TC_ACT_REDIRECT); // spoofed
    EXPECT_EQ(counter(SIPALG_CTR_REG_ANSWER_MISMATCH), 3u);
    EXPECT_EQ(slot(5060).stamp, stamp); // no lifetime applied
    EXPECT_EQ(from_wan(net::kRegistrar, reg_answer("403 Forbidden", 1)), TC_ACT_REDIRECT);
    EXPECT_EQ(from_wan(net::kRegistrar, call), TC_ACT_SHOT);
    EXPECT_EQ(counter(SIPALG_CTR_SIG_UNSOLICITED), 2u);

    EXPECT_EQ(from_wan(net::kRegistrar, reg_answer("200 OK", 1)), TC_ACT_REDIRECT);
    EXPECT_EQ(slot(5060).stamp, 100u + 600u);
    EXPECT_EQ(from_wan(net::kRegistrar, call), TC_ACT_REDIRECT);
    EXPECT_EQ(counter(SIPALG_CTR_REG_ANSWER_MISMATCH), 3u);
}

// The WAN failover's "no answer" watch reads SIPALG_REG_ANSWERED: set by the 2xx to the latest
// REGISTER, kept by its retransmissions, cleared by the next REGISTER until its own 2xx.
TEST_F(Signalling, TheLatestRegisterIsMarkedAnsweredByItsOwn2xxOnly) {
    const auto flags = [this] {
        std::vector<std::uint8_t> all;
        for_each_entry<sipalg_reg_key, sipalg_reg>(
                skel_->maps.sipalg_regs, [&](const sipalg_reg_key &k, const sipalg_reg &r) {
                    EXPECT_EQ(k.registrar_ip, be32(net::kRegistrar));
                    all.push_back(r.flags);
                });
        return all;
    };
    ASSERT_EQ(send_register(), TC_ACT_REDIRECT);
    EXPECT_EQ(flags(), std::vector<std::uint8_t>{0});
    EXPECT_EQ(from_wan(net::kRegistrar, reg_answer("200 OK", 2)), TC_ACT_REDIRECT); // not its
    EXPECT_EQ(flags(), std::vector<std::uint8_t>{0});
    EXPECT_EQ(from_wan(net::kRegistrar, reg_answer("200 OK", 1)), TC_ACT_REDIRECT);
    const std::uint8_t both = SIPALG_REG_CONFIRMED | SIPALG_REG_ANSWERED;
    EXPECT_EQ(flags(), std::vector<std::uint8_t>{both});
    ASSERT_EQ(send_register(), TC_ACT_REDIRECT); // a retransmission: same Call-ID and CSeq
    EXPECT_EQ(flags(), std::vector<std::uint8_t>{both});

    const auto refresh = [](int cseq) {
        return build_udp_frame(
                with_payload(phone_register(net::kPhone1, net::kPhone1Mac, 5060),
                             replace_all(sip_register(net::kPhone1, 5060, net::kRegistrar),
                                         "CSeq: 1 ", "CSeq: " + std::to_string(cseq) + " ")));
    };
    ASSERT_EQ(run_lan(refresh(2)).ret, TC_ACT_REDIRECT);
    EXPECT_EQ(flags(), std::vector<std::uint8_t>{SIPALG_REG_CONFIRMED});            // still let in
    EXPECT_EQ(from_wan(net::kRegistrar, reg_answer("200 OK", 1)), TC_ACT_REDIRECT); // the old
    EXPECT_EQ(flags(), std::vector<std::uint8_t>{SIPALG_REG_CONFIRMED});
    EXPECT_EQ(from_wan(net::kRegistrar, reg_answer("200 OK", 2)), TC_ACT_REDIRECT);
    EXPECT_EQ(flags(), std::vector<std::uint8_t>{both});
}

TEST_F(Signalling, ARegistrationEndsWithItsUnRegisterAndItsBinding) {
    registered();
    EXPECT_EQ(from_wan(net::kRegistrar, reg_answer("200 OK", 1, kCallId, ";expires=0")),
              TC_ACT_REDIRECT);
    EXPECT_EQ(from_wan(net::kRegistrar, invite_to_phone(net::kRegistrar, "after")), TC_ACT_SHOT);

    // A new registration is confirmed anew; once the binding has gone (aged out), the slot's
    // next phone inherits nothing from it.
    registered();
    set_clock(100 + 4000);
    sweep();
    EXPECT_FALSE(binding(net::kPhone1, 5060));
    ASSERT_EQ(send_register(net::kPhone2, 5060), TC_ACT_REDIRECT);
    EXPECT_EQ(from_wan(net::kRegistrar, invite_to_phone(net::kRegistrar, "next")), TC_ACT_SHOT);
}

TEST_F(Signalling, TheRemotePartyOfACallMaySignalWithinIt) {
    registered();
    const std::string out = "INVITE sip:2001@198.51.100.20 SIP/2.0\r\nVia: SIP/2.0/UDP "
                            "192.168.1.10:5060;branch=z9hG4bK-o1\r\nFrom: <sip:1001@198.51.100.7>"
                            ";tag=f\r\nTo: <sip:2001@198.51.100.20>\r\nCall-ID: out-1@192.168.1.10"
                            "\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n";
    ASSERT_EQ(run_lan(build_udp_frame(from_phone(net::kPhone1, net::kPhone1Mac, 5060, net::kRemote,
                                                 5060, out)))
                      .ret,
              TC_ACT_REDIRECT);
    const std::string bye = "BYE sip:1001@203.0.113.1:5060 SIP/2.0\r\nVia: SIP/2.0/UDP "
                            "198.51.100.20:5060;branch=z9hG4bK-b1\r\nFrom: <sip:2001@198.51.100.20>"
                            ";tag=t\r\nTo: <sip:1001@198.51.100.7>;tag=f\r\nCall-ID: out-1@" +
                            std::string(kPub) + "\r\nCSeq: 2 BYE\r\nContent-Length: 0\r\n\r\n";
    EXPECT_EQ(from_wan(net::kRemote, bye), TC_ACT_REDIRECT);
    EXPECT_EQ(from_wan(net::kRemote, replace_all(bye, "out-1", "out-2")), TC_ACT_SHOT);
    EXPECT_EQ(counter(SIPALG_CTR_SIG_UNSOLICITED), 1u);
}

TEST_F(Signalling, TrustedPrefixesAndAnyPeerWidenTheRule) {
    registered();
    sipalg_limits l = load_limits();
    l.trusted_net[0] = be32("203.0.113.0");
    l.trusted_plen[0] = 24;
    write_limits(l);
    EXPECT_EQ(from_wan(kScanner, invite_to_phone(kScanner, "t-1")), TC_ACT_REDIRECT);
    EXPECT_EQ(from_wan(net::kRemote, invite_to_phone(net::kRemote, "t-2")), TC_ACT_SHOT);
    l.any_peer = 1;
    write_limits(l);
    EXPECT_EQ(from_wan(net::kRemote, invite_to_phone(net::kRemote, "t-3")), TC_ACT_REDIRECT);
}

TEST_F(Signalling, JunkReachesAPhoneOnlyFromItsRegistrar) {
    registered();
    EXPECT_EQ(from_wan(kScanner, "\x16\x03\x01 junk"), TC_ACT_SHOT);
    EXPECT_EQ(from_wan(kScanner, "INVITE sip:1001@203.0.113.1 SIP/2.0\r\nVia: x\r\n"),
              TC_ACT_SHOT); // SIP cut short
    EXPECT_EQ(counter(SIPALG_CTR_SIG_UNSOLICITED), 2u);
    EXPECT_EQ(counter(SIPALG_CTR_BAD_START_LINE), 1u);
    EXPECT_EQ(counter(SIPALG_CTR_BAD_TRUNCATED), 1u);
    EXPECT_EQ(from_wan(net::kRegistrar, "\r\n\r\n"), TC_ACT_REDIRECT); // a keepalive answer
}

TEST_F(Signalling, ARegisterNamingAnotherLanHostBindsNothing) {
    for (const char *other : {net::kPhone2, "192.168.1.1"}) {
        const std::string reg = replace_all(sip_register(net::kPhone1, 5060, net::kRegistrar),
                                            "<sip:1001@192.168.1.10:5060>",
                                            "<sip:1001@" + std::string(other) + ":3306>");
        const auto f = build_udp_frame(
                from_phone(net::kPhone1, net::kPhone1Mac, 5060, net::kRegistrar, 5060, reg));
        const RunResult r = run_lan(f);
        EXPECT_EQ(r.ret, TC_ACT_OK) << other;
        EXPECT_EQ(r.out, f) << "passed untouched: " << other;
        EXPECT_FALSE(binding(net::kPhone1, 5060)) << other;
        EXPECT_FALSE(binding(other, 3306)) << other;
    }
    EXPECT_EQ(counter(SIPALG_CTR_REG_NOT_SENDER), 2u);
    EXPECT_EQ(state().bindings, 0u);
    EXPECT_EQ(send_register(), TC_ACT_REDIRECT); // its own Contact: bound as ever
}

TEST_F(Signalling, RequestRatesArePerSource) {
    sipalg_limits l = load_limits();
    l.register_rate = 1; // a burst of 2 at once, then 1 a second
    l.invite_rate = 1;
    write_limits(l);
    EXPECT_EQ(send_register(), TC_ACT_REDIRECT);
    EXPECT_EQ(send_register(), TC_ACT_REDIRECT);
    EXPECT_EQ(send_register(), TC_ACT_SHOT);
    EXPECT_EQ(counter(SIPALG_CTR_RATE_REGISTER), 1u);
    EXPECT_EQ(send_register(net::kPhone2, 5060), TC_ACT_REDIRECT); // its own bucket
    ASSERT_EQ(from_wan(net::kRegistrar, reg_answer("200 OK", 1)), TC_ACT_REDIRECT);
    for (const char *call : {"r0", "r1"})
        EXPECT_EQ(from_wan(net::kRegistrar, invite_to_phone(net::kRegistrar, call)),
                  TC_ACT_REDIRECT);
    EXPECT_EQ(from_wan(net::kRegistrar, invite_to_phone(net::kRegistrar, "r2")), TC_ACT_SHOT);
    EXPECT_EQ(counter(SIPALG_CTR_RATE_INVITE), 1u);
    EXPECT_EQ(counter(SIPALG_CTR_DLG_CREATED), 2u); // the refused one made no call
}

TEST_F(Signalling, OneLanHostHasABoundedNumberOfBindings) {
    sipalg_limits l = load_limits();
    l.bind_max_phone = 2;
    write_limits(l);
    EXPECT_EQ(send_register(net::kPhone1, 5060), TC_ACT_REDIRECT);
    EXPECT_EQ(send_register(net::kPhone1, 5062), TC_ACT_REDIRECT);
    EXPECT_EQ(send_register(net::kPhone1, 5064), TC_ACT_OK); // passed untouched
    EXPECT_FALSE(binding(net::kPhone1, 5064));
    EXPECT_EQ(counter(SIPALG_CTR_BIND_LIMIT_PHONE), 1u);
    EXPECT_EQ(send_register(net::kPhone2, 5060), TC_ACT_REDIRECT);
    // When one goes, there is room again.
    sipalg_admin a{};
    a.op = SIPALG_OP_BINDING_CLOSE;
    a.priv_ip = be32(net::kPhone1);
    a.priv_port = htons(5062);
    EXPECT_EQ(admin(a).result, 0);
    EXPECT_EQ(send_register(net::kPhone1, 5064), TC_ACT_REDIRECT);
}

TEST_F(Signalling, TheDaemonGetsTheSameRules) {
    ASSERT_EQ(send_register(), TC_ACT_REDIRECT); // the binding (port 5060)
    sipalg_dialog_msg reg{};
    reg.call = 0x1234;
    reg.cseq = 7;
    reg.is_request = 1;
    reg.method = SIPALG_M_REGISTER;
    reg.expires = 3600;
    EXPECT_EQ(signal_op(net::kRegistrar, false, reg).result, 0);

    sipalg_dialog_msg invite{};
    invite.call = 0x99;
    invite.is_request = 1;
    invite.method = SIPALG_M_INVITE;
    EXPECT_EQ(signal_op(net::kRegistrar, true, invite).result, -EACCES);

    sipalg_dialog_msg ok{};
    ok.call = 0x1234;
    ok.cseq = 7;
    ok.status = 200;
    ok.cseq_method = SIPALG_M_REGISTER;
    ok.expires = 60;
    sipalg_admin a = signal_op(kScanner, true, ok);
    EXPECT_EQ(a.result, 0); // a response is let through, but answers nothing
    EXPECT_EQ(a.arg, 0u);
    a = signal_op(net::kRegistrar, true, ok);
    EXPECT_EQ(a.result, 0);
    EXPECT_EQ(a.arg, 1u);
    EXPECT_EQ(signal_op(net::kRegistrar, true, invite).result, 0);
    EXPECT_EQ(signal_op(kScanner, true, invite).result, -EACCES);
    EXPECT_EQ(counter(SIPALG_CTR_SIG_UNSOLICITED), 2u);
}

} // namespace
