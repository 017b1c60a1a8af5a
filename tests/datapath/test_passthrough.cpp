// Runs the real BPF programs (the same object the loader embeds) through BPF_PROG_TEST_RUN on
// real frames. With nothing but the enable flag configured (no public address: the ALG owns no
// packet), the WAN programs must pass every packet byte-for-byte unchanged and count it, whether
// the ALG is enabled or not. The datapath itself is tested in test_{outbound,inbound,...}.cpp.
// Needs root (loads programs).
#include "bpf_util.hpp"
#include "packet.hpp"
#include "sipalg.skel.h"
#include "sipalg_maps.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <vector>

using namespace sipalg::test;

namespace {

struct Frame {
    const char *name;
    std::vector<std::uint8_t> bytes;
};

Frame sip_register_frame() {
    return {"sip_register",
            build_udp_frame(udp_spec("192.168.1.10", 5060, "198.51.100.7", 5060,
                                     sip_register("192.168.1.10", 5060, "198.51.100.7")))};
}

Frame non_sip_frame() {
    return {"non_sip_udp",
            build_udp_frame(udp_spec("203.0.113.9", 40000, "192.168.1.10", 40002, rtp_payload()))};
}

enum class Prog { Xdp, Tc };

struct Case {
    Prog prog;
    bool enabled;
    bool sip;
};

std::string describe(const Case &c) {
    return std::string(c.prog == Prog::Xdp ? "xdp" : "tc") +
           (c.enabled ? "_enabled" : "_disabled") + (c.sip ? "_sip" : "_nonsip");
}

std::string case_name(const testing::TestParamInfo<Case> &info) {
    return describe(info.param);
}

// gtest prints parameters of failing tests; make that readable.
[[maybe_unused]] void PrintTo(const Case &c, std::ostream *os) {
    *os << describe(c);
}

class BpfProgs : public testing::Test {
  protected:
    void SetUp() override {
        ASSERT_EQ(geteuid(), 0u) << "BPF_PROG_TEST_RUN tests load programs: run them as root";
        libbpf_set_print(quiet_libbpf);
        skel_ = sipalg_bpf__open_and_load();
        ASSERT_NE(skel_, nullptr) << "loading the BPF object failed (verifier?)";
    }
    void TearDown() override {
        if (skel_)
            sipalg_bpf__destroy(skel_);
    }

    void set_enabled(bool on) {
        sipalg_config cfg{};
        cfg.enabled = on ? 1 : 0;
        const __u32 key = SIPALG_CONFIG_KEY;
        ASSERT_EQ(bpf_map__update_elem(skel_->maps.sipalg_config, &key, sizeof(key), &cfg,
                                       sizeof(cfg), BPF_ANY),
                  0);
    }

    std::uint64_t counter(enum sipalg_counter idx) {
        return percpu_sum(skel_->maps.sipalg_counters, idx);
    }

    // Runs `prog` once on `in`; returns the program's return value and fills `out`.
    __u32 run(Prog prog, const std::vector<std::uint8_t> &in, std::vector<std::uint8_t> &out) {
        std::vector<std::uint8_t> buf(in.size() + 256, 0xa5);
        LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = in.data(), .data_out = buf.data(),
                    .data_size_in = static_cast<__u32>(in.size()),
                    .data_size_out = static_cast<__u32>(buf.size()), .repeat = 1);
        const int fd = bpf_program__fd(prog == Prog::Xdp ? skel_->progs.sipalg_wan_xdp
                                                         : skel_->progs.sipalg_wan_egress);
        EXPECT_EQ(bpf_prog_test_run_opts(fd, &opts), 0) << "BPF_PROG_TEST_RUN failed";
        buf.resize(opts.data_size_out);
        out = std::move(buf);
        return opts.retval;
    }

    sipalg_bpf *skel_ = nullptr;
};

