// The slow path's processing of one complete SIP message (a reassembled UDP datagram): the same
// scanner/rewriter as the kernel (include/sipalg, host build with larger limits, see
// slow_limits.hpp) and the same decisions as bpf/sip_out.bpf.h and bpf/sip_in.bpf.h, applied
// through SlowState so that bindings and pinholes follow the fast path's rules exactly.
#pragma once

#include "instance/discover.hpp"
#include "slow/state.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace sipalg::slow {

struct Addr {
    std::uint32_t ip = 0; // host order
    std::uint16_t port = 0;
    bool operator==(const Addr &) const = default;
};

enum class Dir { Out, In }; // Out: from a phone on the LAN; In: to the public address

struct Datagram {
    Dir dir = Dir::Out;
    Addr src, dst; // as received (the original destination for tproxied packets)
    std::vector<std::uint8_t> payload;
};

struct Net {
    std::uint32_t public_ip = 0; // host order
    std::vector<Prefix> lan;     // LAN prefixes (host order)
};

enum class Verdict {
    Rewritten, // send `payload` from `from` to `to`
    Unchanged, // nothing to rewrite (keepalive, no LAN address): send as it is, NATed
    Failed,    // the rewriter refused it (malformed, over even the slow path's limits): drop
    NoBinding, // no public port could be had for the phone, or none maps to the phone: drop
    Refused,   // a rule (direct signalling, rates, the REGISTER sender rule) refused it: drop
};

// The daemon counter a message with this verdict ends in, once it is sent (Rewritten,
// Unchanged: handled) or not (Failed: failed; NoBinding: dropped).
inline sipalg_counter outcome_counter(Verdict v) {
    switch (v) {
    case Verdict::Rewritten:
    case Verdict::Unchanged:
        return SIPALG_CTR_DAEMON_HANDLED;
    case Verdict::Failed:
        return SIPALG_CTR_DAEMON_FAILED;
    case Verdict::NoBinding:
    case Verdict::Refused:
        break;
    }
    return SIPALG_CTR_DAEMON_DROPPED;
}

inline bool outcome_sendable(Verdict v) {
    return v == Verdict::Rewritten || v == Verdict::Unchanged;
}

struct Outcome {
    Verdict verdict = Verdict::Failed;
    std::vector<std::uint8_t> payload;
    Addr from, to;   // the NATed addresses to send with
    std::string why; // for the log, on Failed / NoBinding
};

// Largest message the slow path handles (the kernel's limit is 2048 bytes).
std::uint32_t slow_msg_max();

Outcome process(const Datagram &d, const Net &net, SlowState &state);

// The port a phone's message names as its own SIP address: the sent-by of its Via (or else its
// Contact) where that is the phone's address, `fallback` if neither is. Over TCP this, not the
// connection's ephemeral source port, is the phone's SIP socket: the binding is keyed by it,
// as the fast path keys a UDP phone's binding by the port it sends from and listens on.
std::uint16_t phone_sip_port(const std::vector<std::uint8_t> &msg, const Net &net,
                             std::uint32_t phone_ip, std::uint16_t fallback);

} // namespace sipalg::slow
