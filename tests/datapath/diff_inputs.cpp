#include "diff_inputs.hpp"

#include "corpus_index.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace sipalg::diff {

namespace {

bool is_ipv4(const std::string &s) {
    return !s.empty() && s.find_first_not_of("0123456789.") == std::string::npos;
}

} // namespace

std::vector<Base> load_corpus(const std::string &dflt) {
    const char *env = std::getenv("SIPALG_CORPUS_DIR");
    const std::string dir = env ? env : dflt;
    std::vector<Base> out;
    for (const auto &col : testing::read_corpus_index(dir)) {
        std::string msg = testing::read_whole_file(dir + "/" + col[0]);
        if (msg.empty())
            continue;
        out.push_back({col[0], std::move(msg), is_ipv4(col[4]) ? col[4] : ""});
    }
    return out;
}

std::vector<Base> load_seeds(const std::string &fuzz_dir) {
    std::vector<Base> out;
    namespace fs = std::filesystem;
    for (const char *sub : {"seeds", "seeds_daemon", "seeds_stream"}) {
        const fs::path d = fs::path(fuzz_dir) / sub;
        if (!fs::is_directory(d))
            continue;
        std::vector<fs::path> files;
        for (const auto &e : fs::directory_iterator(d))
            if (e.is_regular_file())
                files.push_back(e.path());
        std::sort(files.begin(), files.end());
        for (const fs::path &p : files) {
            std::string m = testing::read_whole_file(p.string());
            std::size_t skip = 0;
            if (!std::strcmp(sub, "seeds") || !std::strcmp(sub, "seeds_daemon"))
                skip = 1; // the selector (NAT decisions, daemon case) byte
            else if (!std::strcmp(sub, "seeds_stream") && !m.empty())
                skip = 1 + (static_cast<unsigned char>(m[0]) & 15); // limit + segment sizes
            if (m.size() <= skip)
                continue;
            // The phones the seeds were written with: the first stands for the sender.
            const char *client = !std::strcmp(sub, "seeds") ? "192.168.10.11" : "192.168.1.10";
            out.push_back({std::string(sub) + "/" + p.filename().string(), m.substr(skip), client});
        }
    }
    return out;
}

