// `sipalg daemon`: the userspace slow path (see daemon.cpp for the hand-off and why).
#pragma once

#include "instance/instance.hpp"
#include "slow/tcp_limits.hpp"

#include <cstdint>
#include <string>

namespace sipalg::slow {

struct DaemonOptions {
    Target target;
    std::uint32_t mark = 0x51a1;       // skb mark the BPF programs set on slow-path packets
    std::uint32_t route_table = 0x51a; // policy-routing table that delivers them locally
    std::uint16_t listen_port = 5097;  // the transparent socket on 127.0.0.1
    TcpLimits tcp;                     // the TCP proxy's connection limits
    bool verbose = false;
};

// Runs until SIGINT/SIGTERM; returns the exit code. Throws UserError on setup failures.
int run_daemon(const DaemonOptions &o);

} // namespace sipalg::slow
