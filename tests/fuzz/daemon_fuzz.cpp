// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * libFuzzer target over the slow path's message processing (slow::process, loader/slow/
 * slow/rewrite), with ASan/UBSan, against an in-memory SlowState.
 *
 * Input: byte 0 selects the case: bit 0 inbound, bit 1 dialog_begin refuses (no dialog),
 * bit 2 no free pinhole ports, bit 3 a second phone (192.168.7.20:5070, bound at start) is
 * the sender or receiver, bit 4 inbound to an unbound public port, bit 5 outbound from an
 * unbound phone (192.168.1.30:5060), bit 6 with no free binding port for it. The rest is the
 * payload.
 *
 * Checked (abort on violation):
 *   - Failed and NoBinding carry a reason; Unchanged sends the payload as it came; sendable
 *     outcomes are at most slow_msg_max() bytes and go to/from the addresses the binding says;
 *   - Rewritten output rescans OK with the host scanner (the slow path's limits), with as many
 *     header fields; a Content-Length that matched its body still does (and whatever followed
 *     the body still follows it);
 *   - outbound Rewritten output names no LAN address the scanner found in an address field
 *     (SIP host, SIP address, o=, c=, a=rtcp, candidate, the phone's own Call-ID host): every
 *     LAN dotted quad left in the output is one of the input's that was not such a field;
 *   - the state is used as the fast path would: pinholes only for the message's binding and
 *     only inside a dialog dialog_begin agreed to, dialog_out only after that and only with
 *     ports the allocator gave, dialog_in only inbound, bindings created only outbound.
 */
#include "fuzz_check.h"
#include "slow/rewrite.hpp"
#include "slow/state.hpp"

#include "sipalg/sipalg.h"

#include <array>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace {

using namespace sipalg;
using namespace sipalg::slow;

constexpr std::uint32_t kPublic = 0xc6336401u; // 198.51.100.1
constexpr std::uint32_t kServer = 0xcb007105u; // 203.0.113.5
constexpr Phone kPhone{0xc0a8010au, 5060};     // 192.168.1.10
constexpr Phone kPhone2{0xc0a80714u, 5070};    // 192.168.7.20
constexpr Phone kPhone3{0xc0a8011eu, 5060};    // 192.168.1.30

using Key = std::pair<std::uint32_t, std::uint16_t>;

Key key(Phone p) {
    return {p.ip, p.port};
}

// Bindings and pinholes in maps, ports from counters with a limit, and a record of the calls.
class FakeState : public SlowState {
  public:
    FakeState(bool in_msg, bool dialogs, std::size_t max_bindings, std::size_t max_pinholes)
        : inbound_(in_msg), dialogs_(dialogs), max_bindings_(max_bindings),
          max_pinholes_(max_pinholes) {}

    void bind(Phone p, std::uint16_t port) {
        bind_[key(p)] = port;
        phone_[port] = p;
    }

    std::uint16_t binding_touch(Phone p, bool) override {
        CHECK(!inbound_);
        auto it = bind_.find(key(p));
        if (it != bind_.end())
            return it->second;
        if (bind_.size() >= max_bindings_)
            return 0;
        const auto port = static_cast<std::uint16_t>(40000 + bind_.size());
        bind(p, port);
        return port;
    }
    std::uint16_t binding_port(Phone p) const override {
        auto it = bind_.find(key(p));
        return it == bind_.end() ? 0 : it->second;
    }
    bool binding_phone(std::uint16_t public_port, Phone *p) const override {
        auto it = phone_.find(public_port);
        if (it == phone_.end())
            return false;
        *p = it->second;
        return true;
    }
    void binding_lifetime(std::uint16_t public_port, std::uint32_t) override {
        CHECK(inbound_ && phone_.count(public_port));
    }
    std::uint16_t pinhole_open(Phone media, std::uint16_t want, std::uint16_t owner,
                               std::uint32_t) override {
        CHECK(!inbound_ && began_ && owner == owner_);
        auto it = pin_.find(key(media));
        if (it != pin_.end())
            return it->second;
        if (pin_.size() >= max_pinholes_)
            return 0;
        std::uint16_t port = want;
        if (!port || given_.count(port))
            port = static_cast<std::uint16_t>(50000 + 2 * pin_.size());
        while (given_.count(port))
            port++;
        pin_[key(media)] = port;
        given_.insert(port);
        return port;
    }
    bool dialog_begin(std::uint16_t owner, const sipalg_dialog_msg &,
                      std::array<std::uint32_t, 4> *scope) override {
        CHECK(!inbound_ && !began_ && phone_.count(owner));
        owner_ = owner;
        scope->fill(dialogs_ ? kServer : 0);
        began_ = dialogs_;
        return dialogs_;
    }
    void dialog_out(std::uint16_t owner, const sipalg_dialog_msg &,
                    const std::array<std::uint16_t, 8> &ports) override {
        CHECK(!inbound_ && began_ && owner == owner_ && !outs_);
        for (std::uint16_t p : ports)
            CHECK(!p || given_.count(p));
        outs_++;
    }
    void dialog_in(std::uint16_t owner, const sipalg_dialog_msg &) override {
        CHECK(inbound_ && phone_.count(owner) && !ins_);
        ins_++;
    }
    // The rules themselves run in BPF (tests/datapath/test_signalling.cpp); here every message is
    // let through, once, for a bound phone, so that the rewrite after it is what gets fuzzed.
    Signal signal(std::uint16_t owner, std::uint32_t, bool inbound, const sipalg_dialog_msg &,
                  bool *reg_answer) override {
        CHECK(inbound == inbound_ && phone_.count(owner) && !signals_);
        signals_++;
        if (reg_answer)
            *reg_answer = true;
        return Signal::Ok;
    }
    void count(sipalg_counter) override {}

  private:
    bool inbound_, dialogs_;
    std::size_t max_bindings_, max_pinholes_;
    std::map<Key, std::uint16_t> bind_, pin_;
    std::map<std::uint16_t, Phone> phone_;
    std::set<std::uint16_t> given_;
    std::uint16_t owner_ = 0;
    bool began_ = false;
    int signals_ = 0;
    int outs_ = 0, ins_ = 0;
};

Net make_net() {
    Net n;
    n.public_ip = kPublic;
    n.lan = {{0xc0a80000u, 16}, {0x0a000000u, 8}};
    return n;
}

bool in_lan(const Net &net, std::uint32_t ip) {
    for (const Prefix &p : net.lan)
        if (p.len && ((ip ^ p.net) >> (32 - p.len)) == 0)
            return true;
    return false;
}

struct Quad {
    std::size_t off, len;
    std::uint32_t ip;
};

// Every dotted quad of the text: a run of digits and dots (without its outer dots) of exactly
// four numbers of 1-3 digits up to 255 each.
std::vector<Quad> quads(std::string_view s) {
    std::vector<Quad> out;
    auto isq = [](char c) { return (c >= '0' && c <= '9') || c == '.'; };
    std::size_t i = 0;
    while (i < s.size()) {
        if (!isq(s[i])) {
            i++;
            continue;
        }
        std::size_t b = i, e = i;
        while (e < s.size() && isq(s[e]))
            e++;
        i = e;
        while (b < e && s[b] == '.')
            b++;
        while (e > b && s[e - 1] == '.')
            e--;
        std::uint32_t ip = 0;
        int parts = 0;
        bool ok = true;
        std::size_t p = b;
        while (ok && p <= e) {
            std::size_t q = p;
            while (q < e && s[q] != '.')
                q++;
            if (q == p || q - p > 3) {
                ok = false;
                break;
            }
            unsigned v = 0;
            for (std::size_t k = p; k < q; k++)
                v = v * 10 + unsigned(s[k] - '0');
            ok = v <= 255;
            ip = (ip << 8) | v;
            parts++;
            p = q + 1;
        }
        if (ok && parts == 4)
            out.push_back({b, e - b, ip});
    }
    return out;
}

struct Scanned {
    std::unique_ptr<std::uint8_t[]> buf{new std::uint8_t[SIPALG_BUF_SIZE]};
    std::unique_ptr<sipalg_scan_result> sc{new sipalg_scan_result};
    int verdict = -1;
};

void scan(Scanned &s, const std::vector<std::uint8_t> &msg, const Net &net, bool inbound) {
    CHECK(msg.size() <= SIPALG_MSG_MAX);
    std::memset(s.buf.get(), 0, SIPALG_BUF_SIZE);
    std::memcpy(s.buf.get(), msg.data(), msg.size());
    sipalg_match mt{};
    if (inbound) {
        sipalg_match_add(&mt, net.public_ip, 32);
    } else {
        for (const Prefix &p : net.lan)
            sipalg_match_add(&mt, p.net, p.len);
    }
    s.verdict = sipalg_scan(s.buf.get(), std::uint32_t(msg.size()), &mt,
                            inbound ? SIPALG_SCAN_NO_SDP_EDITS : 0, s.sc.get());
}

// The occurrences an outbound rewrite always replaces (the address fields).
bool address_field(const sipalg_occ &o, std::uint32_t phone_ip) {
    switch (o.kind) {
    case SIPALG_OCC_SIP_HOST:
    case SIPALG_OCC_SIP_ADDR:
    case SIPALG_OCC_SDP_ORIGIN:
    case SIPALG_OCC_SDP_CONN:
    case SIPALG_OCC_SDP_RTCP_ADDR:
    case SIPALG_OCC_SDP_CAND_ADDR:
        return true;
    case SIPALG_OCC_CALLID_HOST:
        return o.ip == phone_ip;
    default:
        return false;
    }
}

void check_no_leak(const std::vector<std::uint8_t> &in, const Scanned &sin,
                   const std::vector<std::uint8_t> &out, const Net &net, std::uint32_t phone_ip) {
    const std::string_view tin(reinterpret_cast<const char *>(in.data()), in.size());
    const std::string_view tout(reinterpret_cast<const char *>(out.data()), out.size());
    // The LAN quads the output may still hold: the input's outside the address fields.
    std::multiset<std::uint32_t> allowed;
    for (const Quad &q : quads(tin)) {
        if (!in_lan(net, q.ip))
            continue;
        bool replaced = false;
        for (std::uint32_t i = 0; i < sin.sc->n_occ && !replaced; i++) {
            const sipalg_occ &o = sin.sc->occ[i];
            replaced = address_field(o, phone_ip) && o.off < q.off + q.len && q.off < o.off + o.len;
        }
        if (!replaced)
            allowed.insert(q.ip);
    }
    for (const Quad &q : quads(tout)) {
        if (!in_lan(net, q.ip))
            continue;
        auto it = allowed.find(q.ip);
        CHECK(it != allowed.end());
        allowed.erase(it);
    }
}

// Bytes after the body (a datagram may carry some): Content-Length aside, what is left.
long trailer(const sipalg_scan_result &sc, std::size_t len) {
    if (sc.content_length < 0)
        return -1;
    return long(len) - long(sc.body_off) - long(sc.content_length);
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int *, char ***) {
    // This target's scanner must have the slow path's limits (see CMakeLists.txt).
    CHECK(slow_msg_max() == SIPALG_MSG_MAX);
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
    // Byte 0 chooses the case; an empty payload after it is a case of its own (a zero-length
    // datagram: once undefined behaviour in process(), found by this target, see README.md).
    if (size < 1)
        return 0;
    const std::uint8_t sel = data[0];
    const bool inbound = sel & 1;
    const bool fresh = !inbound && (sel & 32);
    const Phone phone = fresh ? kPhone3 : (sel & 8) ? kPhone2 : kPhone;
    const Net net = make_net();
    FakeState st(inbound, !(sel & 2), (sel & 64) ? 2 : 64, (sel & 4) ? 0 : 16);
    st.bind(kPhone, 40000);
    st.bind(kPhone2, 40001);

    Datagram d;
    d.dir = inbound ? Dir::In : Dir::Out;
    d.payload.assign(data + 1, data + size);
    const std::uint16_t pub = fresh ? 40002 : (sel & 8) ? 40001 : 40000;
    if (inbound) {
        d.src = {kServer, 5060};
        d.dst = {kPublic, (sel & 16) ? std::uint16_t(41234) : pub};
    } else {
        d.src = {phone.ip, phone.port};
        d.dst = {kServer, 5060};
    }
    const Outcome o = process(d, net, st);

    switch (o.verdict) {
    case Verdict::Failed:
    case Verdict::NoBinding:
    case Verdict::Refused:
        CHECK(!o.why.empty());
        return 0;
    case Verdict::Unchanged:
        CHECK(o.payload == d.payload);
        break;
    case Verdict::Rewritten:
        break;
    }
    CHECK(o.payload.size() <= slow_msg_max());
    if (inbound) {
        CHECK(!(sel & 16));
        CHECK(o.from == d.src && o.to == (Addr{phone.ip, phone.port}));
    } else {
        CHECK(o.from == (Addr{kPublic, pub}) && o.to == d.dst);
    }
    if (o.verdict != Verdict::Rewritten)
        return 0;

    Scanned sin, sout;
    scan(sin, d.payload, net, inbound);
    CHECK(sin.verdict == SIPALG_OK);
    scan(sout, o.payload, net, inbound);
    CHECK(sout.verdict == SIPALG_OK);
    CHECK(sout.sc->n_hdrs == sin.sc->n_hdrs);
    CHECK((sout.sc->content_length >= 0) == (sin.sc->content_length >= 0));
    // A Content-Length that matched the body still matches it; bytes after the body stay.
    CHECK(trailer(*sout.sc, o.payload.size()) == trailer(*sin.sc, d.payload.size()));
    if (!inbound)
        check_no_leak(d.payload, sin, o.payload, net, phone.ip);
    return 0;
}
