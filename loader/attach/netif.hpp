// Network interface lookups in the current network namespace.
#pragma once

#include <string>

namespace sipalg {

// ifindex of `name`, or 0 if there is no such interface.
unsigned int find_ifindex(const std::string &name);

// ifindex of `name`; throws a UserError that names the interface and the namespace.
unsigned int require_ifindex(const std::string &name);

} // namespace sipalg
