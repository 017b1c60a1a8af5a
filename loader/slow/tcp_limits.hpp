// What one peer, or all of them, may hold of the daemon's TCP proxy: connections per source
// address and in total, bytes buffered per direction, and how long a connection may take to
// connect, to send a whole message, or stay quiet. Without them a LAN host (or an admitted
// registrar's address) could hold connections open for ever, one byte a second each
// (slowloris), until the daemon runs out of descriptors or memory for everybody.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <unordered_map>

namespace sipalg::slow {

struct TcpLimits {
    std::size_t max_conns = 1024;          // proxied connections in total
    std::size_t max_conns_per_source = 32; // ... opened by one source address
    // A connection quiet (no whole message or keepalive either way) this long is closed. RFC
    // 5382 REQ-5: an established TCP mapping must not expire in less than 2 h 4 min.
    std::chrono::seconds idle{7440};
    // Connecting to the far side, the first message, and every message once begun must
    // complete within this: what a slowloris peer never does.
    std::chrono::seconds handshake{30};
    // Bytes held for one direction: the incomplete message being framed plus what waits to be
    // written to the other side. Also caps the message size the proxy can carry.
    std::size_t buffer = 65536;
};

// Counts the proxied connections by the address that opened them.
class TcpAdmission {
  public:
    enum class Refusal { None, Total, Source };

    explicit TcpAdmission(const TcpLimits &limits) : limits_(limits) {}
    // Whether `source` may open one more; None records it (release() when it closes).
    Refusal admit(std::uint32_t source);
    void release(std::uint32_t source);
    std::size_t total() const { return total_; }
    std::size_t of(std::uint32_t source) const;

  private:
    const TcpLimits &limits_;
    std::unordered_map<std::uint32_t, std::size_t> by_source_;
    std::size_t total_ = 0;
};

// The clock of one proxied connection.
struct TcpTimes {
    using Clock = std::chrono::steady_clock;
    Clock::time_point opened;
    Clock::time_point connect_since;                // when connecting began
    Clock::time_point last_piece;                   // last whole message or keepalive, either way
    std::optional<Clock::time_point> partial_since; // a message has been incomplete since then
    bool connecting = false;                        // the originated side has not connected yet
    bool any_message = false;                       // a whole message passed, either way

    explicit TcpTimes(Clock::time_point now) : opened(now), connect_since(now), last_piece(now) {}
    void connect_began(Clock::time_point now) {
        connecting = true;
        connect_since = now;
    }
    // Bytes were framed: `messages` whole ones and `pieces` messages or keepalives passed,
    // `incomplete` whether part of a message is still waiting in either direction.
    void framed(Clock::time_point now, std::size_t messages, std::size_t pieces, bool incomplete);
};

enum class TcpExpiry {
    None,
    Connect, // the originated side did not connect within the handshake timeout
    Message, // no first message, or one begun and not finished, within the handshake timeout
    Idle,    // quiet longer than the idle timeout
};

TcpExpiry tcp_expiry(const TcpTimes &t, TcpTimes::Clock::time_point now, const TcpLimits &limits);

} // namespace sipalg::slow
