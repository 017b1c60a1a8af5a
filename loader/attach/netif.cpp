#include "attach/netif.hpp"

#include "cli/error.hpp"
#include "instance/pin_paths.hpp"

#include <net/if.h>

namespace sipalg {

unsigned int find_ifindex(const std::string &name) {
    if (!valid_ifname(name))
        return 0;
    return ::if_nametoindex(name.c_str());
}

unsigned int require_ifindex(const std::string &name,
                             const std::function<unsigned int(const std::string &)> &index_of) {
    if (!valid_ifname(name))
        throw UserError("invalid interface name '" + name +
                        "'; give a name as shown by `ip link` (at most 15 characters)");
    const unsigned int idx = index_of(name);
    if (idx == 0)
        throw UserError("no such interface '" + name +
                        "' in this network namespace; check `ip link` (use nsenter "
                        "--net=/run/netns/NAME for another namespace)");
    return idx;
}

unsigned int require_ifindex(const std::string &name) {
    return require_ifindex(name, find_ifindex);
}

} // namespace sipalg
