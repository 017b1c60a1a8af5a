// What the slow path needs of the ALG's state, as an interface: the daemon uses the pinned
// maps and the admin program (MapSlowState), so every change follows the fast path's rules
// (port allocation, limits, counters); tests may use the same class on a freshly loaded object.
// Addresses and ports are host byte order throughout.
#pragma once

#include "state/maps_io.hpp"

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
    virtual void binding_lifetime(std::uint16_t public_port, std::uint32_t seconds) = 0;
    // Opens or refreshes a pinhole; its public port, 0 if none could be had.
    virtual std::uint16_t pinhole_open(Phone media, std::uint16_t want, std::uint16_t owner,
                                       std::uint32_t remote_ip) = 0;
    // The dialog (call) of a message of the binding `owner`, created if the message may start
    // one: true and the peer's media address per line (host order, 0: not known), the scope of
    // pinholes the phone's SDP opens; false: no dialog, so open no pinholes.
    virtual bool dialog_begin(std::uint16_t owner, const sipalg_dialog_msg &dm,
                              std::array<std::uint32_t, 4> *scope) = 0;
    // The phone's message, with the pinholes its SDP opened (RTP per line, then RTCP).
    virtual void dialog_out(std::uint16_t owner, const sipalg_dialog_msg &dm,
                            const std::array<std::uint16_t, 8> &ports) = 0;
    // A message to the phone.
    virtual void dialog_in(std::uint16_t owner, const sipalg_dialog_msg &dm) = 0;
    // The signalling rules (bpf/signal_policy.bpf.h) for message dm between the phone of the
    // binding `owner` and `peer` (the registrar, proxy or other party): Ok, or a rule drops
    // it (counted by the rule). For an inbound 2xx to REGISTER, *reg_answer says whether it
    // answers the phone's REGISTER to that peer (only then does its lifetime apply).
    enum class Signal { Ok, Refused, OverRate };
    virtual Signal signal(std::uint16_t owner, std::uint32_t peer, bool inbound,
                          const sipalg_dialog_msg &dm, bool *reg_answer) = 0;
    // One more of counter c (the daemon's own reasons).
    virtual void count(sipalg_counter c) = 0;
};

class MapSlowState : public SlowState {
  public:
    // maps: opened with all = true; admin_fd: the instance's admin program.
    MapSlowState(const InstanceMaps &maps, int admin_fd) : maps_(maps), admin_fd_(admin_fd) {}

    std::uint16_t binding_touch(Phone p, bool is_register) override;
    std::uint16_t binding_port(Phone p) const override;
    bool binding_phone(std::uint16_t public_port, Phone *p) const override;
    void binding_lifetime(std::uint16_t public_port, std::uint32_t seconds) override;
    std::uint16_t pinhole_open(Phone media, std::uint16_t want, std::uint16_t owner,
                               std::uint32_t remote_ip) override;
    bool dialog_begin(std::uint16_t owner, const sipalg_dialog_msg &dm,
                      std::array<std::uint32_t, 4> *scope) override;
    void dialog_out(std::uint16_t owner, const sipalg_dialog_msg &dm,
                    const std::array<std::uint16_t, 8> &ports) override;
    void dialog_in(std::uint16_t owner, const sipalg_dialog_msg &dm) override;
    Signal signal(std::uint16_t owner, std::uint32_t peer, bool inbound,
                  const sipalg_dialog_msg &dm, bool *reg_answer) override;
    void count(sipalg_counter c) override;

  private:
    sipalg_admin run(sipalg_admin a) const;
    const InstanceMaps &maps_;
    int admin_fd_;
};

} // namespace sipalg::slow
