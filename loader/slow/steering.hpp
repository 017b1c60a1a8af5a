// The kernel side of the hand-off: an nftables tproxy rule and a policy route that deliver
// packets carrying the slow-path mark to the daemon's transparent socket. Installed when the
// daemon starts, removed when it stops (and replaced if a killed daemon left them).
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

    void install(); // throws UserError
    void remove() noexcept;

  private:
    std::string nft_table() const;
    std::string wan_;
    std::uint32_t mark_, table_;
    std::uint16_t port_;
    bool installed_ = false;
};

} // namespace sipalg::slow
