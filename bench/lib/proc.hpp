// Running other programs from a bench that blocks the termination signals in all its threads
// (to tear down on Ctrl-C from one place): children get the default mask and dispositions
// back, and every wait is bounded.
#pragma once

#include <string>
#include <vector>

namespace bench {

// Runs a shell command quietly (no system(): it would ignore SIGINT meanwhile); bounded to
// 60 s. Returns its exit status, or -1.
int sh(const std::string &cmd);

// sh(), throwing std::runtime_error unless the command exits 0.
void must_sh(const std::string &cmd);

// Runs argv with stdout to /dev/null, bounded to 20 s; returns the wall time (ms) from spawn
// to exit. Throws if it cannot start, times out or exits non-zero.
double timed_spawn(const std::vector<std::string> &args);

} // namespace bench
