// The policy table and its parsing: defaults, --policy NAME=on|off, and the refusals.
#include "cli/error.hpp"
#include "instance/config.hpp"
#include "instance/policy.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>

using namespace sipalg;

namespace {

// Runs f, which must throw a UserError whose message contains phrase.
template <typename F>
void expect_user_error(F f, const std::string &phrase) {
    try {
        f();
        ADD_FAILURE() << "no error; expected one containing '" << phrase << "'";
    } catch (const UserError &e) {
        EXPECT_NE(std::string(e.what()).find(phrase), std::string::npos) << e.what();
    }
}

TEST(Policy, TableNamesAndBitsAreDistinct) {
    std::set<std::string> names;
    std::uint32_t bits = 0;
    for (const auto &p : policy_table()) {
        EXPECT_TRUE(names.insert(p.name).second) << p.name;
        EXPECT_EQ(bits & p.bit, 0u) << p.name;
        EXPECT_EQ(p.bit & (p.bit - 1), 0u) << p.name << ": one bit each";
        bits |= p.bit;
        EXPECT_NE(policy_option_help().find(p.name), std::string::npos) << p.name;
    }
}

TEST(Policy, LocalMediaIsOffByDefault) {
    EXPECT_EQ(default_policy_flags() & SIPALG_POLICY_LOCAL_MEDIA, 0u);
    EXPECT_EQ(make_limits(AlgSettings{}).policy & SIPALG_POLICY_LOCAL_MEDIA, 0u);
    EXPECT_NE(policies_text(0).find("local-media off"), std::string::npos);
}

TEST(Policy, AssignmentsApplyInOrder) {
    EXPECT_EQ(apply_policy_assignments(0, {"local-media=on"}), SIPALG_POLICY_LOCAL_MEDIA);
    EXPECT_EQ(apply_policy_assignments(0, {"local-media=on", "local-media=off"}), 0u);
    AlgSettings s;
    s.policies = {"local-media=on"};
    EXPECT_EQ(make_limits(s).policy & SIPALG_POLICY_LOCAL_MEDIA, SIPALG_POLICY_LOCAL_MEDIA);
    EXPECT_NE(policies_text(SIPALG_POLICY_LOCAL_MEDIA).find("local-media on"), std::string::npos);
}

TEST(Policy, BadAssignmentsSayWhatToWrite) {
    expect_user_error([] { apply_policy_assignments(0, {"local-media"}); }, "NAME=on or NAME=off");
    expect_user_error([] { apply_policy_assignments(0, {"local-media=yes"}); }, "NAME=on");
    expect_user_error([] { apply_policy_assignments(0, {"lokal-media=on"}); },
                      "the policies are: local-media");
}

TEST(Policy, FailoverWithoutAServerIsRefused) {
    sipalg_limits l{};
    l.policy = SIPALG_POLICY_FAILOVER;
    expect_user_error([&] { check_policies(l); }, "--failover-server");
    l.failover_ip = 0x0a0a0a0a;
    check_policies(l);
}

} // namespace
