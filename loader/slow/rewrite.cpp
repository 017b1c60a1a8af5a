// Built with the slow path's limits (CMake sets them for this file only: the include/sipalg
// structures of this translation unit are private to it).
#include "slow/rewrite.hpp"

#include "sipalg/dialog_msg.h"
#include "sipalg/out_rule.h"
#include "sipalg/sipalg.h"

#include <array>
#include <cstring>
#include <memory>
#include <utility>

namespace sipalg::slow {

namespace {

struct Work {
    sipalg_work w;
    sipalg_match mt;
};

// One message's decisions; mirrors bpf/sip_out.bpf.h and bpf/sip_in.bpf.h (see there for why).
class Decider {
  public:
    Decider(sipalg_scan_result &sc, const sa_u8 *msg, const Net &net, SlowState &st, Phone phone,
            std::uint16_t public_port)
        : sc_(sc), net_(net), st_(st), phone_(phone), pub_port_(public_port) {
        sipalg_dialog_msg_of(&dm_, &sc_, msg, phone_.ip, net_.public_ip);
    }

    const sipalg_dialog_msg &facts() const { return dm_; }

    // The message's dialog first: it says where the pinholes the SDP opens are scoped to (and
    // without one none open, as in the fast path, bpf/sip_out.bpf.h).
    void outbound() {
        in_dialog_ = st_.dialog_begin(pub_port_, dm_, &scope_);
        for (std::uint32_t i = 0; i < sc_.n_occ; i++)
            out_occ(sc_.occ[i]);
        if (!in_dialog_)
            return;
        std::array<std::uint16_t, 8> ports{};
        for (int i = 0; i < 4; i++) {
            ports[i] = rtp_[i];
            ports[i + 4] = rtcp_[i];
        }
        st_.dialog_out(pub_port_, dm_, ports);
    }

    // reg_answer: the registrar's matching 2xx to the phone's REGISTER (SlowState::signal).
    void inbound(bool reg_answer) {
        for (std::uint32_t i = 0; i < sc_.n_occ; i++)
            in_occ(sc_.occ[i]);
        if (reg_answer && dm_.expires >= 0)
            st_.binding_lifetime(pub_port_, static_cast<std::uint32_t>(dm_.expires));
        st_.dialog_in(pub_port_, dm_);
    }

    std::uint32_t n_set() const { return n_set_; }

  private:
    void set(sipalg_occ &o, std::uint32_t ip, std::uint32_t port) {
        sipalg_occ_set(&o, ip, port);
        n_set_++;
    }

    std::uint16_t sip_port_of(std::uint32_t ip, std::uint32_t port) const {
        if (ip == phone_.ip && port == phone_.port)
            return pub_port_;
        return st_.binding_port({ip, static_cast<std::uint16_t>(port)});
    }

    std::uint16_t pin(std::uint32_t line, std::uint32_t ip, std::uint32_t port,
                      std::uint32_t want) {
        if (!in_dialog_)
            return 0;
        const std::uint16_t got = st_.pinhole_open({ip, static_cast<std::uint16_t>(port)},
                                                   static_cast<std::uint16_t>(want), pub_port_,
                                                   line < 4 ? scope_[line] : 0);
        if (got)
            n_pin_++;
        return got;
    }

    void out_media(sipalg_occ &o) {
        const std::uint32_t i = o.media & (SIPALG_MAX_MEDIA - 1);
        const sipalg_sdp_media &md = sc_.sdp.m[i];
        const bool remembered = i < 4; // the call memory holds four media lines
        if (!o.port || !sipalg_media_for_sender(o.ip, o.port, phone_.ip))
            return;
        if (o.kind == SIPALG_OCC_SDP_RTCP_PORT) {
            const std::uint32_t want = remembered && rtp_[i] ? rtp_[i] + 1u : 0;
            if (const std::uint16_t c = pin(i, o.ip, o.port, want)) {
                if (remembered)
                    rtcp_[i] = c;
                set(o, net_.public_ip, c);
            }
            return;
        }
        const std::uint16_t p = pin(i, o.ip, o.port, 0);
        if (!p)
            return;
        if (remembered)
            rtp_[i] = p;
        set(o, net_.public_ip, p);
        if ((md.flags & SIPALG_MF_RTP) && !(md.flags & SIPALG_MF_RTCP) && o.port < 65535) {
            const std::uint16_t c = pin(i, o.ip, o.port + 1u, p + 1u);
            if (remembered)
                rtcp_[i] = c;
        }
    }

    void out_candidate(sipalg_occ &o) {
        if (o.media >= 4) // the call memory holds four media lines
            return;
        const std::uint32_t pub = sipalg_out_candidate_port(o.port, &sc_.sdp.m[o.media],
                                                            rtp_[o.media], rtcp_[o.media]);
        if (pub)
            set(o, net_.public_ip, pub);
    }

