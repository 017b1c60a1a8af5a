// The options of `sipalg daemon`: the slow path's mark, routing table and socket, and what one
// peer may hold of the SIP-over-TCP proxy.
#pragma once

#include "slow/daemon.hpp"

#include <CLI/CLI.hpp>

#include <cstdint>

namespace sipalg {

struct DaemonCliOptions {
    slow::DaemonOptions daemon;
    // Whole seconds on the command line; DaemonOptions holds durations.
    std::uint32_t tcp_idle_s = 0;
    std::uint32_t tcp_handshake_s = 0;
};

void add_daemon_options(CLI::App &daemon, DaemonCliOptions &d);

// Validates what was given (UserError naming the option) and fills in the durations.
void finish_daemon_options(DaemonCliOptions &d);

} // namespace sipalg
