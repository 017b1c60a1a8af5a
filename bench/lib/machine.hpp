// What a bench reports about the machine it ran on (the C++ twin of bench/lib/benchlib.py's
// machine()): one reading, so every table's header line says the same.
#pragma once

#include <string>

namespace bench {

struct Machine {
    std::string date;   // local time, "YYYY-MM-DD HH:MM"
    std::string kernel; // uname -r
    std::string cpu;    // the first "model name" of /proc/cpuinfo
    long cpus = 0;      // online CPUs
};

Machine machine();
std::string cpu_model();

} // namespace bench