    void out_occ(sipalg_occ &o) {
        std::uint32_t port = 0;
        switch (sipalg_out_action(&o, net_.public_ip, phone_.ip)) {
        case SIPALG_OUT_SIP:
            if (sipalg_out_sip_port(
                        &o, sip_port_of(o.ip, o.port ? o.port : SIPALG_SIP_DEFAULT_PORT), &port))
                set(o, net_.public_ip, port);
            break;
        case SIPALG_OUT_ADDR:
            set(o, net_.public_ip, 0);
            break;
        case SIPALG_OUT_MEDIA:
            out_media(o);
            break;
        case SIPALG_OUT_CAND_PORT:
            out_candidate(o);
            break;
        default:
            break;
        }
    }

    void in_occ(sipalg_occ &o) {
        if (o.kind == SIPALG_OCC_SIP_ADDR || o.kind == SIPALG_OCC_CALLID_HOST) {
            set(o, phone_.ip, 0);
            return;
        }
        if (o.kind != SIPALG_OCC_SIP_HOST && o.kind != SIPALG_OCC_SIP_RPORT)
            return;
        const std::uint32_t eff = o.port ? o.port : SIPALG_SIP_DEFAULT_PORT;
        Phone ph;
        if (eff > 65535 || !st_.binding_phone(static_cast<std::uint16_t>(eff), &ph))
            return;
        std::uint32_t port = ph.port;
        if (o.kind == SIPALG_OCC_SIP_HOST && !o.port && port == SIPALG_SIP_DEFAULT_PORT)
            port = 0;
        set(o, ph.ip, port);
    }

