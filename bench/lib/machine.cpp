#include "machine.hpp"

#include "text.hpp"

#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <sstream>

namespace bench {

std::string cpu_model() {
    std::istringstream in(read_file("/proc/cpuinfo"));
    std::string line;
    while (std::getline(in, line))
        if (line.rfind("model name", 0) == 0) {
            const auto p = line.find(':');
            return p == std::string::npos ? line : line.substr(p + 2);
        }
    return "unknown";
}

Machine machine() {
    Machine m;
    utsname u{};
    uname(&u);
    m.kernel = u.release;
    char date[64];
    const time_t t = time(nullptr);
    strftime(date, sizeof(date), "%Y-%m-%d %H:%M", localtime(&t));
    m.date = date;
    m.cpu = cpu_model();
    m.cpus = sysconf(_SC_NPROCESSORS_ONLN);
    return m;
}

} // namespace bench