std::uint64_t Rng::next() {
    std::uint64_t z = (s_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

namespace {

// Positions where a header line starts or ends (after '\n', at '\r' or a lone '\n') and right
// after a ':' : where the scanner's state machines change state.
std::vector<std::size_t> boundaries(const std::string &m) {
    std::vector<std::size_t> b;
    for (std::size_t i = 0; i < m.size(); i++) {
        if (m[i] == '\n')
            b.push_back(i + 1);
        if (m[i] == '\r' || (m[i] == '\n' && (i == 0 || m[i - 1] != '\r')))
            b.push_back(i);
        if (m[i] == ':' || m[i] == ';' || m[i] == '@' || m[i] == ' ')
            b.push_back(i + 1);
    }
    if (b.empty())
        b.push_back(0);
    return b;
}

// A dotted quad of the message replaced by another address the rules treat differently: the
// other phone (which has a binding), its SIP socket, the router, the public address with and
// without a binding's port, loopback, the unspecified address.
bool swap_address(std::string &m, Rng &rng) {
    static const char *const others[] = {"192.168.1.11", "192.168.1.11:5062", "192.168.1.1",
                                         "203.0.113.1",  "203.0.113.1:5062",  "203.0.113.1:5060",
                                         "127.0.0.1",    "0.0.0.0",           "192.168.1.10"};
    std::vector<std::size_t> quads;
    for (std::size_t i = 0; i + 7 <= m.size(); i++) {
        if (!std::isdigit(static_cast<unsigned char>(m[i])) ||
            (i && (std::isdigit(static_cast<unsigned char>(m[i - 1])) || m[i - 1] == '.')))
            continue;
        std::size_t e = i, dots = 0;
        while (e < m.size() && (std::isdigit(static_cast<unsigned char>(m[e])) || m[e] == '.'))
            dots += m[e++] == '.';
        if (dots == 3)
            quads.push_back(i);
    }
    if (quads.empty())
        return false;
    const std::size_t at = quads[rng.below(quads.size())];
    std::size_t e = at;
    while (e < m.size() && (std::isdigit(static_cast<unsigned char>(m[e])) || m[e] == '.'))
        e++;
    m.replace(at, e - at, others[rng.below(sizeof(others) / sizeof(others[0]))]);
    return true;
}

// A header field added after the start line to bring the message to just under or over a
// size the datapath cares about: the egress MTU of 1500 (1472 bytes of UDP payload), where a
// rewrite that grows the message crosses it, and the in-kernel SIP limit (2048).
void pad_to_limit(std::string &m, Rng &rng) {
    static const std::size_t targets[] = {1440, 1460, 1466, 1469, 1471, 1472, 1473, 2048};
    const std::size_t want =
            targets[rng.below(sizeof(targets) / sizeof(targets[0]))] + rng.below(3) - 1;
    const std::size_t eol = m.find('\n');
    const std::size_t at = eol == std::string::npos ? m.size() : eol + 1;
    const std::size_t overhead = std::string("X-Pad: \r\n").size();
    if (m.size() + overhead >= want)
        return;
    m.insert(at, "X-Pad: " + std::string(want - m.size() - overhead, 'p') + "\r\n");
}

// One line repeated many times: over the scanner's header, line and occurrence limits.
void repeat_line(std::string &m, Rng &rng) {
    const std::size_t pos = rng.below(m.size());
    const std::size_t s = m.rfind('\n', pos);
    const std::size_t start = s == std::string::npos ? 0 : s + 1;
    const std::size_t e = m.find('\n', pos);
    const std::size_t end = e == std::string::npos ? m.size() : e + 1;
    const std::string line = m.substr(start, end - start);
    std::string rep;
    // Mostly within the in-kernel limit, so that the scanner's limits are what is hit.
    const std::size_t room = m.size() < 2040 ? 2040 - m.size() : 0;
    for (std::size_t k = 0, n = 8 + rng.below(64); k < n && rep.size() + line.size() <= room; k++)
        rep += line;
    m.insert(end, rep);
}

std::string mutate_once(std::string m, Rng &rng) {
    static const char *const inserts[] = {"\r\n", "\n", "\r",    ":", "::", "\r\n\r\n",
                                          " ",    "\t", "\r\n ", ";", "@",  "."};
    const std::size_t pos = rng.below(m.size());
    switch (rng.below(12)) {
    case 10:
        pad_to_limit(m, rng);
        break;
    case 11:
        repeat_line(m, rng);
        break;
    case 8:
        if (swap_address(m, rng))
            break;
        [[fallthrough]];
    case 0: // bit flip
        m[pos] = static_cast<char>(m[pos] ^ (1u << rng.below(8)));
        break;
    case 1: // byte set
        m[pos] = static_cast<char>(rng.below(256));
        break;
    case 2: // truncation (at least one byte stays)
        m.resize(1 + rng.below(m.size()));
        break;
    case 3:
    case 4: { // separators at a boundary
        const auto b = boundaries(m);
        m.insert(b[rng.below(b.size())], inserts[rng.below(sizeof(inserts) / sizeof(inserts[0]))]);
        break;
    }
    case 5: { // digits at a boundary: ports, lengths, dotted quads grow
        const auto b = boundaries(m);
        std::string d;
        for (std::size_t k = 0, n = 1 + rng.below(6); k < n; k++)
            d += static_cast<char>('0' + rng.below(10));
        m.insert(b[rng.below(b.size())], d);
        break;
    }
    case 6: { // short deletion
        const std::size_t n = 1 + rng.below(8);
        m.erase(pos, std::min(n, m.size() - pos));
        if (m.empty())
            m = "\r\n";
        break;
    }
    default: { // a line duplicated
        const std::size_t s = m.rfind('\n', pos);
        const std::size_t start = s == std::string::npos ? 0 : s + 1;
        const std::size_t e = m.find('\n', pos);
        const std::size_t end = e == std::string::npos ? m.size() : e + 1;
        m.insert(end, m.substr(start, end - start));
        break;
    }
    }
    return m;
}

} // namespace

std::string mutate(const std::string &msg, Rng &rng) {
    std::string m = msg.empty() ? std::string("\r\n") : msg;
    for (std::size_t k = 0, n = 1 + rng.below(3); k < n; k++)
        m = mutate_once(std::move(m), rng);
    return m;
}

std::string hex(const std::string &s, std::size_t max) {
    static const char *const d = "0123456789abcdef";
    std::string out;
    for (std::size_t i = 0; i < s.size() && i < max; i++) {
        const auto c = static_cast<unsigned char>(s[i]);
        out += d[c >> 4];
        out += d[c & 15];
    }
    if (s.size() > max)
        out += "...";
    return out;
}

} // namespace sipalg::diff
