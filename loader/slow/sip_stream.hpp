// Splits one direction of a SIP-over-TCP connection into whole messages. On stream transports
// Content-Length is what frames a message (RFC 3261 section 18.3), and a run of CRLFs between
// messages is a keepalive (RFC 5626 section 3.5.1: CRLFCRLF ping, CRLF pong) that must pass as
// it is.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace sipalg::slow {

class SipStream {
  public:
    enum class Kind {
        Message,   // one complete SIP message (headers and exactly Content-Length bytes of body)
        Keepalive, // CRLFs between messages
        Broken,    // the stream cannot be framed any more (the caller closes the connection)
    };
    struct Piece {
        Kind kind = Kind::Broken;
        std::vector<std::uint8_t> bytes;
        std::string why; // Broken: what was wrong
    };

    // max_message: the largest message accepted; a longer one breaks the stream.
    explicit SipStream(std::size_t max_message) : max_(max_message) {}

    void feed(const std::uint8_t *data, std::size_t len);
    // The next complete piece; false if more bytes are needed. After Broken, always Broken.
    bool next(Piece *out);
    std::size_t buffered() const { return buf_.size() - pos_; }

  private:
    bool broken(Piece *out, std::string why);
    void consumed(std::size_t n);
    std::vector<std::uint8_t> buf_;
    std::size_t pos_ = 0; // start of the unconsumed bytes
    std::size_t max_;
    std::string broken_;
};

// The Content-Length of a header block (the bytes before the blank line); -1 if it has none,
// -2 if it is malformed or given twice with different values. Full and compact ("l") names.
long sip_content_length(const std::uint8_t *headers, std::size_t len);

} // namespace sipalg::slow
