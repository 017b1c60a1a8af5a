// The kernel side of the hand-off: an nftables tproxy rule and a policy route that deliver
// packets carrying the slow-path mark to the daemon's transparent socket, and new connections
// to a binding registered over TCP to its proxy. Installed when the daemon starts, removed when
// it stops (and replaced if a killed daemon left them).
#pragma once

#include <cstdint>
#include <string>

namespace sipalg::slow {

class Steering {
  public:
    Steering(std::string wan, std::uint32_t mark, std::uint32_t table, std::uint16_t port);
    ~Steering();
    Steering(const Steering &) = delete;
    Steering &operator=(const Steering &) = delete;

    // public_ip: the WAN's address (host order), where servers connect to TCP bindings.
    void install(std::uint32_t public_ip); // throws UserError
    void remove() noexcept;
    // Forgets the rules without removing them (someone else already did, and may have put a
    // new daemon's in their place).
    void abandon() noexcept { installed_ = false; }
    // Adds or removes a public port in the set of TCP bindings whose new connections the
    // daemon takes (false if nft failed; the connection is then refused as without the ALG).
    bool tcp_binding(std::uint16_t public_port, bool on) noexcept;

  private:
    std::string nft_table() const;
    std::string wan_;
    std::uint32_t mark_, table_;
    std::uint16_t port_;
    bool installed_ = false;
};

} // namespace sipalg::slow
