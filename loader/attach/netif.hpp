// Network interface lookups in the current network namespace.
#pragma once

#include <functional>
#include <string>

namespace sipalg {

// ifindex of `name`, or 0 if there is no such interface.
unsigned int find_ifindex(const std::string &name);

// ifindex of `name`; throws a UserError that names the interface and the namespace.
unsigned int require_ifindex(const std::string &name);
// The same with another lookup (0: no such interface), for code that is tested without one.
unsigned int require_ifindex(const std::string &name,
                             const std::function<unsigned int(const std::string &)> &index_of);

} // namespace sipalg
