// The XDP media path both ways without tc: the LAN port XDP program (sipalg_lan_port_xdp) SNATs a
// phone's media and redirects it to the WAN, learning the phone's port and MAC; the WAN XDP
// program then sends the answer straight back to that port. In the test topology lan0 is a
// plain LAN interface, so it is its own port. Also what both programs leave to tc.
#include "datapath.hpp"
#include "xdp_meta.hpp"

using namespace sipalg::test;

namespace {

// A MAC the neighbour table does not know: seen in the output, it can only have been learned.
const Mac kLearnedMac{0x02, 0x00, 0x00, 0x00, 0x01, 0x99};

class LanXdp : public SharedDatapath {
  protected:
    void configure() override {
        use_lan_port_xdp(SIPALG_IFACE_XDP_XMIT);
        set_clock(10);
        ASSERT_EQ(open_pinhole(net::kPhone1, 40000, net::kRemote, 50000).public_port, 40000);
    }
    void set_port(std::uint8_t flags) {
        write_element(skel_->maps.sipalg_brports, topo_.lan_ifindex,
                      topology_lan_port(topo_, flags));
    }
    RunResult run_lan_xdp(const std::vector<std::uint8_t> &in) {
        return run_xdp_on(skel_->progs.sipalg_lan_port_xdp, in, topo_.lan_ifindex);
    }
    static UdpFrameSpec media_out() {
        return from_phone(net::kPhone1, kLearnedMac, 40000, net::kRemote, 50000, rtp_payload(5));
    }
    static UdpFrameSpec media_in() {
        return from_internet(net::kRemote, 50000, 40000, rtp_payload(6));
    }
};

// The UDP checksum field as a local sender over a veth leaves it: the pseudo-header seed
// (folded, not complemented).
std::vector<std::uint8_t> with_partial_checksum(std::vector<std::uint8_t> f) {
    const std::size_t ip = kEthLen, udp = kEthLen + kIpv4Len;
    detail::put16(f, udp + 6, csum_fold(detail::udp_pseudo_sum(f, ip, detail::get16(f, udp + 4))));
    return f;
}

TEST_F(LanXdp, OutboundMediaIsSnatedAndRedirectedToTheWan) {
    const UdpFrameSpec in = media_out();
    const RunResult r = run_lan_xdp(build_udp_frame(in));

    EXPECT_EQ(r.ret, XDP_REDIRECT);
    expect_frame(r.out, snat_expected(in, 40000));
    EXPECT_EQ(counter(SIPALG_CTR_XDP_OUT), 1u);
    EXPECT_EQ(counter(SIPALG_CTR_MEDIA_OUT), 1u);
    EXPECT_EQ(slot(40000).stamp, 10u);
}

TEST_F(LanXdp, InboundMediaGoesStraightToThePortItWasLearnedOn) {
    ASSERT_EQ(run_lan_xdp(build_udp_frame(media_out())).ret, XDP_REDIRECT);
    const UdpFrameSpec in = media_in();
    const RunResult r = run_xdp(build_udp_frame(in));

    EXPECT_EQ(r.ret, XDP_REDIRECT);
    EXPECT_TRUE(r.meta.empty()) << "no tc handoff needed";
    expect_frame(r.out, dnat_expected(in, net::kPhone1, kLearnedMac, 40000));
    EXPECT_EQ(counter(SIPALG_CTR_XDP_IN_DIRECT), 1u);
    EXPECT_EQ(counter(SIPALG_CTR_MEDIA_IN), 1u);
    EXPECT_EQ(counter(SIPALG_CTR_XDP_FWD), 0u);
}

TEST_F(LanXdp, ALearnedRouteOutlivesOneGenerationChangeButNotTwo) {
    ASSERT_EQ(run_lan_xdp(build_udp_frame(media_out())).ret, XDP_REDIRECT);
    const UdpFrameSpec in = media_in();
    set_clock(11);
    RunResult r = run_xdp(build_udp_frame(in));
    EXPECT_EQ(r.ret, XDP_REDIRECT);
    EXPECT_EQ(r.out, build_udp_frame(dnat_expected(in, net::kPhone1, kLearnedMac, 40000)))
            << "the first inbound packet after a generation change still uses the learned port";
    set_clock(13);
    r = run_xdp(build_udp_frame(in));
    EXPECT_EQ(r.ret, XDP_REDIRECT); // lan0 is a port itself: the FIB's answer is XDP-capable
    EXPECT_EQ(r.out, build_udp_frame(dnat_expected(in, net::kPhone1, net::kPhone1Mac, 40000)))
            << "two generations later the FIB (neighbour table) decides again";
}

TEST_F(LanXdp, APortThatCannotTakeXdpFramesGetsTheLearnedRouteThroughTc) {
    set_port(0);
    ASSERT_EQ(run_lan_xdp(build_udp_frame(media_out())).ret, XDP_REDIRECT);
    const UdpFrameSpec in = media_in();
    const RunResult r = run_xdp(build_udp_frame(in));

    EXPECT_EQ(r.ret, XDP_PASS);
    EXPECT_EQ(r.out, build_udp_frame(dnat_expected(in, net::kPhone1, kLearnedMac, 40000)));
    const XdpMeta m = XdpMeta::from(r.meta);
    EXPECT_EQ(m.magic, kMetaMagic);
    EXPECT_EQ(m.ifindex, topo_.lan_ifindex);
    EXPECT_EQ(counter(SIPALG_CTR_XDP_IN_DIRECT), 0u);
}

TEST_F(LanXdp, WithoutTheWanTakingXdpFramesEverythingIsLeftToTc) {
    sipalg_config c = default_config(true);
    c.xdp_flags = 0;
    write_config(c);
    const auto in = build_udp_frame(media_out());
    expect_untouched(run_lan_xdp(in), in, XDP_PASS);
    EXPECT_EQ(counter(SIPALG_CTR_XDP_OUT), 0u);
}

TEST_F(LanXdp, DisabledAlgPassesUntouched) {
    set_enabled(false);
    const auto in = build_udp_frame(media_out());
    const RunResult r = run_lan_xdp(in);
    EXPECT_EQ(r.ret, XDP_PASS);
    EXPECT_EQ(r.out, in);
}

TEST_F(LanXdp, LeavesToTcWhatItDoesNotOwn) {
    UdpFrameSpec sip = phone_register(net::kPhone1, net::kPhone1Mac, 5060);
    UdpFrameSpec not_to_router = media_out();
    not_to_router.dst_mac = {0x02, 0x00, 0x00, 0x00, 0x0b, 0x77};
    UdpFrameSpec no_pinhole = media_out();
    no_pinhole.src_port = 40002;
    UdpFrameSpec last_hop = media_out();
    last_hop.ttl = 1;
    for (const UdpFrameSpec &s : {sip, not_to_router, no_pinhole, last_hop}) {
        const auto in = build_udp_frame(s);
        const RunResult r = run_lan_xdp(in);
        EXPECT_EQ(r.ret, XDP_PASS);
        EXPECT_EQ(r.out, in);
    }
    // A port the loader did not record (here: the WAN interface).
    const auto in = build_udp_frame(media_out());
    expect_untouched(run_xdp_on(skel_->progs.sipalg_lan_port_xdp, in, topo_.wan_ifindex), in,
                     XDP_PASS);
    EXPECT_EQ(counter(SIPALG_CTR_XDP_OUT), 0u);
    EXPECT_EQ(slot(40000).route[SIPALG_TO_LAN], 0u) << "nothing learned";
}

TEST_F(LanXdp, PartialChecksumsAreLeftToTcBothWays) {
    const auto out = with_partial_checksum(build_udp_frame(media_out()));
    RunResult r = run_lan_xdp(out);
    EXPECT_EQ(r.ret, XDP_PASS);
    EXPECT_EQ(r.out, out);
    // (What tc then does with it depends on the skb's CHECKSUM_PARTIAL flag, which
    // BPF_PROG_TEST_RUN cannot set; bridge_fastpath checks it with real sockets.)

    const auto in = with_partial_checksum(build_udp_frame(media_in()));
    r = run_xdp(in);
    EXPECT_EQ(r.ret, XDP_PASS);
    EXPECT_EQ(r.out, in);
    EXPECT_TRUE(r.meta.empty());
    EXPECT_EQ(counter(SIPALG_CTR_CSUM_PARTIAL), 2u);
    EXPECT_EQ(counter(SIPALG_CTR_XDP_OUT) + counter(SIPALG_CTR_XDP_FWD), 0u);
}

} // namespace
