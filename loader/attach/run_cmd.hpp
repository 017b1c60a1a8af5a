// Running a system tool (nft, ip, tc) without a shell.
#pragma once

#include <string>
#include <vector>

namespace sipalg {

// Runs argv with stdin and stderr on /dev/null, stdout into *out if given. Returns the exit
// status, -1 if it could not run or was killed.
int run_cmd(const std::vector<std::string> &argv, std::string *out = nullptr);

} // namespace sipalg
