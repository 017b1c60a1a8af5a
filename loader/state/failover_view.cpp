#include "state/failover_view.hpp"

#include "instance/discover.hpp"
#include "slow/wan_health.hpp"

#include <arpa/inet.h>

#include <ctime>

namespace sipalg {

namespace {

// The daemon publishes every 500 ms: older than this and nobody is watching the WAN.
constexpr std::uint64_t kStaleNs = 3'000'000'000ull;

} // namespace

FailoverView failover_view(const sipalg_limits &l, const sipalg_failover &f, std::uint64_t now_ns) {
    FailoverView v;
    v.policy = (l.policy & SIPALG_POLICY_FAILOVER) != 0;
    if (l.failover_ip)
        v.server = format_ipv4(ntohl(l.failover_ip)) + ":" + std::to_string(l.failover_port);
    v.after_s = l.failover_after_s;
    v.watched = f.updated_ns && now_ns >= f.updated_ns && now_ns - f.updated_ns <= kStaleNs;
    v.transitions = f.transitions;
    v.redirected = f.redirected;
    if (!v.watched)
        return v;
    v.wan = f.why == SIPALG_WAN_UP ? "up" : "down";
    v.why = slow::wan_why_word(f.why);
    if (f.why == SIPALG_WAN_NO_ROUTE || f.why == SIPALG_WAN_NO_ANSWER)
        v.peer = format_ipv4(ntohl(f.peer));
    v.since_ms = f.since_ms;
    v.redirecting = f.active != 0;
    return v;
}

std::string utc_text(std::uint64_t ms) {
    const std::time_t t = static_cast<std::time_t>(ms / 1000);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

std::string failover_text(const FailoverView &v) {
    std::string s = std::string("policy ") + (v.policy ? "on" : "off") + ", server " +
                    (v.server.empty() ? "none" : v.server);
    s += v.after_s ? ", no answer for " + std::to_string(v.after_s) + " s means down"
                   : ", no-answer check off";
    if (!v.watched)
        return s + "; WAN state unknown (the daemon watches it: sipalg daemon --wan IF)";
    s += "; WAN " + v.wan;
    if (v.since_ms)
        s += " since " + utc_text(v.since_ms);
    if (v.wan == "down") {
        s += " (" + v.why;
        if (!v.peer.empty())
            s += " " + v.peer;
        s += ")";
    }
    s += ", " + std::to_string(v.transitions) + " transitions; ";
    if (v.redirecting)
        s += "redirecting to the server";
    else if (v.wan == "down")
        s += v.policy ? "not redirecting (the ALG is disabled or the redirect failed)"
                      : "not redirecting (policy off)";
    else
        s += "not redirecting";
    return s + ", " + std::to_string(v.redirected) + " packets redirected";
}

} // namespace sipalg
