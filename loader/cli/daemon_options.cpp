#include "cli/daemon_options.hpp"

#include "cli/error.hpp"

#include <chrono>

namespace sipalg {

void add_daemon_options(CLI::App &daemon, DaemonCliOptions &d) {
    daemon.add_option("--mark", d.daemon.mark,
                      "skb mark for packets handed to the daemon (default 0x51a1; must not "
                      "collide with other marks on this router)");
    daemon.add_option("--route-table", d.daemon.route_table,
                      "policy-routing table that delivers marked packets locally (default 1306)");
    daemon.add_option("--listen-port", d.daemon.listen_port,
                      "UDP port of the daemon's transparent socket on 127.0.0.1 (default 5097)");
    // SIP over TCP goes through the daemon's proxy: what one peer may hold of it.
    slow::TcpLimits &tl = d.daemon.tcp;
    d.tcp_idle_s = static_cast<std::uint32_t>(tl.idle.count());
    d.tcp_handshake_s = static_cast<std::uint32_t>(tl.handshake.count());
    daemon.add_option("--tcp-max-conns", tl.max_conns,
                      "proxied SIP-over-TCP connections in total; more are reset and counted "
                      "(tcp_limit_total)")
            ->capture_default_str();
    daemon.add_option("--tcp-max-conns-per-source", tl.max_conns_per_source,
                      "proxied connections one source address (a phone, or a registrar "
                      "connecting to a phone) may hold; more are reset (tcp_limit_source)")
            ->capture_default_str();
    daemon.add_option("--tcp-idle", d.tcp_idle_s,
                      "seconds without a whole message or keepalive either way after which a "
                      "proxied connection is closed (tcp_timeout_idle); RFC 5382 asks for at "
                      "least 7440")
            ->capture_default_str();
    daemon.add_option("--tcp-handshake-timeout", d.tcp_handshake_s,
                      "seconds the far side may take to connect (tcp_timeout_connect), and a "
                      "connection to send its first message or finish any message it began "
                      "(tcp_timeout_msg: a peer trickling bytes, slowloris)")
            ->capture_default_str();
    daemon.add_option("--tcp-buffer", tl.buffer,
                      "bytes held per direction of a proxied connection (an incomplete message "
                      "plus what waits for a peer that does not read); over it the connection "
                      "is closed (tcp_overflow). At least 4096; messages larger than it "
                      "cannot pass")
            ->capture_default_str();
}

void finish_daemon_options(DaemonCliOptions &d) {
    slow::TcpLimits &tl = d.daemon.tcp;
    if (!d.daemon.mark)
        throw UserError("--mark must not be 0");
    if (!tl.max_conns || !tl.max_conns_per_source)
        throw UserError("--tcp-max-conns and --tcp-max-conns-per-source must be at least 1");
    if (tl.max_conns > 65536)
        throw UserError("--tcp-max-conns is at most 65536 (two descriptors each)");
    if (!d.tcp_idle_s || !d.tcp_handshake_s || d.tcp_handshake_s > 3600)
        throw UserError("--tcp-idle must be at least 1 and --tcp-handshake-timeout 1-3600");
    if (tl.buffer < 4096 || tl.buffer > (16u << 20))
        throw UserError("--tcp-buffer must be 4096-16777216");
    tl.idle = std::chrono::seconds(d.tcp_idle_s);
    tl.handshake = std::chrono::seconds(d.tcp_handshake_s);
}

} // namespace sipalg
