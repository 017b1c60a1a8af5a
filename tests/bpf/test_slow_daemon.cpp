// The slow-path daemon's processing function (loader/slow/slow_rewrite.cpp) on whole messages,
// against a freshly loaded BPF object whose maps are pinned the way `sipalg load` pins them, so
// bindings and pinholes go through the real admin program: exact output bytes, the addresses
// the result is sent with, and the state it leaves behind.
#include "datapath.hpp"
#include "slow_rewrite.hpp"

#include <sys/stat.h>

#include <cstdio>
#include <memory>

using namespace sipalg::test;
using namespace sipalg::slow;

namespace {

constexpr const char *kPub = "203.0.113.1";

std::uint32_t h(const char *dotted) {
    return ipv4_addr(dotted);
}

// An SDP well over the kernel's 2048 bytes: audio + video, a=rtcp, ICE candidates, padding.
std::string big_sdp(const std::string &ip, std::uint16_t a, std::uint16_t a_rtcp, std::uint16_t v,
                    std::uint16_t v_rtcp) {
    auto cand = [&](std::uint16_t rtp, std::uint16_t rtcp) {
        return "a=candidate:1 1 UDP 2130706431 " + ip + " " + std::to_string(rtp) +
               " typ host\r\na=candidate:1 2 UDP 2130706430 " + ip + " " + std::to_string(rtcp) +
               " typ host\r\n";
    };
    std::string s = "v=0\r\no=- 1 1 IN IP4 " + ip + "\r\ns=-\r\nc=IN IP4 " + ip + "\r\nt=0 0\r\n";
    s += "m=audio " + std::to_string(a) + " RTP/AVP 0\r\na=rtcp:" + std::to_string(a_rtcp) +
         " IN IP4 " + ip + "\r\n" + cand(a, a_rtcp);
    s += "m=video " + std::to_string(v) + " RTP/AVP 96\r\na=rtcp:" + std::to_string(v_rtcp) +
         "\r\n" + cand(v, v_rtcp);
    for (int i = 0; i < 40; i++)
        s += "a=fmtp:96 profile-level-id=42e01f;packetization-mode=1;x-pad=" + std::to_string(i) +
             "\r\n";
    return s;
}

std::string invite(const std::string &host, const std::string &body) {
    return "INVITE sip:2001@198.51.100.20 SIP/2.0\r\nVia: SIP/2.0/UDP " + host +
           ";branch=z9hG4bK-big;rport\r\nFrom: <sip:1001@" + host +
           ">;tag=f1\r\nTo: <sip:2001@198.51.100.20>\r\nCall-ID: big-1\r\nCSeq: 1 INVITE\r\n"
           "Contact: <sip:1001@" +
           host +
           ">\r\nContent-Type: application/sdp\r\nContent-Length: " + std::to_string(body.size()) +
           "\r\n\r\n" + body;
}

std::string ok200(const std::string &via, const std::string &body) {
    return "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP " + via +
           ";branch=z9hG4bK-big;rport=5060\r\nFrom: <sip:1001@" + via +
           ">;tag=f1\r\nTo: <sip:2001@198.51.100.20>;tag=t2\r\nCall-ID: big-1\r\nCSeq: 1 "
           "INVITE\r\nContent-Type: application/sdp\r\nContent-Length: " +
           std::to_string(body.size()) + "\r\n\r\n" + body;
}

std::vector<std::uint8_t> bytes(const std::string &s) {
    return {s.begin(), s.end()};
}

class SlowDaemon : public Datapath {
  protected:
    void SetUp() override {
        Datapath::SetUp();
        ASSERT_FALSE(HasFatalFailure());
        dir_ = "/sys/fs/bpf/sipalg-test-slow-" + std::to_string(getpid());
        ASSERT_EQ(mkdir(dir_.c_str(), 0700), 0) << "bpffs not mounted at /sys/fs/bpf?";
        ASSERT_EQ(bpf_object__pin_maps(skel_->obj, dir_.c_str()), 0);
        ASSERT_EQ(bpf_program__pin(skel_->progs.sipalg_admin, (dir_ + "/prog_admin").c_str()), 0);
        maps_ = std::make_unique<sipalg::InstanceMaps>(
                sipalg::InstanceMaps::open(dir_, "test", true));
        admin_fd_ = bpf_program__fd(skel_->progs.sipalg_admin);
        state_ = std::make_unique<MapSlowState>(*maps_, admin_fd_);
        net_.public_ip = h(kPub);
        net_.lan = {sipalg::Prefix{h("192.168.0.0"), 16}};
    }
    void TearDown() override {
        state_.reset();
        maps_.reset();
        if (!dir_.empty()) {
            bpf_object__unpin_maps(skel_->obj, dir_.c_str());
            std::remove((dir_ + "/prog_admin").c_str());
            rmdir(dir_.c_str());
        }
        Datapath::TearDown();
    }
    Outcome out(const std::string &msg) {
        Datagram d;
        d.dir = Dir::Out;
        d.src = {h(net::kPhone1), 5060};
        d.dst = {h(net::kRemote), 5060};
        d.payload = bytes(msg);
        return process(d, net_, *state_);
    }
    Outcome in(const std::string &msg, std::uint16_t public_port = 5060) {
        Datagram d;
        d.dir = Dir::In;
        d.src = {h(net::kRemote), 5060};
        d.dst = {h(kPub), public_port};
        d.payload = bytes(msg);
        return process(d, net_, *state_);
    }

