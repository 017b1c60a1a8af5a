// Running a system tool (nft, ip, tc) without a shell.
#pragma once

#include <string>
#include <vector>

namespace sipalg {

// Runs argv with stderr on /dev/null, stdout into *out if given, `input` on stdin (none: from
// /dev/null). Returns the exit status, -1 if it could not run or was killed.
int run_cmd(const std::vector<std::string> &argv, std::string *out = nullptr,
            const std::string &input = "");

} // namespace sipalg
