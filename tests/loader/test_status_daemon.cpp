// How `status` judges the slow-path daemon from the state map: by the datapath's ALG clock and
// by wall time, so a daemon killed while the ALG is disabled (its clock standing still) does
// not look attached.
#include "state/status.hpp"

#include <gtest/gtest.h>

namespace sipalg {
namespace {

constexpr double kNow = 1000.0; // CLOCK_MONOTONIC seconds

sipalg_state beating(double beat_age_s, std::uint32_t clock_s = 50) {
    sipalg_state st{};
    st.now_s = clock_s;
    st.slow_mark = 0x51a1;
    st.daemon_s = clock_s + 1; // a beat in this ALG second
    st.daemon_ns = static_cast<std::uint64_t>((kNow - beat_age_s) * 1e9);
    return st;
}

TEST(StatusDaemon, FreshBeatIsAttached) {
    const DaemonView d = daemon_view(beating(0.4), kNow);
    EXPECT_TRUE(d.attached);
    EXPECT_FALSE(d.unclean);
    ASSERT_TRUE(d.beat_age_s);
    EXPECT_NEAR(*d.beat_age_s, 0.4, 1e-3);
}

// The ALG clock stood still (disabled) so the datapath's check alone still passes.
TEST(StatusDaemon, KilledWhileClockStandsStillIsNotAttached) {
    const sipalg_state st = beating(30.0);
    ASSERT_TRUE(sipalg_daemon_fresh(&st));
    const DaemonView d = daemon_view(st, kNow);
    EXPECT_FALSE(d.attached);
    EXPECT_TRUE(d.unclean);
}

TEST(StatusDaemon, StaleByAlgClockIsNotAttached) {
    sipalg_state st = beating(0.1);
    st.now_s += 10;
    EXPECT_FALSE(daemon_view(st, kNow).attached);
}

TEST(StatusDaemon, CleanStopIsNeitherAttachedNorUnclean) {
    sipalg_state st{};
    st.now_s = 50;
    const DaemonView d = daemon_view(st, kNow);
    EXPECT_FALSE(d.attached);
    EXPECT_FALSE(d.unclean);
    EXPECT_FALSE(d.beat_age_s);
}

TEST(StatusDaemon, MoreThanTwoSecondsWithoutBeatIsDead) {
    EXPECT_TRUE(daemon_view(beating(1.9), kNow).attached);
    EXPECT_FALSE(daemon_view(beating(2.5), kNow).attached);
}

} // namespace
} // namespace sipalg
