// The names of an instance loaded by an older sipalg (SIPALG_LEGACY_* in sipalg_maps.h): status
// and unload find such an instance by them too, and unload removes its pins.
#pragma once

#include "sipalg_maps.h"

#include <string>
#include <string_view>

namespace sipalg {

// The old name of program `name`, or nullptr if it had no other.
constexpr const char *legacy_prog_name(std::string_view name) {
#define SIPALG_X_OLD(current, old)                                                                 \
    if (name == current)                                                                           \
        return old;
    SIPALG_LEGACY_PROG_NAMES(SIPALG_X_OLD)
#undef SIPALG_X_OLD
    return nullptr;
}

// The old file name of pin `pin` (a program's or a map's), or nullptr if it had no other.
constexpr const char *legacy_pin(std::string_view pin) {
#define SIPALG_X_OLD(current, old)                                                                 \
    if (pin == current)                                                                            \
        return old;
    SIPALG_LEGACY_PINS(SIPALG_X_OLD)
#undef SIPALG_X_OLD
    return nullptr;
}

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
