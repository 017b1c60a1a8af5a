// The WAN failover policy as `status` shows it: its settings (the limits map) joined with what
// the daemon last published (the failover map). Pure, so every rendering is tested without root.
#pragma once

#include "sipalg_maps.h"

#include <cstdint>
#include <optional>
#include <string>

namespace sipalg {

struct FailoverView {
    bool policy = false;         // the failover policy bit
    std::string server;          // "a.b.c.d:port", empty: none configured
    std::uint32_t after_s = 0;   // --failover-after (0: the no-answer check is off)
    bool watched = false;        // the daemon published within the last few seconds
    std::string wan = "unknown"; // "up", "down", "unknown" (no daemon watching)
    std::string why = "unknown"; // wan_why_word: "up", "link_down", "no_route", "no_answer"
    std::string peer;            // no_route / no_answer: the registrar concerned
    std::uint64_t since_ms = 0;  // CLOCK_REALTIME ms of the last up/down change (0: none seen)
    std::uint32_t transitions = 0;
    bool redirecting = false;     // the redirect is installed now
    std::uint64_t redirected = 0; // packets it took (the daemon's last reading)
};

// now_ns: CLOCK_MONOTONIC; the daemon's state counts while it is at most a few seconds old.
FailoverView failover_view(const sipalg_limits &l, const sipalg_failover &f, std::uint64_t now_ns);

// "2026-12-04T14:30:01Z" (UTC) of a CLOCK_REALTIME ms stamp.
std::string utc_text(std::uint64_t ms);

// The status line's text after "failover: ".
std::string failover_text(const FailoverView &v);

} // namespace sipalg
