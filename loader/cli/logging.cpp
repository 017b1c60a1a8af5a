#include "cli/logging.hpp"

#include <bpf/libbpf.h>
#include <xdp/libxdp.h>

#include <cstdarg>
#include <cstdio>

namespace sipalg {
namespace {

int print_libbpf(enum libbpf_print_level, const char *fmt, va_list args) {
    return std::vfprintf(stderr, fmt, args);
}

int print_libxdp(enum libxdp_print_level, const char *fmt, va_list args) {
    return std::vfprintf(stderr, fmt, args);
}

int print_nothing_libbpf(enum libbpf_print_level, const char *, va_list) {
    return 0;
}
int print_nothing_libxdp(enum libxdp_print_level, const char *, va_list) {
    return 0;
}

} // namespace

void setup_library_logging(bool verbose) {
    libbpf_set_print(verbose ? print_libbpf : print_nothing_libbpf);
    libxdp_set_print(verbose ? print_libxdp : print_nothing_libxdp);
}

} // namespace sipalg
