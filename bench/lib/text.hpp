// Small helpers every bench uses to time, read and format.
#pragma once

#include <cstdint>
#include <string>

namespace bench {

// CLOCK_MONOTONIC in ns.
double now_ns();

std::string fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));

// 1000 -> "1k", 1000000 -> "1M", anything else as is.
std::string human_count(std::uint32_t n);

// The whole file, or "" if it cannot be read.
std::string read_file(const std::string &path);

} // namespace bench
