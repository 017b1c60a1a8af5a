// The fast path's SIP decisions (bpf/sip_out.bpf.h, sip_in.bpf.h, sip_rewrite.bpf.h,
// sip_finish.bpf.h) written again on the host build of include/sipalg, for the differential
// test: given the same message and the same state (bindings, pinholes), what the tc programs
// must do with it and which bytes they must send. Written from the rules in those files'
// comments, not from their code paths, so a disagreement points at one side or the other.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>

namespace sipalg::diff {

// What a tc program does with a SIP message it owns.
enum class Verdict {
    Redirected, // NATed and sent on (payload rewritten, or as it was)
    Passed,     // to the stack untouched, not marked (malformed, not owned)
    Slow,       // to the stack untouched and marked for the daemon
    Dropped,
};
const char *name(Verdict v);

// A datapath limit the host scanner does not have: the message is handed to the daemon
// although the scanner alone would rewrite it.
enum class Rule {
    None,
    SizeIn, // UDP payload over SIPALG_KERNEL_SIP_MAX: not even scanned in the kernel
    Mtu,    // the rewritten packet would not fit the egress MTU
    // The packet as it came is larger than the egress MTU: the route lookup refuses it before
    // the scanner runs, and it goes to the daemon (slow_mtu), which rewrites and fragments it.
    MtuIn,
    // Signalling rules (bpf/signal_policy.bpf.h):
    RegNotSender, // a REGISTER whose Contact names another LAN host: passed, binds nothing
    Unsolicited,  // a request or non-SIP to a binding from a peer it does not admit: dropped
};
const char *name(Rule r);

using Sock = std::pair<std::uint32_t, std::uint16_t>; // host order

struct State {
    std::map<Sock, std::uint16_t> bindings; // phone SIP socket -> public port
    std::map<Sock, std::uint16_t> pinholes; // phone media socket -> public port
};

struct Msg {
    bool outbound = true;
    std::uint32_t public_ip = 0;   // the router's public address
    std::uint32_t priv_ip = 0;     // the phone (sender outbound, receiver inbound)
    std::uint16_t priv_port = 0;   // its SIP socket
    std::uint16_t public_port = 0; // that socket's binding
    std::uint32_t lan_net = 0;     // the LAN prefix outbound scans match
    std::uint8_t lan_plen = 0;
    std::uint32_t mtu = 1500;  // egress MTU
    bool peer_admitted = true; // inbound: the source may send requests to the binding
};

struct Outcome {
    Verdict verdict = Verdict::Passed;
    Rule rule = Rule::None;
    int scan = -1; // enum sipalg_verdict, -1: not scanned
    std::string payload;
};

// The kernel's limit on SIP payloads (bpf/sip_msg.bpf.h).
inline constexpr std::size_t kKernelSipMax = 2048;

Outcome fast_path_model(const std::string &payload, const Msg &m, const State &s);

// Oracles on a WAN-bound message the ALG rewrote: "" or what is wrong.
// - no address of the LAN prefix left where the scanner finds one (a Call-ID naming another
//   host than the sender is left alone by rule);
// - a Content-Length that matched the input's body matches the output's.
std::string check_outbound_oracles(const std::string &in, const std::string &out, const Msg &m);
std::string check_content_length(const std::string &in, const std::string &out);

} // namespace sipalg::diff
