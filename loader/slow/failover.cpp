#include "slow/failover.hpp"

#include "attach/run_cmd.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cstring>

namespace sipalg::slow {

namespace {

std::string set_of(const std::vector<std::string> &items) {
    std::string s = "{ ";
    for (std::size_t i = 0; i < items.size(); i++)
        s += (i ? ", " : "") + items[i];
    return s + " }";
}

std::string hostport(std::uint32_t ip, std::uint16_t port) {
    return format_ipv4(ip) + ":" + std::to_string(port);
}

} // namespace

std::string failover_table(const std::string &wan) {
    std::string t = "sipalg_failover_" + wan;
    for (char &c : t)
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_')
            c = '_';
    return t;
}

std::string failover_ruleset(const std::string &table, const RedirectPlan &p) {
    std::vector<std::string> lan, ports;
    for (const Prefix &x : p.lan)
        lan.push_back(format_prefix(x));
    for (const std::uint16_t port : p.sip_ports)
        ports.push_back(std::to_string(port));
    const std::string server = format_ipv4(p.server_ip), sport = std::to_string(p.server_port);
    // The server's own requests to the outside are not turned back to it; nor is SIP to the
    // router's own addresses.
    return "table ip " + table + " {\n" + "  counter redirected { }\n" + "  chain prerouting {\n" +
           "    type nat hook prerouting priority dstnat; policy accept;\n" + "    ip saddr " +
           set_of(lan) + " ip saddr != " + server + " ip daddr != " + set_of(lan) +
           " fib daddr type != local udp dport " + set_of(ports) + " dnat to " +
           hostport(p.server_ip, p.server_port) + "\n" + "  }\n" +
           // After dstnat: every packet the redirect takes, not only each flow's first.
           "  chain count {\n" +
           "    type filter hook prerouting priority filter; policy accept;\n" +
           "    ct status dnat ct direction original ip daddr " + server + " udp dport " + sport +
           " counter name \"redirected\"\n" + "  }\n" + "  chain postrouting {\n" +
           "    type nat hook postrouting priority srcnat; policy accept;\n" +
           "    ct status dnat ip daddr " + server + " udp dport " + sport + " masquerade\n" +
           "  }\n}\n";
}

std::optional<std::uint64_t> parse_nft_packets(const std::string &listing) {
    const std::size_t at = listing.find("packets ");
    if (at == std::string::npos)
        return std::nullopt;
    std::size_t i = at + 8;
    if (i >= listing.size() || !std::isdigit(static_cast<unsigned char>(listing[i])))
        return std::nullopt;
    std::uint64_t v = 0;
    for (; i < listing.size() && std::isdigit(static_cast<unsigned char>(listing[i])); i++)
        v = v * 10 + static_cast<std::uint64_t>(listing[i] - '0');
    return v;
}

bool FailoverRedirect::install(const RedirectPlan &p, std::string *why) {
    remove();
    run_cmd({"nft", "delete", "table", "ip", table_}); // a killed daemon's leftovers
    if (run_cmd({"nft", "-f", "-"}, nullptr, failover_ruleset(table_, p)) != 0) {
        run_cmd({"nft", "delete", "table", "ip", table_});
        *why = "nft -f failed (needs nftables with nat, fib and ct support)";
        return false;
    }
    plan_ = p;
    last_ = 0;
    // The phones' SIP flows masqueraded out of the WAN keep their NAT until they are gone.
    for (const std::uint16_t port : p.sip_ports)
        run_cmd({"conntrack", "-D", "-p", "udp", "--orig-port-dst", std::to_string(port),
                 "--src-nat"});
    return true;
}

void FailoverRedirect::remove() noexcept {
    if (!plan_)
        return;
    packets(); // the last count
    before_ += last_;
    last_ = 0;
    run_cmd({"nft", "delete", "table", "ip", table_});
    // The redirected flows: their next request goes out of the WAN again.
    run_cmd({"conntrack", "-D", "-p", "udp", "--reply-src", format_ipv4(plan_->server_ip),
             "--reply-port-src", std::to_string(plan_->server_port), "--dst-nat"});
    plan_.reset();
}

std::uint64_t FailoverRedirect::packets() {
    if (plan_) {
        std::string out;
        if (run_cmd({"nft", "list", "counter", "ip", table_, "redirected"}, &out) == 0)
            if (const auto n = parse_nft_packets(out))
                last_ = *n;
    }
    return before_ + last_;
}

std::string probe_request(std::uint32_t from, std::uint16_t from_port, std::uint32_t to,
                          std::uint16_t to_port, std::uint32_t seq) {
    const std::string f = format_ipv4(from), t = hostport(to, to_port), n = std::to_string(seq);
    return "OPTIONS sip:" + t + " SIP/2.0\r\n" + "Via: SIP/2.0/UDP " + hostport(from, from_port) +
           ";branch=z9hG4bK-sipalg-probe-" + n + ";rport\r\n" + "Max-Forwards: 70\r\n" +
           "From: <sip:sipalg-probe@" + f + ">;tag=p" + n + "\r\n" + "To: <sip:" + t + ">\r\n" +
           "Call-ID: sipalg-probe-" + n + "@" + f + "\r\n" + "CSeq: " + n + " OPTIONS\r\n" +
           "Content-Length: 0\r\n\r\n";
}

bool RegistrarProbe::send(std::uint32_t from, std::uint32_t ip, std::uint16_t port) {
    if (fd_ < 0) {
        fd_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        sockaddr_in sa{};
        sa.sin_family = AF_INET;
        sa.sin_addr.s_addr = htonl(from);
        if (fd_ < 0 || ::bind(fd_, reinterpret_cast<const sockaddr *>(&sa), sizeof(sa)) != 0) {
            close();
            return false;
        }
    }
    sockaddr_in me{};
    socklen_t len = sizeof(me);
    if (::getsockname(fd_, reinterpret_cast<sockaddr *>(&me), &len) != 0)
        return false;
    const std::string req = probe_request(from, ntohs(me.sin_port), ip, port, ++seq_);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_addr.s_addr = htonl(ip);
    to.sin_port = htons(port);
    return ::sendto(fd_, req.data(), req.size(), 0, reinterpret_cast<const sockaddr *>(&to),
                    sizeof(to)) >= 0;
}

bool RegistrarProbe::answered() {
    bool got = false;
    char buf[2048];
    for (int i = 0; fd_ >= 0 && i < 16; i++) {
        const ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
        if (n < 0)
            break;
        if (n >= 8 && std::memcmp(buf, "SIP/2.0 ", 8) == 0)
            got = true;
    }
    return got;
}

void RegistrarProbe::close() {
    if (fd_ >= 0)
        ::close(fd_);
    fd_ = -1;
}

} // namespace sipalg::slow
