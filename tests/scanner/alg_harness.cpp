// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "alg_harness.hpp"

#include <cstring>

namespace sipalg_test {

MsgBuf::MsgBuf(const std::string &m, uint8_t fill)
    : b(SIPALG_BUF_SIZE, fill), len(static_cast<uint32_t>(m.size())) {
    std::memcpy(b.data(), m.data(), std::min<size_t>(m.size(), SIPALG_MSG_MAX));
}

sipalg_match lan_match(std::initializer_list<std::pair<uint32_t, uint32_t>> prefixes) {
    sipalg_match m{};
    for (auto [net, len] : prefixes)
        sipalg_match_add(&m, net, len);
    return m;
}

sipalg_match public_match(uint32_t ip) {
    sipalg_match m{};
    sipalg_match_add(&m, ip, 32);
    return m;
}

Result scan_only(const std::string &msg, const sipalg_match &m, uint32_t opts) {
    Result r;
    MsgBuf in(msg);
    r.sc = std::make_unique<sipalg_scan_result>();
    std::memset(r.sc.get(), 0xa5, sizeof(sipalg_scan_result)); // no reliance on zeroed scratch
    r.scan = sipalg_scan(in.b.data(), in.len, &m, opts, r.sc.get());
    return r;
}

static uint16_t map_port(const std::map<uint16_t, uint16_t> &ports, uint16_t p, bool reverse) {
    for (auto [from, to] : ports) {
        if (!reverse && from == p)
            return to;
        if (reverse && to == p)
            return from;
    }
    return p;
}

static void decide(sipalg_scan_result *sc, const Policy &p) {
    for (uint32_t i = 0; i < sc->n_occ; i++) {
        sipalg_occ *o = &sc->occ[i];
        uint32_t ip = p.inbound ? p.private_ip : p.public_ip;
        switch (sipalg_occ_text_of(o->kind)) {
        case SIPALG_TEXT_HOSTPORT: {
            uint16_t orig = o->port ? o->port : p.default_port;
            uint16_t np = map_port(p.ports, orig, p.inbound);
            sipalg_occ_set(o, ip, (o->port || np != p.default_port) ? np : 0);
            break;
        }
        case SIPALG_TEXT_PORT:
            sipalg_occ_set(o, ip, map_port(p.ports, o->port, p.inbound));
            break;
        case SIPALG_TEXT_ADDR:
            sipalg_occ_set(o, ip, 0);
            break;
        default:
            break;
        }
    }
}

static Result run(const std::string &msg, const Policy &p, const sipalg_match &m, uint32_t opts) {
    Result r = scan_only(msg, m, opts);
    if (r.scan != SIPALG_OK)
        return r;
    MsgBuf in(msg);
    std::vector<uint8_t> out(SIPALG_BUF_SIZE, 0xee);
    uint32_t out_len = 0;
    decide(r.sc.get(), p);
    r.apply = sipalg_apply(in.b.data(), r.sc.get(), out.data(), &out_len);
    if (r.apply == SIPALG_OK)
        r.out.assign(reinterpret_cast<const char *>(out.data()), out_len);
    return r;
}

Result outbound(const std::string &msg, const Policy &p, const sipalg_match &m) {
    return run(msg, p, m, 0);
}

Result inbound(const std::string &msg, const Policy &p) {
    Policy q = p;
    q.inbound = true;
    return run(msg, q, public_match(p.public_ip), SIPALG_SCAN_NO_SDP_EDITS);
}

std::string crlf(const std::string &lf) {
    std::string s;
    for (char c : lf) {
        if (c == '\n')
            s += '\r';
        s += c;
    }
    return s;
}

std::string fix_clen(const std::string &msg) {
    size_t sep = msg.find("\r\n\r\n");
    size_t skip = 4;
    if (sep == std::string::npos) {
        sep = msg.find("\n\n");
        skip = 2;
    }
    if (sep == std::string::npos)
        return msg;
    size_t body = msg.size() - (sep + skip);
    size_t p = msg.find("Content-Length:");
    if (p == std::string::npos || p > sep)
        return msg;
    size_t v = p + 15, e = v;
    while (e < msg.size() && msg[e] != '\r' && msg[e] != '\n')
        e++;
    return msg.substr(0, v) + " " + std::to_string(body) + msg.substr(e);
}

} // namespace sipalg_test
