// Errors meant for the person at the terminal.
#pragma once

#include <stdexcept>
#include <string>

namespace sipalg {

// A failure the user can act on. main() prints it as exactly one line, "sipalg: <what>", so the
// message must say what went wrong and what to do about it, and must not contain newlines.
class UserError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

// "<what>: <strerror(errno)>" for libc/libbpf failures (libbpf returns -errno).
std::string errno_text(int err);

} // namespace sipalg
