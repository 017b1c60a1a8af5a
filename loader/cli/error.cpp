#include "cli/error.hpp"

#include <cstring>

namespace sipalg {

std::string errno_text(int err) {
    return std::strerror(err < 0 ? -err : err);
}

} // namespace sipalg
