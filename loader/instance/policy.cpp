#include "instance/policy.hpp"

#include "cli/error.hpp"

namespace sipalg {

const std::vector<PolicyInfo> &policy_table() {
    static const std::vector<PolicyInfo> table = {
            {"local-media", SIPALG_POLICY_LOCAL_MEDIA, false, true,
             "a call between two phones of this LAN gets each phone's LAN address in the "
             "other's SDP, so media goes phone to phone (off: it hairpins through the router's "
             "public address, which also works)"},
            {"failover", SIPALG_POLICY_FAILOVER, false, true,
             "while the WAN is down (link down, no route to the registrar, or no answer for "
             "--failover-after), the phones' REGISTERs and new calls go to the internal SIP "
             "server of --failover-server, and to their registrar again once it is back; needs "
             "the daemon (off: they simply fail while the WAN is down)"},
    };
    return table;
}

const PolicyInfo &find_policy(const std::string &name) {
    std::string known;
    for (const auto &p : policy_table()) {
        if (name == p.name)
            return p;
        known += known.empty() ? "" : ", ";
        known += p.name;
    }
    throw UserError("unknown policy '" + name + "'; the policies are: " + known);
}

std::uint32_t default_policy_flags() {
    std::uint32_t flags = 0;
    for (const auto &p : policy_table())
        flags |= p.default_on ? p.bit : 0;
    return flags;
}

std::uint32_t apply_policy_assignments(std::uint32_t flags, const std::vector<std::string> &set) {
    for (const auto &a : set) {
        const auto eq = a.find('=');
        const std::string value = eq == std::string::npos ? "" : a.substr(eq + 1);
        if (eq == std::string::npos || (value != "on" && value != "off"))
            throw UserError("--policy " + a +
                            ": write NAME=on or NAME=off, e.g. --policy "
                            "local-media=on");
        const PolicyInfo &p = find_policy(a.substr(0, eq));
        flags = value == "on" ? (flags | p.bit) : (flags & ~p.bit);
    }
    return flags;
}

void check_policies(const sipalg_limits &l) {
    if ((l.policy & SIPALG_POLICY_FAILOVER) && !l.failover_ip)
        throw UserError("policy failover needs the internal SIP server: give --failover-server "
                        "A.B.C.D[:PORT] at load");
}

std::string policies_text(std::uint32_t flags) {
    std::string out;
    for (const auto &p : policy_table()) {
        out += out.empty() ? "" : ", ";
        out += std::string(p.name) + ((flags & p.bit) ? " on" : " off");
    }
    return out;
}

std::string policy_option_help() {
    std::string h = "switch an optional behaviour on or off (repeatable; later wins; `sipalg "
                    "policy` lists them and switches them without a reload):";
    for (const auto &p : policy_table())
        h += std::string("\n  ") + p.name + " (default " + (p.default_on ? "on" : "off") +
             "): " + p.help;
    return h;
}

} // namespace sipalg
