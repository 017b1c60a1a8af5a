#include "diff_model.hpp"

#include "alg_harness.hpp"
#include "sipalg/out_rule.h"

#include <cctype>
#include <cstring>
#include <iterator>
#include <memory>
#include <vector>

namespace sipalg::diff {

// Names in enum order (the enums are dense from 0).
template <typename E, std::size_t N>
const char *enum_name(E e, const char *const (&names)[N]) {
    const auto i = static_cast<std::size_t>(e);
    return i < N ? names[i] : "?";
}

const char *name(Verdict v) {
    static const char *const names[] = {"redirected", "passed", "slow", "dropped"};
    static_assert(std::size(names) == static_cast<std::size_t>(Verdict::Dropped) + 1);
    return enum_name(v, names);
}

const char *name(Rule r) {
    static const char *const names[] = {"none",   "size",           "mtu",
                                        "mtu-in", "reg-not-sender", "unsolicited"};
    static_assert(std::size(names) == static_cast<std::size_t>(Rule::Unsolicited) + 1);
    return enum_name(r, names);
}

namespace {

struct Decider {
    const Msg &m;
    const State &s;
    sipalg_scan_result &sc;
    unsigned n_set = 0;
    std::uint16_t rtp[SIPALG_MAX_MEDIA] = {}, rtcp[SIPALG_MAX_MEDIA] = {};

    void set(sipalg_occ &o, std::uint32_t ip, std::uint32_t port) {
        sipalg_occ_set(&o, ip, port);
        n_set++;
    }
    static std::uint16_t find(const std::map<Sock, std::uint16_t> &t, std::uint32_t ip,
                              std::uint32_t port) {
        auto it = t.find({ip, static_cast<std::uint16_t>(port)});
        return it == t.end() ? 0 : it->second;
    }

