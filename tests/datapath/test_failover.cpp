// The fast path's side of the WAN failover policy: while the daemon's redirect is in force (the
// failover map's `active`), the LAN ingress program leaves a phone's SIP to a SIP port to the
// stack, untouched and counted, where the daemon's nftables DNAT sends it to the internal
// server; media of calls through the WAN goes on as before. Without it, the same SIP is NATed
// out of the WAN as always.
#include "datapath.hpp"

using namespace sipalg::test;

namespace {

class Failover : public SharedDatapath {
  protected:
    void configure() override { set_clock(100); }

    void set_active(bool on) {
        sipalg_failover f{};
        f.active = on ? 1 : 0;
        f.why = on ? SIPALG_WAN_LINK_DOWN : SIPALG_WAN_UP;
        const __u32 key = SIPALG_FAILOVER_KEY;
        ASSERT_EQ(bpf_map__update_elem(skel_->maps.sipalg_failover, &key, sizeof(key), &f,
                                       sizeof(f), BPF_EXIST),
                  0);
    }
    static UdpFrameSpec invite_from_phone1() {
        return from_phone(net::kPhone1, net::kPhone1Mac, 5060, net::kRegistrar, 5060,
                          replace_all(sip_register(net::kPhone1, 5060, net::kRegistrar), "REGISTER",
                                      "INVITE"));
    }
};

TEST_F(Failover, PhonesSipGoesToTheStackUntouchedWhileTheRedirectIsActive) {
    register_phone1();
    const std::uint32_t stamp = slot(5060).stamp;
    set_active(true);
    const auto reg = build_udp_frame(phone_register(net::kPhone1, net::kPhone1Mac, 5060));
    expect_untouched(run_lan(reg), reg);
    const auto inv = build_udp_frame(invite_from_phone1());
    expect_untouched(run_lan(inv), inv);
    // A new phone too, and it gets no binding.
    const auto reg2 = build_udp_frame(phone_register(net::kPhone2, net::kPhone2Mac, 5060));
    expect_untouched(run_lan(reg2), reg2);
    EXPECT_EQ(counter(SIPALG_CTR_FAILOVER_PASSED), 3u);
    EXPECT_EQ(counter(SIPALG_CTR_SIP_OUT), 1u); // the first REGISTER only
    EXPECT_FALSE(binding(net::kPhone2, 5060));
    EXPECT_EQ(slot(5060).stamp, stamp); // the binding was not refreshed either
}

TEST_F(Failover, MediaOfACallThroughTheWanIsNotRedirected) {
    const std::uint16_t pub = open_pinhole(net::kPhone1, 40000, net::kRemote, 50000).public_port;
    ASSERT_NE(pub, 0);
    set_active(true);
    const UdpFrameSpec rtp =
            from_phone(net::kPhone1, net::kPhone1Mac, 40000, net::kRemote, 50000, rtp_payload(1));
    const RunResult r = run_lan(build_udp_frame(rtp));
    EXPECT_EQ(r.ret, TC_ACT_REDIRECT);
    expect_frame(r.out, snat_expected(rtp, pub));
    EXPECT_EQ(counter(SIPALG_CTR_FAILOVER_PASSED), 0u);
}

TEST_F(Failover, WhenTheRedirectEndsSipIsNatedOutOfTheWanAgain) {
    set_active(true);
    const auto reg = build_udp_frame(phone_register(net::kPhone1, net::kPhone1Mac, 5060));
    expect_untouched(run_lan(reg), reg);
    set_active(false);
    const UdpFrameSpec spec = phone_register(net::kPhone1, net::kPhone1Mac, 5060);
    const RunResult r = run_lan(build_udp_frame(spec));
    EXPECT_EQ(r.ret, TC_ACT_REDIRECT);
    EXPECT_TRUE(binding(net::kPhone1, 5060));
    EXPECT_EQ(counter(SIPALG_CTR_FAILOVER_PASSED), 1u);
    EXPECT_EQ(counter(SIPALG_CTR_SIP_OUT), 1u);
}

} // namespace
