// What the slow path needs of the ALG's state, as an interface: the daemon uses the pinned
// maps and the admin program (MapSlowState), so every change follows the fast path's rules
// (port allocation, limits, counters); tests may use the same class on a freshly loaded object.
// Addresses and ports are host byte order throughout.
#pragma once

#include "maps_io.hpp"

#include <array>
#include <cstdint>
#include <string>

namespace sipalg::slow {

struct Phone {
    std::uint32_t ip = 0;
    std::uint16_t port = 0;
};

class SlowState {
  public:
    virtual ~SlowState() = default;
    // The phone's binding, created or refreshed as an outbound SIP message would; 0: none.
    virtual std::uint16_t binding_touch(Phone p, bool is_register) = 0;
    // The public port of an existing binding (0: none), and the phone behind a public port.
    virtual std::uint16_t binding_port(Phone p) const = 0;
    virtual bool binding_phone(std::uint16_t public_port, Phone *p) const = 0;
    // The media address of the last offer that came in for this binding (0: none).
    virtual std::uint32_t binding_offer_ip(std::uint16_t public_port) const = 0;
    virtual void binding_lifetime(std::uint16_t public_port, std::uint32_t seconds) = 0;
    // Opens or refreshes a pinhole; its public port, 0 if none could be had.
    virtual std::uint16_t pinhole_open(Phone media, std::uint16_t want, std::uint16_t owner,
                                       std::uint32_t remote_ip) = 0;
    virtual void media_remember(std::uint16_t owner, const std::array<std::uint16_t, 8> &ports) = 0;
    virtual void media_scope(std::uint16_t owner, const std::array<std::uint32_t, 8> &ips) = 0;
    virtual void media_close(std::uint16_t owner) = 0;
    virtual void media_offer(std::uint16_t owner, std::uint32_t ip) = 0;
};

class MapSlowState : public SlowState {
  public:
    // maps: opened with all = true; admin_fd: the instance's admin program.
    MapSlowState(const InstanceMaps &maps, int admin_fd) : maps_(maps), admin_fd_(admin_fd) {}

    std::uint16_t binding_touch(Phone p, bool is_register) override;
    std::uint16_t binding_port(Phone p) const override;
    bool binding_phone(std::uint16_t public_port, Phone *p) const override;
    std::uint32_t binding_offer_ip(std::uint16_t public_port) const override;
    void binding_lifetime(std::uint16_t public_port, std::uint32_t seconds) override;
    std::uint16_t pinhole_open(Phone media, std::uint16_t want, std::uint16_t owner,
                               std::uint32_t remote_ip) override;
    void media_remember(std::uint16_t owner, const std::array<std::uint16_t, 8> &ports) override;
    void media_scope(std::uint16_t owner, const std::array<std::uint32_t, 8> &ips) override;
    void media_close(std::uint16_t owner) override;
    void media_offer(std::uint16_t owner, std::uint32_t ip) override;

  private:
    sipalg_admin run(sipalg_admin a) const;
    const InstanceMaps &maps_;
    int admin_fd_;
};

} // namespace sipalg::slow
