// What the TCP proxy needs to know of a message to confirm a binding registered over TCP: is
// it a REGISTER, or a 2xx response to one. process() decides everything else; this only reads
// the start line and CSeq of a message SipStream already framed.
#pragma once

#include <cstdint>
#include <vector>

namespace sipalg::slow {

enum class RegisterKind {
    Other,
    Request, // REGISTER ...
    Ok,      // SIP/2.0 2xx ... with CSeq method REGISTER
};

RegisterKind register_kind(const std::vector<std::uint8_t> &msg);

} // namespace sipalg::slow
