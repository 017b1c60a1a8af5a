// Socket helpers the daemon's UDP path and its TCP proxy share.
#pragma once

#include "cli/error.hpp"
#include "instance/discover.hpp"
#include "slow/rewrite.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <string>

namespace sipalg::slow {

inline sockaddr_in sin_of(Addr a) {
    sockaddr_in s{};
    s.sin_family = AF_INET;
    s.sin_addr.s_addr = htonl(a.ip);
    s.sin_port = htons(a.port);
    return s;
}

inline Addr addr_of(const sockaddr_in &s) {
    return {ntohl(s.sin_addr.s_addr), ntohs(s.sin_port)};
}

inline std::string str(Addr a) {
    return format_ipv4(a.ip) + ":" + std::to_string(a.port);
}

inline void set_opt(int fd, int level, int name, int val, const char *what) {
    if (setsockopt(fd, level, name, &val, sizeof(val)) != 0)
        throw UserError(std::string("cannot set ") + what + " (" + errno_text(errno) + ")");
}

} // namespace sipalg::slow
