// Aging and limits, driven through the admin program: bindings expire with their lifetime,
// pinholes on inactivity, active media keeps the phone's binding alive, limits are enforced
// and counted, and the timer advances the ALG clock only while enabled.
#include "datapath.hpp"

#include <chrono>
#include <map>
#include <string>
#include <thread>

using namespace sipalg::test;

namespace {

class Aging : public SharedDatapath {
  protected:
    std::uint16_t register_phone1(std::uint16_t port, bool is_register = true) {
        const std::string msg = is_register ? sip_register(net::kPhone1, port, net::kRegistrar)
                                            : "INVITE sip:x SIP/2.0\r\nContent-Length: 0\r\n\r\n";
        const auto f = build_udp_frame(
                from_phone(net::kPhone1, net::kPhone1Mac, port, net::kRegistrar, 5060, msg));
        EXPECT_EQ(run_lan(f).ret, TC_ACT_REDIRECT);
        const auto b = binding(net::kPhone1, port);
        return b ? b->public_port : 0;
    }
    void rtp_in(std::uint16_t public_port) {
        const auto f =
                build_udp_frame(from_internet(net::kRemote, 50000, public_port, rtp_payload()));
        EXPECT_EQ(run_wan_in(f).ret, TC_ACT_REDIRECT);
    }
};

TEST_F(Aging, BindingExpiresWithItsLifetime) {
    set_clock(100);
    ASSERT_EQ(register_phone1(5060), 5060);
    set_clock(100 + 3599);
    sweep();
    EXPECT_TRUE(binding(net::kPhone1, 5060));
    set_clock(100 + 3600);
    sweep();
    EXPECT_FALSE(binding(net::kPhone1, 5060));
    EXPECT_EQ(slot(5060).state, unsigned(SIPALG_SLOT_FREE));
    EXPECT_EQ(state().bindings, 0u);
    EXPECT_EQ(counter(SIPALG_CTR_BIND_EXPIRED), 1u);
    // Inbound SIP to the freed port is no longer the ALG's.
    const auto f = build_udp_frame(from_internet(net::kRegistrar, 5060, 5060, "OPTIONS x\r\n\r\n"));
    EXPECT_EQ(run_wan_in(f).ret, TC_ACT_OK);
}

TEST_F(Aging, PinholeClosesAfterInactivityOnly) {
    set_clock(100);
    ASSERT_EQ(open_pinhole(net::kPhone1, 40000, net::kRemote, 50000).result, 0);
    set_clock(150);
    rtp_in(40000); // activity at 150
    set_clock(209);
    sweep();
    EXPECT_TRUE(pinhole(net::kPhone1, 40000));
    set_clock(210);
    sweep();
    EXPECT_FALSE(pinhole(net::kPhone1, 40000));
    EXPECT_EQ(slot(40000).state, unsigned(SIPALG_SLOT_FREE));
    EXPECT_EQ(state().pinholes, 0u);
    EXPECT_EQ(counter(SIPALG_CTR_PIN_EXPIRED), 1u);
    const auto f = build_udp_frame(from_internet(net::kRemote, 50000, 40000, rtp_payload()));
    EXPECT_EQ(run_wan_in(f).ret, TC_ACT_OK);
}

TEST_F(Aging, LiveMediaKeepsTheOwnersBindingAlive) {
    set_clock(100);
    const std::uint16_t bport = register_phone1(5062, false); // 300 s lifetime
    ASSERT_EQ(bport, 5062);
    ASSERT_EQ(open_pinhole(net::kPhone1, 40000, net::kRemote, 50000).result, 0);
    // The admin op has no owner; set it as the rewriter will (owner = the phone's binding).
    sipalg_slot s = slot(40000);
    s.owner = bport;
    ASSERT_NO_FATAL_FAILURE(write_element(skel_->maps.sipalg_slots, 40000, s));
    for (std::uint32_t t = 150; t <= 1000; t += 50) {
        set_clock(t);
        rtp_in(40000);
        sweep();
    }
    EXPECT_TRUE(binding(net::kPhone1, 5062)) << "expired under a call with live media";
    set_clock(1000 + 60); // media stops: pinhole goes, then the binding's own lifetime runs out
    sweep();
    EXPECT_FALSE(pinhole(net::kPhone1, 40000));
    set_clock(1000 + 300);
    sweep();
    EXPECT_FALSE(binding(net::kPhone1, 5062));
}

TEST_F(Aging, PerPhoneAndTotalLimitsAreEnforcedAndCounted) {
    sipalg_config c = default_config(true);
    c.pin_max_phone = 2;
    c.pin_max_total = 3;
    write_config(c);
    EXPECT_EQ(open_pinhole(net::kPhone1, 40000, net::kRemote, 50000).result, 0);
    EXPECT_EQ(open_pinhole(net::kPhone1, 40002, net::kRemote, 50002).result, 0);
    EXPECT_EQ(open_pinhole(net::kPhone1, 40004, net::kRemote, 50004).result, -EDQUOT);
    EXPECT_EQ(counter(SIPALG_CTR_PIN_LIMIT_PHONE), 1u);
    EXPECT_EQ(open_pinhole(net::kPhone2, 40000, net::kRemote, 50006).result, 0);
    EXPECT_EQ(open_pinhole(net::kPhone2, 40002, net::kRemote, 50008).result, -ENOSPC);
    EXPECT_EQ(counter(SIPALG_CTR_PIN_LIMIT_TOTAL), 1u);
    EXPECT_EQ(state().pinholes, 3u);
    // Re-opening an existing pinhole is a refresh, not a new one.
    EXPECT_EQ(open_pinhole(net::kPhone1, 40000, net::kRemote, 50000).result, 0);
    EXPECT_EQ(state().pinholes, 3u);
    // Closing one frees room for the phone.
    sipalg_admin a{};
    a.op = SIPALG_OP_PINHOLE_CLOSE;
    a.priv_ip = be32(net::kPhone1);
    a.priv_port = htons(40002);
    EXPECT_EQ(admin(a).result, 0);
    EXPECT_EQ(admin(a).result, -ENOENT);
    EXPECT_EQ(open_pinhole(net::kPhone1, 40004, net::kRemote, 50004).result, 0);
}

TEST_F(Aging, AdminClosesABinding) {
    ASSERT_EQ(register_phone1(5060), 5060);
    sipalg_admin a{};
    a.op = SIPALG_OP_BINDING_CLOSE;
    a.priv_ip = be32(net::kPhone1);
    a.priv_port = htons(5060);
    EXPECT_EQ(admin(a).result, 0);
    EXPECT_FALSE(binding(net::kPhone1, 5060));
    EXPECT_EQ(slot(5060).state, unsigned(SIPALG_SLOT_FREE));
    EXPECT_EQ(state().bindings, 0u);
}

TEST_F(Aging, TimerAdvancesTheClockOnlyWhileEnabled) {
    sipalg_admin a{};
    a.op = SIPALG_OP_TIMER_START;
    ASSERT_EQ(admin(a).result, 0);
    ASSERT_EQ(admin(a).result, 0); // idempotent
    std::this_thread::sleep_for(std::chrono::milliseconds(1600));
    const sipalg_state s1 = state();
    EXPECT_GE(s1.ticks, 3u);
    EXPECT_GE(s1.now_s, 2u); // started at 1, >= 1 s of enabled time
    set_enabled(false);
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    const sipalg_state s2 = state();
    std::this_thread::sleep_for(std::chrono::milliseconds(1300));
    const sipalg_state s3 = state();
    EXPECT_GT(s3.ticks, s2.ticks);
    EXPECT_EQ(s3.alg_ns, s2.alg_ns) << "the ALG clock must stand still while disabled";
    EXPECT_GE(counter(SIPALG_CTR_AGING_TICKS), s3.ticks);
}

TEST_F(Aging, TimerSweepsWithoutAnyPackets) {
    ASSERT_EQ(open_pinhole(net::kPhone1, 40000, net::kRemote, 50000).result, 0);
    sipalg_config c = default_config(true);
    c.pin_idle_s = 1;
    write_config(c);
    sipalg_admin a{};
    a.op = SIPALG_OP_TIMER_START;
    ASSERT_EQ(admin(a).result, 0);
    for (int i = 0; i < 40 && pinhole(net::kPhone1, 40000); ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    EXPECT_FALSE(pinhole(net::kPhone1, 40000)) << "the timer did not age the idle pinhole";
}

} // namespace

// The tests of this binary share one loaded object (SharedDatapath): its reset must leave every
// map exactly as a fresh load of the object does, or one test's state would leak into the next.
namespace {

// Map name -> its entries, key bytes -> value bytes (per-CPU values: all CPUs' copies).
using MapContents = std::map<std::string, std::map<std::string, std::string>>;

MapContents contents(bpf_object *obj) {
    MapContents all;
    const std::size_t ncpus = static_cast<std::size_t>(libbpf_num_possible_cpus());
    bpf_map *map;
    bpf_object__for_each_map(map, obj) {
        const auto type = bpf_map__type(map);
        const bool percpu = type == BPF_MAP_TYPE_PERCPU_ARRAY || type == BPF_MAP_TYPE_PERCPU_HASH ||
                            type == BPF_MAP_TYPE_LRU_PERCPU_HASH;
        const std::size_t vsize = percpu ? (bpf_map__value_size(map) + 7u) / 8u * 8u * ncpus
                                         : bpf_map__value_size(map);
        auto &entries = all[bpf_map__name(map)];
        std::string key(bpf_map__key_size(map), '\0'), next(key.size(), '\0');
        const void *prev = nullptr;
        while (bpf_map_get_next_key(bpf_map__fd(map), prev, next.data()) == 0) {
            std::string value(vsize, '\0');
            if (bpf_map_lookup_elem(bpf_map__fd(map), next.data(), value.data()) == 0)
                entries[next] = value;
            key = next;
            prev = key.data();
        }
    }
    return all;
}

class MapReset : public SharedDatapath {};

TEST_F(MapReset, LeavesEveryMapAsAFreshLoadDoes) {
    sipalg_bpf *fresh = sipalg_bpf__open_and_load();
    ASSERT_NE(fresh, nullptr);
    const MapContents want = contents(fresh->obj);
    sipalg_bpf__destroy(fresh);

    // State in bindings, pinholes, dialogs, rates, slots, counters, the clock, config, limits.
    write_limits(load_limits());
    set_clock(100);
    register_phone1();
    ASSERT_EQ(open_pinhole(net::kPhone1, 40000, net::kRemote, 50000).result, 0);
    const std::string invite = "INVITE sip:2001@198.51.100.20 SIP/2.0\r\n"
                               "Via: SIP/2.0/UDP 192.168.1.10:5060;branch=z9hG4bK-r\r\n"
                               "From: <sip:1001@192.168.1.10:5060>;tag=f\r\n"
                               "To: <sip:2001@198.51.100.20>\r\nCall-ID: reset@192.168.1.10\r\n"
                               "CSeq: 1 INVITE\r\nContact: <sip:1001@192.168.1.10:5060>\r\n"
                               "Content-Length: 0\r\n\r\n";
    ASSERT_EQ(run_lan(build_udp_frame(from_phone(net::kPhone1, net::kPhone1Mac, 5060, net::kRemote,
                                                 5060, invite)))
                      .ret,
              TC_ACT_REDIRECT);
    run_wan_in(build_udp_frame(from_internet(net::kRemote, 50000, 40000, rtp_payload())));
    const MapContents dirty = contents(skel_->obj);
    ASSERT_EQ(dirty.size(), want.size());
    for (const char *name :
         {"sipalg_binds", "sipalg_pins", "sipalg_dialogs", "sipalg_rates", "sipalg_slots",
          "sipalg_counters", "sipalg_state", "sipalg_config", "sipalg_limits"})
        EXPECT_NE(dirty.at(name), want.at(name)) << name << " was not changed: proves nothing";

    ASSERT_EQ(reset_maps(skel_->obj), "");
    const MapContents got = contents(skel_->obj);
    ASSERT_EQ(got.size(), want.size());
    for (const auto &[name, entries] : want)
        EXPECT_TRUE(got.at(name) == entries) << name << " differs from a fresh load's";
}

} // namespace
