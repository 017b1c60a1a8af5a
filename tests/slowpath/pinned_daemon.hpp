// What the slow-path daemon's tests share: a freshly loaded BPF object with its maps pinned the
// way `sipalg load` pins them (pinned_state.hpp), seen by the daemon as a router whose public
// address is 203.0.113.1 and whose LAN is 192.168.0.0/16, and the message pieces they build.
#pragma once

#include "datapath.hpp"
#include "pinned_state.hpp"
#include "slow/rewrite.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <utility>

namespace sipalg::test {

inline constexpr const char *kPub = "203.0.113.1";

inline std::uint32_t h(const char *dotted) {
    return ipv4_addr(dotted);
}

inline std::string with_length(const std::string &head, const std::string &body) {
    return head + "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

// A server's INVITE over TCP to the phone's registered Contact (host[:port]); with an SDP body
// when `sdp` is not empty.
inline std::string tcp_invite_from(const std::string &contact, const std::string &server,
                                   const std::string &branch, const std::string &call_id, int cseq,
                                   const std::string &sdp = "") {
    return with_length("INVITE sip:1001@" + contact +
                               ";transport=tcp SIP/2.0\r\nVia: SIP/2.0/TCP " + server +
                               ";branch=" + branch + "\r\nFrom: <sip:2001@" + server +
                               ">;tag=c\r\nTo: <sip:1001@" + server + ">\r\nCall-ID: " + call_id +
                               "\r\nCSeq: " + std::to_string(cseq) +
                               " INVITE\r\nContact: <sip:2001@" + server + ";transport=tcp>\r\n" +
                               (sdp.empty() ? "" : "Content-Type: application/sdp\r\n"),
                       sdp);
}

class PinnedDaemon : public Datapath {
  protected:
    // `tag` names the pin dir, so that binaries running at once do not share one.
    explicit PinnedDaemon(std::string tag) : tag_(std::move(tag)) {}

    void SetUp() override {
        Datapath::SetUp();
        ASSERT_FALSE(HasFatalFailure());
        pinned_.pin(skel_, tag_);
        ASSERT_FALSE(HasFatalFailure());
        net_.public_ip = h(kPub);
        net_.lan = {sipalg::Prefix{h("192.168.0.0"), 16}};
    }
    void TearDown() override {
        pinned_.unpin();
        Datapath::TearDown();
    }

    PinnedState pinned_;
    slow::Net net_;

  private:
    std::string tag_;
};

} // namespace sipalg::test
