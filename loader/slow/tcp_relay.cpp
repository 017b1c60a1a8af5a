#include "tcp_relay.hpp"

#include <utility>

namespace sipalg::slow {

namespace {

void append(std::vector<std::uint8_t> &to, const std::vector<std::uint8_t> &bytes) {
    to.insert(to.end(), bytes.begin(), bytes.end());
}

// Counts and logs one message's outcome; true if it is to be sent.
bool settle(const Outcome &r, const char *dir, RelayOutput &out) {
    const bool send = outcome_sendable(r.verdict);
    out.events.push_back({outcome_counter(r.verdict),
                          std::string(dir) + (!send ? " dropped: " + r.why
                                              : r.verdict == Verdict::Rewritten ? " rewritten"
                                                                                : " unchanged")});
    return send;
}

} // namespace

TcpRelay::TcpRelay(Addr phone, Addr server, const Net &net, SlowState &state)
    : phone_(phone), server_(server), net_(net), state_(state), up_(slow_msg_max()),
      down_(slow_msg_max()) {}

void TcpRelay::from_phone(const std::uint8_t *data, std::size_t len, RelayOutput &out) {
    up_.feed(data, len);
    SipStream::Piece piece;
    while (!out.close && up_.next(&piece)) {
        if (piece.kind == SipStream::Kind::Broken) {
            out.close = true;
            out.why = "from the phone: " + piece.why;
        } else if (piece.kind == SipStream::Kind::Keepalive) {
            // Passed as they are, and they keep the binding alive as UDP keepalives do. Before
            // the first message there is no upstream connection yet, nor a need for one.
            if (upstream_.port) {
                append(out.to_server, piece.bytes);
                state_.binding_touch({phone_.ip, sip_port_}, false);
            }
        } else {
            outbound(std::move(piece.bytes), out);
        }
    }
}

void TcpRelay::from_server(const std::uint8_t *data, std::size_t len, RelayOutput &out) {
    down_.feed(data, len);
    SipStream::Piece piece;
    while (!out.close && down_.next(&piece)) {
        if (piece.kind == SipStream::Kind::Broken) {
            out.close = true;
            out.why = "from the server: " + piece.why;
        } else if (piece.kind == SipStream::Kind::Keepalive) {
            append(out.to_phone, piece.bytes);
        } else {
            inbound(std::move(piece.bytes), out);
        }
    }
}

void TcpRelay::outbound(std::vector<std::uint8_t> msg, RelayOutput &out) {
    if (!sip_port_)
        sip_port_ = phone_sip_port(msg, net_, phone_.ip, phone_.port);
    Datagram d;
    d.dir = Dir::Out;
    d.src = {phone_.ip, sip_port_};
    d.dst = server_;
    d.payload = std::move(msg);
    const Outcome r = process(d, net_, state_);
    if (!settle(r, "phone -> server:", out))
        return;
    if (upstream_.port && r.from.port != upstream_.port) {
        // The binding was lost and made again on another port: the upstream connection no
        // longer matches what the messages say. The phone reconnects and gets a fresh one.
        out.close = true;
        out.why = "the phone's binding moved from port " + std::to_string(upstream_.port) + " to " +
                  std::to_string(r.from.port);
        return;
    }
    upstream_ = r.from;
    append(out.to_server, r.payload);
}

void TcpRelay::inbound(std::vector<std::uint8_t> msg, RelayOutput &out) {
    if (!upstream_.port) {
        out.events.push_back(
                {SIPALG_CTR_DAEMON_DROPPED, "server -> phone dropped: before any phone message"});
        return;
    }
    Datagram d;
    d.dir = Dir::In;
    d.src = server_;
    d.dst = upstream_;
    d.payload = std::move(msg);
    const Outcome r = process(d, net_, state_);
    if (settle(r, "server -> phone:", out))
        append(out.to_phone, r.payload);
}

} // namespace sipalg::slow
