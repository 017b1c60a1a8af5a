#include "slow/tcp_limits.hpp"

namespace sipalg::slow {

TcpAdmission::Refusal TcpAdmission::admit(std::uint32_t source) {
    if (total_ >= limits_.max_conns)
        return Refusal::Total;
    std::size_t &n = by_source_[source];
    if (n >= limits_.max_conns_per_source)
        return Refusal::Source;
    n++;
    total_++;
    return Refusal::None;
}

void TcpAdmission::release(std::uint32_t source) {
    const auto it = by_source_.find(source);
    if (it == by_source_.end() || it->second == 0)
        return;
    total_--;
    // Forgotten at zero, so a scan of many sources leaves no table behind.
    if (--it->second == 0)
        by_source_.erase(it);
}

std::size_t TcpAdmission::of(std::uint32_t source) const {
    const auto it = by_source_.find(source);
    return it == by_source_.end() ? 0 : it->second;
}

void TcpTimes::framed(Clock::time_point now, std::size_t messages, std::size_t pieces,
                      bool incomplete) {
    if (pieces)
        last_piece = now;
    any_message |= messages > 0;
    // A message that completed and left the start of the next one behind: that one's clock
    // starts now, not when the first one began, so a busy connection is never cut mid-stream.
    if (!incomplete)
        partial_since.reset();
    else if (!partial_since || pieces)
        partial_since = now;
}

TcpExpiry tcp_expiry(const TcpTimes &t, TcpTimes::Clock::time_point now, const TcpLimits &limits) {
    if (t.connecting && now - t.connect_since >= limits.handshake)
        return TcpExpiry::Connect;
    if (!t.any_message && now - t.opened >= limits.handshake)
        return TcpExpiry::Message;
    if (t.partial_since && now - *t.partial_since >= limits.handshake)
        return TcpExpiry::Message;
    if (now - t.last_piece >= limits.idle)
        return TcpExpiry::Idle;
    return TcpExpiry::None;
}

} // namespace sipalg::slow
