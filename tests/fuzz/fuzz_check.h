// CHECK(c) for the fuzz targets: a failed property stops the run at once (libFuzzer saves the
// input as a crash), in every build type (assert() would vanish with NDEBUG).
#pragma once

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c))                                                                                  \
            __builtin_trap();                                                                      \
    } while (0)
