#include "slow/wan_health.hpp"

#include "instance/discover.hpp"

#include <algorithm>

namespace sipalg::slow {

WanVerdict judge_wan(const WanSignals &s, const WanVerdict &prev) {
    if (!s.link_up)
        return {SIPALG_WAN_LINK_DOWN, 0};
    if (s.unrouted)
        return {SIPALG_WAN_NO_ROUTE, *s.unrouted};
    // Down for want of an answer: only the registrar's answer to the probe brings it back.
    if (prev.why == SIPALG_WAN_NO_ANSWER && !s.probe_answered)
        return prev;
    if (prev.why != SIPALG_WAN_NO_ANSWER && s.silent)
        return {SIPALG_WAN_NO_ANSWER, *s.silent};
    return {};
}

const char *wan_why_word(std::uint32_t why) {
    switch (why) {
    case SIPALG_WAN_UP:
        return "up";
    case SIPALG_WAN_LINK_DOWN:
        return "link_down";
    case SIPALG_WAN_NO_ROUTE:
        return "no_route";
    case SIPALG_WAN_NO_ANSWER:
        return "no_answer";
    default:
        return "unknown";
    }
}

std::string wan_text(const WanVerdict &v) {
    switch (v.why) {
    case SIPALG_WAN_UP:
        return "up";
    case SIPALG_WAN_LINK_DOWN:
        return "down (link down)";
    case SIPALG_WAN_NO_ROUTE:
        return "down (no route to " + format_ipv4(v.peer) + ")";
    case SIPALG_WAN_NO_ANSWER:
        return "down (no answer from " + format_ipv4(v.peer) + ")";
    }
    return "down";
}

std::optional<std::uint32_t> RegistrarWatch::update(const std::vector<RegSeen> &regs,
                                                    std::uint64_t now_s) {
    std::map<std::pair<std::uint32_t, std::uint16_t>, std::uint64_t> next;
    std::optional<std::uint32_t> overdue;
    for (const RegSeen &r : regs) {
        const auto key = std::make_pair(r.registrar, r.bind_port);
        const auto it = since_.find(key);
        std::uint64_t since = it == since_.end() || r.answered ? now_s : it->second;
        next[key] = since;
        if (after_s_ && !r.answered && now_s - since >= after_s_ && !overdue)
            overdue = r.registrar;
    }
    since_ = std::move(next);
    return overdue;
}

void RegistrarWatch::restart(std::uint64_t now_s) {
    for (auto &[key, since] : since_)
        since = now_s;
}

std::vector<std::uint32_t> registrars_of(const std::vector<RegSeen> &regs) {
    std::vector<std::uint32_t> out;
    for (const RegSeen &r : regs)
        if (std::find(out.begin(), out.end(), r.registrar) == out.end())
            out.push_back(r.registrar);
    return out;
}

} // namespace sipalg::slow
