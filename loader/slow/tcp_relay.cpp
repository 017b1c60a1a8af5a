#include "slow/tcp_relay.hpp"

#include "slow/sip_register.hpp"

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

TcpRelay::TcpRelay(Addr phone, Addr server, const Net &net, SlowState &state, Addr binding)
    : phone_(phone), server_(server), net_(net), state_(state), up_(slow_msg_max()),
      down_(slow_msg_max()), upstream_(binding) {
    // Toward the phone the binding is known from the start: the phone's SIP port is the port
    // the connection goes to, and the binding is the one the server connected to.
    if (binding.port)
        sip_port_ = phone.port;
}

void TcpRelay::from_phone(const std::uint8_t *data, std::size_t len, RelayOutput &out) {
    up_.feed(data, len);
    SipStream::Piece piece;
    while (!out.close && up_.next(&piece)) {
        if (piece.kind == SipStream::Kind::Broken) {
            out.close = true;
            out.why = "from the phone: " + piece.why;
        } else if (piece.kind == SipStream::Kind::Keepalive) {
            out.pieces++;
            // Passed as they are, and they keep the binding alive as UDP keepalives do. Before
            // the first message there is no upstream connection yet, nor a need for one.
            if (upstream_.port) {
                append(out.to_server, piece.bytes);
                state_.binding_touch({phone_.ip, sip_port_}, false);
            }
        } else {
            out.messages++;
            out.pieces++;
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
            out.pieces++;
            append(out.to_phone, piece.bytes);
        } else {
            out.messages++;
            out.pieces++;
            inbound(std::move(piece.bytes), out);
        }
    }
}

void TcpRelay::outbound(std::vector<std::uint8_t> msg, RelayOutput &out) {
    if (!sip_port_)
        sip_port_ = phone_sip_port(msg, net_, phone_.ip, phone_.port);
    const bool is_register = register_kind(msg) == RegisterKind::Request;
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
    register_sent_ |= is_register;
    append(out.to_server, r.payload);
}

void TcpRelay::inbound(std::vector<std::uint8_t> msg, RelayOutput &out) {
    if (!upstream_.port) {
        out.events.push_back(
                {SIPALG_CTR_DAEMON_DROPPED, "server -> phone dropped: before any phone message"});
        return;
    }
    const bool register_ok = register_sent_ && register_kind(msg) == RegisterKind::Ok;
    Datagram d;
    d.dir = Dir::In;
    d.src = server_;
    d.dst = upstream_;
    d.payload = std::move(msg);
    const Outcome r = process(d, net_, state_);
    if (!settle(r, "server -> phone:", out))
        return;
    append(out.to_phone, r.payload);
    out.registered |= register_ok;
}

} // namespace sipalg::slow
