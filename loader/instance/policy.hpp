// The optional behaviours of the ALG ("policies"), named for the CLI: one table says what each
// is called, which bit of sipalg_limits.policy holds it, its default and whether it can change
// while the ALG runs. load sets them (--policy NAME=on|off), `sipalg policy` lists and switches.
#pragma once

#include "sipalg_maps.h"

#include <cstdint>
#include <string>
#include <vector>

namespace sipalg {

struct PolicyInfo {
    const char *name;  // the CLI word
    std::uint32_t bit; // SIPALG_POLICY_*
    bool default_on;   // what load writes unless told otherwise
    bool runtime;      // can be switched without a reload
    const char *help;  // one line for --help and `sipalg policy`
};

const std::vector<PolicyInfo> &policy_table();

// The policy called name (UserError naming the known ones otherwise).
const PolicyInfo &find_policy(const std::string &name);

// The bits load writes when no --policy is given.
std::uint32_t default_policy_flags();

// flags with each "NAME=on|off" applied in order (UserError on a malformed one).
std::uint32_t apply_policy_assignments(std::uint32_t flags, const std::vector<std::string> &set);

// UserError if the limits switch on a policy their other fields cannot serve (e.g. failover
// without a server), saying what to give.
void check_policies(const sipalg_limits &l);

// "local-media off, ..." in table order.
std::string policies_text(std::uint32_t flags);

// --help text of load's --policy: every name, its default and what it does.
std::string policy_option_help();

} // namespace sipalg