    sipalg_scan_result &sc_;
    const Net &net_;
    SlowState &st_;
    Phone phone_;
    std::uint16_t pub_port_;
    std::uint32_t n_set_ = 0, n_pin_ = 0;
    sipalg_dialog_msg dm_{};
    bool in_dialog_ = false;
    std::array<std::uint32_t, 4> scope_{}; // the peer's media address per line (host order)
    std::array<std::uint16_t, 4> rtp_{}, rtcp_{};
};

const char *verdict_name(int v) {
    switch (v) {
    case SIPALG_MALFORMED:
        return "malformed";
    case SIPALG_TOO_BIG:
        return "too big";
    case SIPALG_TOO_COMPLEX:
        return "too complex";
    default:
        return "not rewritable";
    }
}

// Scans a message (at most SIPALG_MSG_MAX bytes) into `work` as the kernel does for that
// direction: outbound the LAN prefixes are the addresses to find, inbound the public address.
int scan(Work &work, const std::vector<std::uint8_t> &payload, const Net &net, Dir dir) {
    if (!payload.empty()) // an empty vector's data() may be null, even for 0 bytes
        std::memcpy(work.w.msg, payload.data(), payload.size());
    std::memset(&work.mt, 0, sizeof(work.mt));
    if (dir == Dir::Out) {
        for (const Prefix &p : net.lan)
            sipalg_match_add(&work.mt, p.net, p.len);
        sipalg_match_special(&work.mt);
        sipalg_match_add(&work.mt, net.public_ip, 32);
    } else {
        sipalg_match_add(&work.mt, net.public_ip, 32);
    }
    return sipalg_scan(work.w.msg, static_cast<sa_u32>(payload.size()), &work.mt,
                       dir == Dir::Out ? 0 : SIPALG_SCAN_NO_SDP_EDITS, &work.w.sc);
}

Outcome failed(std::string why) {
    Outcome o;
    o.verdict = Verdict::Failed;
    o.why = std::move(why);
    return o;
}

Outcome refused(std::string why) {
    Outcome o;
    o.verdict = Verdict::Refused;
    o.why = std::move(why);
    return o;
}

// A REGISTER whose Contact names another host than its sender (sipalg/sender_rule.h), for the
// binding public_ip : bind_port it would go out with.
bool registers_other(const sipalg_scan_result &sc, std::uint32_t sender_ip, std::uint32_t public_ip,
                     std::uint16_t bind_port) {
    if (!sc.is_request || sc.method != SIPALG_M_REGISTER)
        return false;
    if (sc.contact_unspec)
        return true;
    for (std::uint32_t i = 0; i < sc.n_occ; i++) {
        if (!sipalg_contact_for_sender(&sc.occ[i], sender_ip, public_ip, bind_port))
            return true;
    }
    return false;
}

const char *signal_why(SlowState::Signal s) {
    return s == SlowState::Signal::Refused
                   ? "not from a registrar, a call or a trusted peer of the phone (sig_unsolicited)"
                   : "over its source's request rate (rate_register / rate_invite)";
}

} // namespace

std::uint32_t slow_msg_max() {
    return SIPALG_MSG_MAX;
}

Outcome process(const Datagram &d, const Net &net, SlowState &state) {
    Outcome res;
    if (d.payload.size() > SIPALG_MSG_MAX)
        return failed("message of " + std::to_string(d.payload.size()) + " bytes, over " +
                      std::to_string(SIPALG_MSG_MAX));
    auto work = std::make_unique<Work>();
    const int v = scan(*work, d.payload, net, d.dir);
    if (v != SIPALG_OK && v != SIPALG_NOT_SIP)
        return failed(std::string("the rewriter refused it: ") + verdict_name(v));

    // The NATed addresses, and the binding the message belongs to.
    Phone phone;
    std::uint16_t pub_port = 0;
    if (d.dir == Dir::Out) {
        phone = {d.src.ip, d.src.port};
        // The binding it would use: the existing one, else the phone's own port, which a new
        // binding gets when it is free (the fast path checks after creating it, and undoes it).
        const std::uint16_t would = state.binding_port(phone);
        if (v == SIPALG_OK &&
            registers_other(work->w.sc, phone.ip, net.public_ip, would ? would : phone.port)) {
            state.count(SIPALG_CTR_REG_NOT_SENDER);
            return refused("a REGISTER whose Contact names another host than its sender "
                           "(reg_not_sender)");
        }
        const bool reg =
                v == SIPALG_OK && work->w.sc.is_request && work->w.sc.method == SIPALG_M_REGISTER;
        pub_port = state.binding_touch(phone, reg);
        res.from = {net.public_ip, pub_port};
        res.to = d.dst;
    } else {
        pub_port = d.dst.port;
        if (!state.binding_phone(pub_port, &phone)) {
            res.verdict = Verdict::NoBinding;
            res.why = "no binding on public port " + std::to_string(pub_port);
            return res;
        }
        res.from = d.src;
        res.to = {phone.ip, phone.port};
    }
    if (!pub_port) {
        res.verdict = Verdict::NoBinding;
        res.why = "no public port for the phone";
        return res;
    }
    res.payload = d.payload;
    res.verdict = Verdict::Unchanged;
    if (v == SIPALG_NOT_SIP) {
        // Keepalives and the like cross through the binding as they are, inbound only from
        // whom a request could come.
        sipalg_dialog_msg junk{};
        junk.is_request = 1;
        const auto s = d.dir == Dir::In ? state.signal(pub_port, d.src.ip, true, junk, nullptr)
                                        : SlowState::Signal::Ok;
        return s == SlowState::Signal::Ok ? res : refused(signal_why(s));
    }

    Decider dec(work->w.sc, work->w.msg, net, state, phone, pub_port);
    bool reg_answer = false;
    const auto s = d.dir == Dir::Out
                           ? state.signal(pub_port, d.dst.ip, false, dec.facts(), nullptr)
                           : state.signal(pub_port, d.src.ip, true, dec.facts(), &reg_answer);
    if (s != SlowState::Signal::Ok)
        return refused(signal_why(s));
    if (d.dir == Dir::Out)
        dec.outbound();
    else
        dec.inbound(reg_answer);
    if (!dec.n_set())
        return res;
    sa_u32 out_len = 0;
    const int a = sipalg_apply(work->w.msg, &work->w.sc, work->w.out, &out_len);
    if (a != SIPALG_OK || out_len == 0)
        return failed(std::string("the rewrite failed: ") + verdict_name(a));
    res.payload.assign(work->w.out, work->w.out + out_len);
    res.verdict = Verdict::Rewritten;
    return res;
}

std::uint16_t phone_sip_port(const std::vector<std::uint8_t> &msg, const Net &net,
                             std::uint32_t phone_ip, std::uint16_t fallback) {
    if (msg.size() > SIPALG_MSG_MAX)
        return fallback;
    auto work = std::make_unique<Work>();
    if (scan(*work, msg, net, Dir::Out) != SIPALG_OK)
        return fallback;
    const sipalg_scan_result &sc = work->w.sc;
    for (const std::uint8_t hdr : {SIPALG_H_VIA, SIPALG_H_CONTACT}) {
        for (std::uint32_t i = 0; i < sc.n_occ; i++) {
            const sipalg_occ &o = sc.occ[i];
            if (o.kind == SIPALG_OCC_SIP_HOST && o.hdr == hdr && o.ip == phone_ip)
                return o.port ? o.port : static_cast<std::uint16_t>(SIPALG_SIP_DEFAULT_PORT);
        }
    }
    return fallback;
}

} // namespace sipalg::slow
