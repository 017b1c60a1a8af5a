#include "slow/sip_register.hpp"

#include <cctype>
#include <string_view>

namespace sipalg::slow {

namespace {

bool starts_with(std::string_view s, std::string_view p) {
    return s.size() >= p.size() && s.compare(0, p.size(), p) == 0;
}

bool iequal(std::string_view a, std::string_view b) {
    if (a.size() != b.size())
        return false;
    for (std::size_t i = 0; i < a.size(); i++)
        if (std::tolower(static_cast<unsigned char>(a[i])) !=
            std::tolower(static_cast<unsigned char>(b[i])))
            return false;
    return true;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
        s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
        s.remove_suffix(1);
    return s;
}

// The method of a CSeq value ("12 REGISTER").
std::string_view cseq_method(std::string_view v) {
    v = trim(v);
    std::size_t i = 0;
    while (i < v.size() && std::isdigit(static_cast<unsigned char>(v[i])))
        i++;
    return i ? trim(v.substr(i)) : std::string_view{};
}

} // namespace

RegisterKind register_kind(const std::vector<std::uint8_t> &msg) {
    const std::string_view m(reinterpret_cast<const char *>(msg.data()), msg.size());
    std::size_t eol = m.find('\n');
    if (eol == std::string_view::npos)
        return RegisterKind::Other;
    const std::string_view start = m.substr(0, eol);
    if (starts_with(start, "REGISTER "))
        return RegisterKind::Request;
    if (!starts_with(start, "SIP/2.0 2") || start.size() < 11 ||
        !std::isdigit(static_cast<unsigned char>(start[9])) ||
        !std::isdigit(static_cast<unsigned char>(start[10])))
        return RegisterKind::Other;
    for (std::size_t i = eol + 1; i < m.size(); i = eol + 1) {
        eol = m.find('\n', i);
        if (eol == std::string_view::npos)
            eol = m.size();
        const std::string_view line = m.substr(i, eol - i);
        if (trim(line).empty())
            break; // end of headers
        const std::size_t colon = line.find(':');
        if (colon != std::string_view::npos && iequal(trim(line.substr(0, colon)), "cseq"))
            return iequal(cseq_method(line.substr(colon + 1)), "REGISTER") ? RegisterKind::Ok
                                                                           : RegisterKind::Other;
    }
    return RegisterKind::Other;
}

} // namespace sipalg::slow
