// Putting a corpus message in a test's addressing: whole-literal replacement of one dotted quad
// by another with the Content-Length kept right, for the tests that run the shared corpus.
#pragma once

#include <cctype>
#include <cstddef>
#include <cstring>
#include <string>

namespace sipalg::testing {

// Whole-literal occurrences of the dotted quad `from` replaced by `to`; a Content-Length that
// counted the body is changed by as much as the body changed (a wrong one stays as wrong; one of
// more than six digits is left as it is).
inline std::string localize(const std::string &msg, const std::string &from,
                            const std::string &to) {
    std::size_t sep = msg.find("\r\n\r\n"), skip = 4;
    if (sep == std::string::npos) {
        sep = msg.find("\n\n");
        skip = 2;
    }
    const std::size_t body = sep == std::string::npos ? msg.size() : sep + skip;
    std::string out;
    long body_delta = 0;
    for (std::size_t i = 0; i < msg.size();) {
        const bool hit = msg.compare(i, from.size(), from) == 0 &&
                         (i == 0 || (!std::isdigit(static_cast<unsigned char>(msg[i - 1])) &&
                                     msg[i - 1] != '.')) &&
                         (i + from.size() >= msg.size() ||
                          !std::isdigit(static_cast<unsigned char>(msg[i + from.size()])));
        if (hit) {
            out += to;
            if (i >= body)
                body_delta += static_cast<long>(to.size()) - static_cast<long>(from.size());
            i += from.size();
        } else {
            out += msg[i++];
        }
    }
    if (body_delta == 0)
        return out;
    for (const char *hname : {"\nContent-Length:", "\nl:"}) {
        const std::size_t p = out.find(hname);
        if (p == std::string::npos)
            continue;
        std::size_t v = p + std::strlen(hname);
        while (v < out.size() && out[v] == ' ')
            v++;
        std::size_t e = v;
        while (e < out.size() && std::isdigit(static_cast<unsigned char>(out[e])))
            e++;
        if (e == v || e - v > 6)
            break;
        const long cl = std::stol(out.substr(v, e - v)) + body_delta;
        return out.substr(0, v) + std::to_string(cl) + out.substr(e);
    }
    return out;
}

} // namespace sipalg::testing
