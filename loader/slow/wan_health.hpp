// Is the WAN up? The failover policy's decision, pure: the daemon gathers the signals (link
// flags and routes from the kernel, the registrations table the fast path keeps, the answer to
// its own probe) and these functions say what they mean, so every rule is tested without root.
//
// The WAN is down when
//   - its interface is down or has no carrier (link down),
//   - a registrar the phones use is not routed out of it (no route), or
//   - a registrar has left the phones' REGISTERs without a 2xx for failover_after seconds
//     while the link and the routes were fine (no answer).
// It is up again when the link and the routes are back and, after "no answer", once the
// registrar answers the daemon's probe (the phones' own REGISTERs go to the internal server
// meanwhile, so they cannot tell).
#pragma once

#include "sipalg_maps.h"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace sipalg::slow {

struct WanSignals {
    bool link_up = true;                   // IFF_UP and IFF_RUNNING (carrier)
    std::optional<std::uint32_t> unrouted; // a registrar (host order) not routed out of the WAN
    std::optional<std::uint32_t> silent;   // a registrar overdue with its answer (RegistrarWatch)
    bool probe_answered = false;           // the registrar answered the daemon's probe
};

struct WanVerdict {
    sipalg_wan_why why = SIPALG_WAN_UP;
    std::uint32_t peer = 0; // host order: the registrar concerned (no route, no answer)
    bool down() const { return why != SIPALG_WAN_UP; }
    bool operator==(const WanVerdict &) const = default;
};

// The WAN's state now, from the signals and the previous verdict.
WanVerdict judge_wan(const WanSignals &s, const WanVerdict &prev);

// The redirect is in force exactly while the policy is on (with a server), the ALG enabled
// (disabled means plain NAT for everything) and the WAN down.
inline bool redirect_wanted(bool policy_on, bool alg_enabled, const WanVerdict &v) {
    return policy_on && alg_enabled && v.down();
}

// "up", "down (link down)", "down (no route to 203.0.113.10)", ...: for logs and status.
std::string wan_text(const WanVerdict &v);
// The JSON word of a reason: "up", "link_down", "no_route", "no_answer".
const char *wan_why_word(std::uint32_t why);

// One entry of the registrations table, as the watch needs it.
struct RegSeen {
    std::uint32_t registrar = 0; // host order
    std::uint16_t bind_port = 0;
    bool answered = false; // SIPALG_REG_ANSWERED: the latest REGISTER got its 2xx
};

// Which registrar keeps the phones waiting. For every (registrar, binding) it remembers when it
// last saw the entry answered (or first saw it, or the WAN came back up); a registrar is
// overdue once one of its entries has been unanswered for `after_s` since then. Entries that
// are gone are forgotten.
class RegistrarWatch {
  public:
    explicit RegistrarWatch(std::uint32_t after_s) : after_s_(after_s) {}
    // now_s: any monotonic seconds. The overdue registrar, if any (0 after_s: never).
    std::optional<std::uint32_t> update(const std::vector<RegSeen> &regs, std::uint64_t now_s);
    // The WAN is back: waiting starts again from now.
    void restart(std::uint64_t now_s);

  private:
    std::uint32_t after_s_;
    std::map<std::pair<std::uint32_t, std::uint16_t>, std::uint64_t> since_;
};

// The registrars the table names, each once, in order: what the route check and the probe use.
std::vector<std::uint32_t> registrars_of(const std::vector<RegSeen> &regs);

} // namespace sipalg::slow
