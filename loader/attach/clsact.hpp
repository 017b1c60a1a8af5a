// The clsact qdiscs sipalg's tc programs hang on: created by `load` where there was none, and
// removed by `unload` only if `load` created it and no one else's filter is left on it.
#pragma once

#include <string>

namespace sipalg {

// True if this call created the interface's clsact qdisc (false: it was already there, or it
// could not be created, which attaching the program then reports).
bool create_clsact(unsigned int ifindex);

// Removes the clsact qdisc if no filter is left on it in either direction (as `tc filter show`
// lists them). Returns whether it did.
bool remove_clsact_if_empty(unsigned int ifindex, const std::string &ifname);

} // namespace sipalg