    // Outbound: the phone's own socket is the message's binding; another LAN socket maps
    // through its binding if it has one.
    std::uint32_t sip_port(std::uint32_t ip, std::uint32_t port) const {
        if (ip == m.priv_ip && port == m.priv_port)
            return m.public_port;
        return find(s.bindings, ip, port);
    }
    void out_sip(sipalg_occ &o) {
        std::uint32_t port = 0;
        if (sipalg_out_sip_port(&o, sip_port(o.ip, o.port ? o.port : SIPALG_SIP_DEFAULT_PORT),
                                &port))
            set(o, m.public_ip, port);
    }
    // A pinhole exists for the socket only if the fast path opened it for this message (the
    // state is fresh per message): its public port, or 0.
    std::uint16_t pin(std::uint32_t ip, std::uint32_t port) const {
        return port > 65535 ? 0 : find(s.pinholes, ip, port);
    }
    void out_media(sipalg_occ &o) {
        const unsigned i = o.media & (SIPALG_MAX_MEDIA - 1);
        const sipalg_sdp_media &md = sc.sdp.m[i];
        if (!o.port || !sipalg_media_for_sender(o.ip, o.port, m.priv_ip))
            return;
        if (o.kind == SIPALG_OCC_SDP_RTCP_PORT) {
            if (const std::uint16_t p = pin(o.ip, o.port)) {
                rtcp[i] = p;
                set(o, m.public_ip, p);
            }
            return;
        }
        const std::uint16_t p = pin(o.ip, o.port);
        if (!p)
            return;
        rtp[i] = p;
        set(o, m.public_ip, p);
        if ((md.flags & SIPALG_MF_RTP) && !(md.flags & SIPALG_MF_RTCP) && o.port < 65535)
            rtcp[i] = pin(o.ip, o.port + 1u);
    }
    void out_candidate(sipalg_occ &o) {
        const unsigned i = o.media & (SIPALG_MAX_MEDIA - 1);
        if (o.media >= SIPALG_MAX_MEDIA)
            return;
        if (const std::uint32_t p =
                    sipalg_out_candidate_port(o.port, &sc.sdp.m[i], rtp[i], rtcp[i]))
            set(o, m.public_ip, p);
    }
    // The decision is the shared one (sipalg/out_rule.h); what the model checks is the fast
    // path's execution of it: its map lookups, pinholes, loops and byte rewriting.
    void outbound() {
        for (std::uint32_t k = 0; k < sc.n_occ; k++) {
            sipalg_occ &o = sc.occ[k];
            switch (sipalg_out_action(&o, m.public_ip, m.priv_ip)) {
            case SIPALG_OUT_SIP:
                out_sip(o);
                break;
            case SIPALG_OUT_ADDR:
                set(o, m.public_ip, 0);
                break;
            case SIPALG_OUT_CAND_PORT:
                out_candidate(o);
                break;
            case SIPALG_OUT_MEDIA:
                out_media(o);
                break;
            default:
                break;
            }
        }
    }
    // Inbound: the public address with a binding's port -> that binding's phone socket.
    void inbound() {
        for (std::uint32_t k = 0; k < sc.n_occ; k++) {
            sipalg_occ &o = sc.occ[k];
            if (o.kind == SIPALG_OCC_SIP_ADDR || o.kind == SIPALG_OCC_CALLID_HOST) {
                set(o, m.priv_ip, 0);
                continue;
            }
            if (o.kind != SIPALG_OCC_SIP_HOST && o.kind != SIPALG_OCC_SIP_RPORT)
                continue;
            const std::uint32_t eff = o.port ? o.port : SIPALG_SIP_DEFAULT_PORT;
            const Sock *phone = nullptr;
            for (const auto &[priv, pub] : s.bindings)
                if (pub == eff)
                    phone = &priv;
            if (!phone)
                continue;
            std::uint32_t priv_port = phone->second;
            if (o.kind == SIPALG_OCC_SIP_HOST && !o.port && priv_port == SIPALG_SIP_DEFAULT_PORT)
                priv_port = 0;
            set(o, phone->first, priv_port);
        }
    }
};

// Scanner verdict -> datapath verdict (sipalg_rw_verdict and sipalg_sip_pass).
Outcome from_scan_verdict(int v, const std::string &payload) {
    Outcome r;
    r.scan = v;
    r.payload = payload;
    if (v == SIPALG_NOT_SIP)
        r.verdict = Verdict::Redirected;
    else if (v == SIPALG_MALFORMED)
        r.verdict = Verdict::Passed;
    else
        r.verdict = Verdict::Slow;
    return r;
}

// A REGISTER may only register its sender (sipalg_contact_for_sender).
bool registers_another_host(const sipalg_scan_result &sc, const Msg &m) {
    if (!sc.is_request || sc.method != SIPALG_M_REGISTER)
        return false;
    if (sc.contact_unspec)
        return true;
    for (std::uint32_t k = 0; k < sc.n_occ; k++)
        if (!sipalg_contact_for_sender(&sc.occ[k], m.priv_ip, m.public_ip, m.public_port))
            return true;
    return false;
}

Outcome refused(Rule why, const std::string &payload, int scan) {
    Outcome r;
    r.verdict = why == Rule::Unsolicited ? Verdict::Dropped : Verdict::Passed;
    r.rule = why;
    r.scan = scan;
    r.payload = payload;
    return r;
}

} // namespace

Outcome fast_path_model(const std::string &payload, const Msg &m, const State &s) {
    // Not SIP, or SIP the scanner refuses, reaches a phone only from whom a request would.
    const bool unsolicited = !m.outbound && !m.peer_admitted;
    if (payload.empty()) {
        if (unsolicited)
            return refused(Rule::Unsolicited, payload, SIPALG_NOT_SIP);
        Outcome r;
        r.verdict = Verdict::Redirected;
        return r;
    }
    if (payload.size() > kKernelSipMax) {
        Outcome r;
        r.verdict = Verdict::Slow;
        r.rule = Rule::SizeIn;
        r.payload = payload;
        return r;
    }
    if (20 + 8 + payload.size() > m.mtu) {
        Outcome r;
        r.verdict = Verdict::Slow;
        r.rule = Rule::MtuIn;
        r.payload = payload;
        return r;
    }
    sipalg_match mt{};
    if (m.outbound) {
        // The LAN, and the addresses only looked at for the REGISTER rule (sip_work.bpf.h).
        sipalg_match_add(&mt, m.lan_net, m.lan_plen);
        sipalg_match_special(&mt);
        sipalg_match_add(&mt, m.public_ip, 32);
    } else
        sipalg_match_add(&mt, m.public_ip, 32);
    sipalg_test::MsgBuf in(payload);
    auto sc = std::make_unique<sipalg_scan_result>();
    std::memset(sc.get(), 0xa5, sizeof(*sc));
    const int v = sipalg_scan(in.b.data(), in.len, &mt, m.outbound ? 0 : SIPALG_SCAN_NO_SDP_EDITS,
                              sc.get());
    if (v != SIPALG_OK)
        return unsolicited ? refused(Rule::Unsolicited, payload, v) : from_scan_verdict(v, payload);
    if (unsolicited && sc->is_request)
        return refused(Rule::Unsolicited, payload, v);
    if (m.outbound && registers_another_host(*sc, m))
        return refused(Rule::RegNotSender, payload, v);
    Decider d{m, s, *sc};
    if (m.outbound)
        d.outbound();
    else
        d.inbound();
    Outcome r;
    r.scan = v;
    r.payload = payload;
    r.verdict = Verdict::Redirected;
    if (!d.n_set)
        return r;
    std::vector<std::uint8_t> out(SIPALG_BUF_SIZE, 0xee);
    std::uint32_t out_len = 0;
    const int a = sipalg_apply(in.b.data(), sc.get(), out.data(), &out_len);
    if (a != SIPALG_OK || out_len == 0 || out_len > kKernelSipMax) {
        Outcome t = from_scan_verdict(a == SIPALG_OK ? SIPALG_TOO_BIG : a, payload);
        t.scan = v;
        return t;
    }
    // IPv4 header (the test frames have no options) + UDP header + payload.
    if (20 + 8 + out_len > m.mtu) {
        r.verdict = Verdict::Slow;
        r.rule = Rule::Mtu;
        return r;
    }
    r.payload.assign(reinterpret_cast<const char *>(out.data()), out_len);
    return r;
}

namespace {

// Header fields until the first empty line; body = what follows it.
struct Parsed {
    bool ok = false;
    long clen = -1; // -1: none (or more than one: not checked)
    std::size_t body = 0;
};

Parsed parse_clen(const std::string &msg) {
    Parsed p;
    std::size_t at = 0;
    int n_clen = 0;
    while (at < msg.size()) {
        std::size_t e = msg.find('\n', at);
        if (e == std::string::npos)
            return p;
        std::size_t le = e;
        if (le > at && msg[le - 1] == '\r')
            le--;
        if (le == at) { // the empty line
            p.ok = true;
            p.body = msg.size() - (e + 1);
            if (n_clen != 1)
                p.clen = -1;
            return p;
        }
        const std::size_t colon = msg.find(':', at);
        if (colon != std::string::npos && colon < le && at > 0) {
            std::string hn = msg.substr(at, colon - at);
            while (!hn.empty() && (hn.back() == ' ' || hn.back() == '\t'))
                hn.pop_back();
            for (char &c : hn)
                c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
            if (hn == "content-length" || hn == "l") {
                std::size_t v = colon + 1;
                while (v < le && (msg[v] == ' ' || msg[v] == '\t'))
                    v++;
                std::size_t d = v;
                while (d < le && std::isdigit(static_cast<unsigned char>(msg[d])))
                    d++;
                n_clen++;
                if (d == v || d - v > 6)
                    n_clen = 99; // not a plain number: not checked
                else
                    p.clen = std::stol(msg.substr(v, d - v));
            }
        }
        at = e + 1;
    }
    return p;
}

} // namespace

std::string check_content_length(const std::string &in, const std::string &out) {
    const Parsed a = parse_clen(in), b = parse_clen(out);
    if (!a.ok || a.clen < 0 || static_cast<std::size_t>(a.clen) != a.body)
        return "";
    if (!b.ok || b.clen < 0)
        return "output has no single Content-Length / end of headers";
    if (static_cast<std::size_t>(b.clen) != b.body)
        return "Content-Length " + std::to_string(b.clen) + " but body of " +
               std::to_string(b.body) + " bytes";
    return "";
}

std::string check_outbound_oracles(const std::string &in, const std::string &out, const Msg &m) {
    sipalg_match mt{};
    sipalg_match_add(&mt, m.lan_net, m.lan_plen);
    const sipalg_test::Result r = sipalg_test::scan_only(out, mt);
    if (r.scan == SIPALG_OK) {
        for (const sipalg_occ &o : r.occ()) {
            if (o.kind == SIPALG_OCC_NONE || o.kind == SIPALG_OCC_CONTENT_LENGTH)
                continue;
            if (o.kind == SIPALG_OCC_CALLID_HOST && o.ip != m.priv_ip)
                continue; // another host's Call-ID: not the ALG's to rewrite
            return "LAN address left: occurrence kind " + std::to_string(o.kind) + " at offset " +
                   std::to_string(o.off) + ": \"" + out.substr(o.off, o.len) + "\"";
        }
    } else {
        // The rewrite must not turn a message the scanner understood into one it does not.
        return "output rescans with verdict " + std::to_string(r.scan);
    }
    return check_content_length(in, out);
}

} // namespace sipalg::diff