TEST_F(BpfProgs, MapLayoutMatchesSharedHeader) {
    EXPECT_EQ(bpf_map__value_size(skel_->maps.sipalg_config), sizeof(sipalg_config));
    EXPECT_EQ(bpf_map__max_entries(skel_->maps.sipalg_config), 1u);
    EXPECT_EQ(bpf_map__type(skel_->maps.sipalg_config), BPF_MAP_TYPE_ARRAY);
    EXPECT_EQ(bpf_map__type(skel_->maps.sipalg_counters), BPF_MAP_TYPE_PERCPU_ARRAY);
    EXPECT_EQ(bpf_map__max_entries(skel_->maps.sipalg_counters), unsigned(SIPALG_CTR_CAPACITY));
    EXPECT_STREQ(bpf_map__name(skel_->maps.sipalg_config), SIPALG_MAP_CONFIG);
    EXPECT_STREQ(bpf_map__name(skel_->maps.sipalg_counters), SIPALG_MAP_COUNTERS);
    EXPECT_STREQ(bpf_program__name(skel_->progs.sipalg_wan_xdp), SIPALG_PROG_WAN_XDP);
    EXPECT_STREQ(bpf_program__name(skel_->progs.sipalg_wan_egress), SIPALG_PROG_WAN_EGRESS);
}

TEST_F(BpfProgs, ConfigStartsDisabled) {
    sipalg_config cfg{};
    cfg.enabled = 0xdead;
    const __u32 key = SIPALG_CONFIG_KEY;
    ASSERT_EQ(bpf_map__lookup_elem(skel_->maps.sipalg_config, &key, sizeof(key), &cfg, sizeof(cfg),
                                   0),
              0);
    EXPECT_EQ(cfg.enabled, 0u);
}

class PassThrough : public BpfProgs, public testing::WithParamInterface<Case> {};

TEST_P(PassThrough, ReturnsPassLeavesBytesAndCounts) {
    const Case c = GetParam();
    const Frame frame = c.sip ? sip_register_frame() : non_sip_frame();
    // The input itself must be a valid frame, or "unchanged" proves little.
    ASSERT_TRUE(ipv4_checksum_ok(frame.bytes)) << frame.name;
    ASSERT_TRUE(udp_checksum_ok(frame.bytes)) << frame.name;
    set_enabled(c.enabled);

    std::vector<std::uint8_t> out;
    const __u32 ret = run(c.prog, frame.bytes, out);
    EXPECT_EQ(ret, c.prog == Prog::Xdp ? __u32{XDP_PASS} : __u32{TC_ACT_OK});
    EXPECT_EQ(out, frame.bytes) << "program modified the packet";
    EXPECT_TRUE(udp_checksum_ok(out));

    // A second packet: counters accumulate, they are not just set.
    run(c.prog, frame.bytes, out);
    const bool xdp = c.prog == Prog::Xdp;
    const std::uint64_t mine = 2, theirs = 0;
    EXPECT_EQ(counter(SIPALG_CTR_XDP_SEEN), xdp ? mine : theirs);
    EXPECT_EQ(counter(SIPALG_CTR_XDP_PASS), xdp ? mine : theirs);
    EXPECT_EQ(counter(SIPALG_CTR_TC_SEEN), xdp ? theirs : mine);
    EXPECT_EQ(counter(SIPALG_CTR_TC_PASS), xdp ? theirs : mine);
    // The enable flag is read on every packet: "alg_off" counts only while disabled.
    EXPECT_EQ(counter(SIPALG_CTR_XDP_ALG_OFF), xdp && !c.enabled ? mine : theirs);
    EXPECT_EQ(counter(SIPALG_CTR_TC_ALG_OFF), !xdp && !c.enabled ? mine : theirs);
}

INSTANTIATE_TEST_SUITE_P(AllCombinations, PassThrough,
                         testing::Values(Case{Prog::Xdp, false, true}, Case{Prog::Xdp, true, true},
                                         Case{Prog::Xdp, false, false},
                                         Case{Prog::Xdp, true, false}, Case{Prog::Tc, false, true},
                                         Case{Prog::Tc, true, true}, Case{Prog::Tc, false, false},
                                         Case{Prog::Tc, true, false}),
                         case_name);

TEST_F(BpfProgs, FlagFlipTakesEffectOnNextPacket) {
    const Frame frame = sip_register_frame();
    std::vector<std::uint8_t> out;
    run(Prog::Xdp, frame.bytes, out); // disabled
    set_enabled(true);
    run(Prog::Xdp, frame.bytes, out); // enabled
    set_enabled(false);
    run(Prog::Xdp, frame.bytes, out); // disabled again
    EXPECT_EQ(counter(SIPALG_CTR_XDP_SEEN), 3u);
    EXPECT_EQ(counter(SIPALG_CTR_XDP_ALG_OFF), 2u);
}

} // namespace
