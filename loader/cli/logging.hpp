// libbpf and libxdp print warnings and debug chatter on their own; the CLI promises one-line
// errors, so their output is only shown with --verbose.
#pragma once

namespace sipalg {

void setup_library_logging(bool verbose);

} // namespace sipalg
