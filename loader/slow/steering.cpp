#include "slow/steering.hpp"

#include "attach/run_cmd.hpp"
#include "cli/error.hpp"
#include "instance/discover.hpp"

#include <cctype>
#include <cstdio>
#include <sstream>
#include <vector>

namespace sipalg::slow {

namespace {

// The tools (ip, nft) without a shell, stdout discarded.
int run(const std::vector<std::string> &argv, const std::string &input = "") {
    return run_cmd(argv, nullptr, input);
}

std::string hex(std::uint32_t v) {
    std::ostringstream s;
    s << "0x" << std::hex << v;
    return s.str();
}

} // namespace

Steering::Steering(std::string wan, std::uint32_t mark, std::uint32_t table, std::uint16_t port)
    : wan_(std::move(wan)), mark_(mark), table_(table), port_(port) {}

Steering::~Steering() {
    if (installed_)
        remove();
}

std::string Steering::nft_table() const {
    std::string t = "sipalg_slow_" + wan_;
    for (char &c : t)
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_')
            c = '_';
    return t;
}

void Steering::install(std::uint32_t public_ip) {
    remove(); // a killed daemon's leftovers
    const std::string m = hex(mark_), tbl = std::to_string(table_);
    // Marked packets are routed to the host itself...
    if (run({"ip", "-4", "rule", "add", "fwmark", m, "lookup", tbl, "priority", "50"}) != 0 ||
        run({"ip", "-4", "route", "replace", "local", "0.0.0.0/0", "dev", "lo", "table", tbl}) !=
                0) {
        remove(); // the rule may be in, and the destructor only cleans up after an install
        throw UserError("cannot install the policy route for mark " + m +
                        " (ip rule/route failed; is iproute2 installed?)");
    }
    // ...and there to the daemon's sockets. Priority mangle: after conntrack's defragmentation
    // (-400), so the reassembled datagram is what is steered. TCP: a phone's new connection
    // (a marked SYN) goes to the proxy's listener; packets of connections the proxy holds go to
    // their socket whether marked or not (the proxy resets them itself on `disable`, so the
    // phone never sends on one nobody holds); any other marked TCP packet belongs to a
    // connection that began before the daemon did: it loses the mark and goes on as plain NAT.
    //
    // A server's new connection to a binding registered over TCP (a SYN to the public address,
    // to a port in the set tcp_bindings, which the daemon fills as REGISTERs succeed) goes to
    // the same listener. Why a set and not a listener per binding bound to public_ip:port: a
    // listening socket takes its port from the proxy's own connections, since Linux refuses to
    // bind another socket to an address and port that has a listener, SO_REUSEADDR or not, so
    // the phone's next outbound connection could not leave from its binding. With the set the
    // kernel diverts only SYNs to ports the daemon confirmed, one listener serves every binding,
    // a port leaves the set the moment its binding goes, and the set goes with the table when
    // the daemon stops: nothing is left listening on the public address.
    const std::string to = " tproxy to 127.0.0.1:" + std::to_string(port_);
    const std::string rules =
            "table ip " + nft_table() + " {\n  set tcp_bindings { type inet_service; }\n" +
            "  chain prerouting {\n" +
            "    type filter hook prerouting priority mangle; policy accept;\n" + "    meta mark " +
            m + " meta l4proto udp" + to + "\n" +
            "    meta l4proto tcp socket transparent 1 meta mark set " + m + " accept\n" +
            "    meta mark " + m + " tcp flags & (fin|syn|rst|ack) == syn" + to + " accept\n" +
            "    ip daddr " + format_ipv4(public_ip) +
            " tcp dport @tcp_bindings tcp flags & (fin|syn|rst|ack) == syn" + to + " accept\n" +
            "    meta mark " + m + " meta l4proto tcp meta mark set 0\n" + "  }\n}\n";
    if (run({"nft", "-f", "-"}, rules) != 0) {
        remove();
        throw UserError("cannot install the nftables tproxy rule (nft -f failed; needs nftables "
                        "and the kernel's nft_tproxy)");
    }
    installed_ = true;
}

bool Steering::tcp_binding(std::uint16_t public_port, bool on) noexcept {
    if (!installed_)
        return false;
    return run({"nft", on ? "add" : "delete", "element", "ip", nft_table(), "tcp_bindings",
                "{ " + std::to_string(public_port) + " }"}) == 0;
}

void Steering::remove() noexcept {
    const std::string m = hex(mark_), tbl = std::to_string(table_);
    run({"nft", "delete", "table", "ip", nft_table()});
    // Remove every copy of the rule (bounded: a rule is added once per install).
    for (int i = 0; i < 8 && run({"ip", "-4", "rule", "del", "fwmark", m, "lookup", tbl}) == 0;
         i++) {
    }
    run({"ip", "-4", "route", "flush", "table", tbl});
    installed_ = false;
}

} // namespace sipalg::slow
