// The names of an instance loaded by an older sipalg (SIPALG_LEGACY_* in sipalg_maps.h): status
// and unload find such an instance by them too, and unload removes its pins.
#pragma once

#include "sipalg_maps.h"

#include <string>
#include <string_view>

namespace sipalg {

#define SIPALG_X_OLD_IF(current, old)                                                              \
    if (key == current)                                                                            \
        return old;

// The old name of program `key`, or nullptr if it had no other.
constexpr const char *legacy_prog_name(std::string_view key) {
    SIPALG_LEGACY_PROG_NAMES(SIPALG_X_OLD_IF)
    return nullptr;
}

// The old file name of pin `key` (a program's or a map's), or nullptr if it had no other.
constexpr const char *legacy_pin(std::string_view key) {
    SIPALG_LEGACY_PINS(SIPALG_X_OLD_IF)
    return nullptr;
}
#undef SIPALG_X_OLD_IF

// Every old pin file name, for removing them.
inline constexpr const char *kLegacyPins[] = {
#define SIPALG_X_OLD(current, old) old,
        SIPALG_LEGACY_PINS(SIPALG_X_OLD)
#undef SIPALG_X_OLD
};

// Whether a program the kernel reports as `actual` is program `name` under its current or its
// old name.
inline bool is_prog_named(const std::string &actual, const char *name) {
    const char *old = legacy_prog_name(name);
    return actual == name || (old && actual == old);
}

} // namespace sipalg
