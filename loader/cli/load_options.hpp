// The options of `sipalg load`: every setting of AlgSettings, with the help text that explains
// it and its default.
#pragma once

#include "instance/config.hpp"

#include <CLI/CLI.hpp>

namespace sipalg {

void add_load_options(CLI::App &load, AlgSettings &a);

} // namespace sipalg