    std::string dir_;
    std::unique_ptr<sipalg::InstanceMaps> maps_;
    int admin_fd_ = -1;
    std::unique_ptr<MapSlowState> state_;
    Net net_;
};

TEST_F(SlowDaemon, LargeInviteIsRewrittenExactlyAndOpensEveryPinhole) {
    // Phone 2 holds public 40000, so phone 1's audio cannot keep its port: the rewrite must
    // use the pinhole's port everywhere (m=, candidates), not the private one.
    ASSERT_EQ(open_pinhole(net::kPhone2, 40000, net::kRemote, 0).public_port, 40000);
    const std::string msg =
            invite("192.168.1.10:5060", big_sdp(net::kPhone1, 40000, 40001, 40002, 40003));
    ASSERT_GT(msg.size(), 2048u);
    const Outcome r = out(msg);
    ASSERT_EQ(r.verdict, Verdict::Rewritten) << r.why;
    EXPECT_EQ(r.from, (Addr{h(kPub), 5060})); // the binding it created, port-preserving
    EXPECT_EQ(r.to, (Addr{h(net::kRemote), 5060}));
    const auto a = pinhole(net::kPhone1, 40000), ac = pinhole(net::kPhone1, 40001),
               v = pinhole(net::kPhone1, 40002), vc = pinhole(net::kPhone1, 40003);
    ASSERT_TRUE(a && ac && v && vc);
    EXPECT_NE(a->public_port, 40000);
    const std::string want =
            invite("203.0.113.1:5060",
                   big_sdp(kPub, a->public_port, ac->public_port, v->public_port, vc->public_port));
    EXPECT_EQ(std::string(r.payload.begin(), r.payload.end()), want);
    EXPECT_EQ(slot(a->public_port).owner, 5060); // remembered for the answer and the BYE
    EXPECT_EQ(slot(a->public_port).remote_ip, 0u);
}

TEST_F(SlowDaemon, LargeAnswerRestoresTheViaAndScopesThePinholes) {
    ASSERT_EQ(out(invite("192.168.1.10:5060", big_sdp(net::kPhone1, 40000, 40001, 40002, 40003)))
                      .verdict,
              Verdict::Rewritten);
    const std::string answer = big_sdp("198.51.100.30", 30000, 30001, 30002, 30003);
    const Outcome r = in(ok200("203.0.113.1:5060", answer));
    ASSERT_EQ(r.verdict, Verdict::Rewritten) << r.why;
    EXPECT_EQ(r.from, (Addr{h(net::kRemote), 5060}));
    EXPECT_EQ(r.to, (Addr{h(net::kPhone1), 5060}));
    // The phone gets its own Via back; the peer's SDP is not touched.
    EXPECT_EQ(std::string(r.payload.begin(), r.payload.end()), ok200("192.168.1.10:5060", answer));
    const auto a = pinhole(net::kPhone1, 40000), vc = pinhole(net::kPhone1, 40003);
    ASSERT_TRUE(a && vc);
    EXPECT_EQ(slot(a->public_port).remote_ip, be32("198.51.100.30"));
    EXPECT_EQ(slot(vc->public_port).remote_ip, be32("198.51.100.30"));
}

TEST_F(SlowDaemon, WhatCannotBeFinishedIsNeverSentOn) {
    // Over even the slow path's limit, malformed, or to a port no binding owns: nothing to send.
    EXPECT_EQ(out(invite("192.168.1.10:5060", std::string(slow_msg_max(), 'x'))).verdict,
              Verdict::Failed);
    EXPECT_EQ(out("INVITE sip:x SIP/2.0\r\nContent-Length: 99\r\n\r\nshort").verdict,
              Verdict::Failed);
    EXPECT_EQ(in(ok200("203.0.113.1:5070", ""), 5070).verdict, Verdict::NoBinding);
    // A keepalive crosses through the binding untouched.
    const Outcome k = out("\r\n\r\n");
    ASSERT_EQ(k.verdict, Verdict::Unchanged);
    EXPECT_EQ(k.from, (Addr{h(kPub), 5060}));
    EXPECT_EQ(std::string(k.payload.begin(), k.payload.end()), "\r\n\r\n");
}

} // namespace
