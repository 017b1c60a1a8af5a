// The daemon's side of the WAN failover policy: once a heartbeat it gathers the WAN's signals
// (link flags, routes to the registrars, the registrations table, its probe), judges them
// (wan_health.hpp), logs each change, drives the redirect (failover.hpp) and publishes the
// state in the pinned failover map for the LAN program and `status`.
//
// The redirect is in force exactly while the policy is on, a server is configured, the ALG is
// enabled and the WAN is down. With the policy off the WAN's state is still watched, logged and
// shown, and nothing is redirected: the phones' requests fail as they would without the ALG.
#pragma once

#include "slow/failover.hpp"
#include "slow/wan_health.hpp"
#include "state/maps_io.hpp"

#include <chrono>
#include <cstdint>
#include <string>

namespace sipalg::slow {

class WanWatch {
  public:
    WanWatch(std::string wan, const InstanceMaps &maps);
    // alg_enabled: the config's enable flag; public_ip: host order (the probe's source).
    void tick(bool alg_enabled, std::uint32_t public_ip);
    // The daemon stops: the redirect goes, the map says nothing is redirected.
    void stop() noexcept;
    // The instance was unloaded (unload removed the redirect, and a new instance's daemon may
    // have installed its own): forget ours without touching the kernel.
    void abandon() noexcept;

  private:
    WanSignals gather(const sipalg_limits &l, bool policy_on, std::uint32_t public_ip,
                      std::uint64_t now_s);
    void set_redirect(bool on, const sipalg_limits &l);
    void publish();

    std::string wan_;
    const InstanceMaps &maps_;
    RegistrarWatch regs_{0};
    std::uint32_t after_s_ = 0;
    WanVerdict verdict_{};
    FailoverRedirect redirect_;
    RegistrarProbe probe_;
    std::chrono::steady_clock::time_point last_probe_{};
    std::chrono::steady_clock::time_point changed_at_ = std::chrono::steady_clock::now();
    sipalg_failover pub_{};
};

// Whether `ifname` is up with carrier (IFF_UP and IFF_RUNNING); false if it is gone.
bool link_running(const std::string &ifname);
// The interface the kernel routes `dst` (host order) out of, or 0 if it has no route.
unsigned int route_oif(std::uint32_t dst);

} // namespace sipalg::slow
