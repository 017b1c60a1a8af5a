// The rule for a WAN whose address changes (a new DHCP lease, a PPP reconnect): the ALG's
// public address follows the interface, unless `load` was given --public-ip. When the WAN gets
// an address other than the public one, that becomes the public address and every binding,
// pinhole and dialog made for the old one is flushed: the registrars and remote ends know the
// old address, which no longer reaches this router, so the state could only mislead (a phone
// registers again on its own and gets a binding on the new address). Link down/up, an address
// removed with none in its place, or a second address added: nothing changes, every call and
// binding stays (the address usually comes back, and the remote ends still know it).
//
// The daemon applies the rule: it runs all the time and hears address changes from rtnetlink.
#pragma once

#include "state/maps_io.hpp"
#include "state/unique_fd.hpp"

#include <cstdint>
#include <optional>
#include <string>

namespace sipalg::slow {

struct Flushed {
    std::uint32_t bindings = 0, pinholes = 0, dialogs = 0;
};

// Ends every dialog, closes every pinhole and binding through the admin program; returns how
// many there were. Pure state work, no policy: the caller decides when.
Flushed flush_nat_state(const InstanceMaps &maps, int admin_fd);

class WanFollower {
  public:
    // `follow`: the instance took its address from the interface (the owner record says).
    // Throws UserError if rtnetlink cannot be opened.
    WanFollower(std::string wan, bool follow);

    // Non-blocking: on the first call, and then if an IPv4 address of any interface changed
    // since the last call, looks at the WAN's addresses. Returns the address (host order) that
    // should replace `current`, or nothing if it stays.
    std::optional<std::uint32_t> changed(std::uint32_t current);

  private:
    std::string wan_;
    bool follow_;
    bool first_ = true;
    UniqueFd nl_;
};

} // namespace sipalg::slow
