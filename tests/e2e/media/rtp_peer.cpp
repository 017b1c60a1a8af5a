// rtp_peer: a small, bounded RTP endpoint for the end-to-end tests.
//
// Binds IP:PORT (IPv4 or IPv6), sends RTP (v2, PT 0, 160-byte payload) to a
// target at a fixed interval and counts the valid RTP packets that arrive from
// anyone, remembering the source addresses.  Optionally does the same for RTCP
// on port+1.  At exit (normal end, SIGTERM/SIGINT, or the hard runtime bound)
// it writes one line of JSON to --out (or stdout).  SIGUSR1 means "the call
// ended": stop sending, keep receiving for --linger-ms, then write and exit.
//
//   rtp_peer --bind 192.168.10.11:40000 --to 203.0.113.20:30000
//            --count 250 --interval-ms 20 --linger-ms 1000 --out res.json
//
// Addresses: "1.2.3.4:5" or "[2001:db8::1]:5".  Every loop is bounded: the
// process never runs longer than --max-runtime-ms (default: the planned
// schedule + 5 s, at most 10 min).

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "signals.hpp"

namespace {

using Clock = std::chrono::steady_clock;

volatile sig_atomic_t g_stop = 0;   // SIGTERM/SIGINT/SIGHUP: stop now
volatile sig_atomic_t g_finish = 0; // SIGUSR1: stop sending, linger, exit (call ended)

void on_signal(int) {
    g_stop = 1;
}
void on_finish(int) {
    g_finish = 1;
}

struct Addr {
    sockaddr_storage ss{};
    socklen_t len = 0;
};

std::string g_out; // result file, once known: errors are reported there too

std::string json_str(const std::string &s);

[[noreturn]] void die(const std::string &msg) {
    std::fprintf(stderr, "rtp_peer: %s\n", msg.c_str());
    if (!g_out.empty()) {
        if (FILE *f = std::fopen(g_out.c_str(), "w")) {
            std::fprintf(f, "{\"sent\":0,\"received\":0,\"sources\":[],\"error\":%s}\n",
                         json_str(msg).c_str());
            std::fclose(f);
        }
    }
    std::exit(2);
}

std::optional<Addr> parse_addr(std::string_view s) {
    std::string host;
    std::string port;
    if (!s.empty() && s.front() == '[') {
        auto close = s.find(']');
        if (close == std::string_view::npos || close + 1 >= s.size() || s[close + 1] != ':') {
            return std::nullopt;
        }
        host = std::string(s.substr(1, close - 1));
        port = std::string(s.substr(close + 2));
    } else {
        auto colon = s.rfind(':');
        if (colon == std::string_view::npos) {
            return std::nullopt;
        }
        host = std::string(s.substr(0, colon));
        port = std::string(s.substr(colon + 1));
        if (host.find(':') != std::string::npos) {
            return std::nullopt; // bare IPv6 needs brackets
        }
    }
    char *end = nullptr;
    long p = std::strtol(port.c_str(), &end, 10);
    if (port.empty() || *end != '\0' || p < 0 || p > 65535) {
        return std::nullopt;
    }
    Addr a;
    auto *v4 = reinterpret_cast<sockaddr_in *>(&a.ss);
    auto *v6 = reinterpret_cast<sockaddr_in6 *>(&a.ss);
    if (inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons(static_cast<uint16_t>(p));
        a.len = sizeof(sockaddr_in);
        return a;
    }
    if (inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(static_cast<uint16_t>(p));
        a.len = sizeof(sockaddr_in6);
        return a;
    }
    return std::nullopt;
}

uint16_t addr_port(const Addr &a) {
    if (a.ss.ss_family == AF_INET) {
        return ntohs(reinterpret_cast<const sockaddr_in *>(&a.ss)->sin_port);
    }
    return ntohs(reinterpret_cast<const sockaddr_in6 *>(&a.ss)->sin6_port);
}

void set_port(Addr &a, uint16_t port) {
    if (a.ss.ss_family == AF_INET) {
        reinterpret_cast<sockaddr_in *>(&a.ss)->sin_port = htons(port);
    } else {
        reinterpret_cast<sockaddr_in6 *>(&a.ss)->sin6_port = htons(port);
    }
}

std::string addr_str(const sockaddr_storage &ss) {
    char buf[INET6_ADDRSTRLEN] = {0};
    if (ss.ss_family == AF_INET) {
        const auto *v4 = reinterpret_cast<const sockaddr_in *>(&ss);
        inet_ntop(AF_INET, &v4->sin_addr, buf, sizeof buf);
        return std::string(buf) + ":" + std::to_string(ntohs(v4->sin_port));
    }
    if (ss.ss_family == AF_INET6) {
        const auto *v6 = reinterpret_cast<const sockaddr_in6 *>(&ss);
        inet_ntop(AF_INET6, &v6->sin6_addr, buf, sizeof buf);
        std::string out;
        out.reserve(64);
        out.append(1, '[').append(buf).append("]:").append(std::to_string(ntohs(v6->sin6_port)));
        return out;
    }
    return "?";
}

std::string json_str(const std::string &s) {
    std::string out = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (static_cast<unsigned char>(c) < 0x20) {
            char b[8];
            std::snprintf(b, sizeof b, "\\u%04x", c);
            out += b;
        } else {
            out += c;
        }
    }
    return out + "\"";
}

int open_socket(const Addr &bind_addr) {
    int fd = socket(bind_addr.ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        die(std::string("socket: ") + std::strerror(errno));
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind_addr.ss.ss_family == AF_INET6) {
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    }
    int rcvbuf = 1 << 20;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    if (bind(fd, reinterpret_cast<const sockaddr *>(&bind_addr.ss), bind_addr.len) != 0) {
        die("bind " + addr_str(bind_addr.ss) + ": " + std::strerror(errno));
    }
    return fd;
}

struct Counter {
    uint64_t packets = 0;
    uint64_t bytes = 0;
    std::map<std::string, uint64_t> by_source;
};

struct Options {
    std::optional<Addr> bind;
    std::optional<Addr> to;
    std::string out;
    std::string pidfile;
    std::string tag;
    long interval_ms = 20;
    long count = -1;       // packets to send; -1: derived from duration
    long duration_ms = -1; // sending time
    long start_delay_ms = 0;
    long linger_ms = 500;
    long max_runtime_ms = -1;
    long payload_size = 160;
    int payload_type = 0;
    uint32_t ssrc = 0;
    bool recv_only = false;
    bool rtcp = false;
    bool symmetric = false;
};

void usage() {
    std::fprintf(stderr,
                 "usage: rtp_peer --bind IP:PORT [--to IP:PORT] [--count N | --duration-ms MS]\n"
                 "       (or --bind-ip IP --bind-port P [--to-ip IP --to-port P]; IPv6 may be "
                 "bracketed)\n"
                 "                [--interval-ms MS] [--start-delay-ms MS] [--linger-ms MS]\n"
                 "                [--recv-only] [--rtcp] [--symmetric] [--payload-size N]\n"
                 "                [--payload-type PT] [--ssrc N] [--max-runtime-ms MS]\n"
                 "                [--out FILE] [--pidfile FILE] [--out-dir DIR [--prefix P]] "
                 "[--tag TEXT]\n"
                 "  --out-dir: write DIR/P<pid>.json and DIR/P<pid>.pid (unless --out/--pidfile "
                 "given)\n");
}

long parse_long(const char *name, const char *v, long lo, long hi) {
    // Integers; a trailing ".000" is tolerated (SIPp prints doubles that way).
    char *end = nullptr;
    errno = 0;
    double x = std::strtod(v, &end);
    if (errno != 0 || end == v || *end != '\0' || x != static_cast<double>(static_cast<long>(x)) ||
        x < static_cast<double>(lo) || x > static_cast<double>(hi)) {
        die(std::string("bad value for ") + name + ": '" + v + "' (want " + std::to_string(lo) +
            ".." + std::to_string(hi) + ")");
    }
    return static_cast<long>(x);
}

// "1.2.3.4", "2001:db8::1" or "[2001:db8::1]" plus a port -> "host:port" form.
std::string join_host_port(std::string host, const std::string &port) {
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
        host = host.substr(1, host.size() - 2);
    }
    if (host.find(':') != std::string::npos) {
        return "[" + host + "]:" + port;
    }
    return host + ":" + port;
}

Options parse_args(int argc, char **argv) {
    Options o;
    std::string bind_ip, bind_port, to_ip, to_port, out_dir, prefix;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        auto need = [&](const char *name) -> const char * {
            if (i + 1 >= argc) {
                die(std::string("missing value for ") + name);
            }
            return argv[++i];
        };
        if (a == "--bind") {
            const char *v = need("--bind");
            o.bind = parse_addr(v);
            if (!o.bind)
                die(std::string("bad --bind address: ") + v);
        } else if (a == "--to") {
            const char *v = need("--to");
            o.to = parse_addr(v);
            if (!o.to)
                die(std::string("bad --to address: ") + v);
        } else if (a == "--bind-ip") {
            bind_ip = need("--bind-ip");
        } else if (a == "--bind-port") {
            bind_port = need("--bind-port");
        } else if (a == "--to-ip") {
            to_ip = need("--to-ip");
        } else if (a == "--to-port") {
            to_port = need("--to-port");
        } else if (a == "--tag") {
            o.tag = need("--tag");
        } else if (a == "--out-dir") {
            out_dir = need("--out-dir");
        } else if (a == "--prefix") {
            prefix = need("--prefix");
        } else if (a == "--out") {
            o.out = need("--out");
        } else if (a == "--pidfile") {
            o.pidfile = need("--pidfile");
        } else if (a == "--interval-ms") {
            o.interval_ms = parse_long("--interval-ms", need("--interval-ms"), 1, 10000);
        } else if (a == "--count") {
            o.count = parse_long("--count", need("--count"), 0, 10000000);
        } else if (a == "--duration-ms") {
            o.duration_ms = parse_long("--duration-ms", need("--duration-ms"), 0, 3600000);
        } else if (a == "--start-delay-ms") {
            o.start_delay_ms = parse_long("--start-delay-ms", need("--start-delay-ms"), 0, 600000);
        } else if (a == "--linger-ms") {
            o.linger_ms = parse_long("--linger-ms", need("--linger-ms"), 0, 600000);
        } else if (a == "--max-runtime-ms") {
            o.max_runtime_ms = parse_long("--max-runtime-ms", need("--max-runtime-ms"), 1, 3600000);
        } else if (a == "--payload-size") {
            o.payload_size = parse_long("--payload-size", need("--payload-size"), 0, 1400);
        } else if (a == "--payload-type") {
            o.payload_type =
                    static_cast<int>(parse_long("--payload-type", need("--payload-type"), 0, 127));
        } else if (a == "--ssrc") {
            o.ssrc = static_cast<uint32_t>(parse_long("--ssrc", need("--ssrc"), 0, 0xffffffffL));
        } else if (a == "--recv-only") {
            o.recv_only = true;
        } else if (a == "--rtcp") {
            o.rtcp = true;
        } else if (a == "--symmetric") {
            o.symmetric = true;
        } else if (a == "-h" || a == "--help") {
            usage();
            std::exit(0);
        } else {
            usage();
            die("unknown argument: " + a);
        }
    }
    if (!out_dir.empty()) {
        // Unique names without help from the caller: DIR/PREFIX<pid>.json/.pid
        std::string base = out_dir + "/" + prefix + std::to_string(getpid());
        if (o.out.empty())
            o.out = base + ".json";
        if (o.pidfile.empty())
            o.pidfile = base + ".pid";
    }
    g_out = o.out;
    if (!bind_ip.empty() || !bind_port.empty()) {
        std::string hp = join_host_port(
                bind_ip, std::to_string(parse_long("--bind-port", bind_port.c_str(), 0, 65535)));
        o.bind = parse_addr(hp);
        if (!o.bind)
            die("bad --bind-ip/--bind-port: " + hp);
    }
    if (!to_ip.empty() || !to_port.empty()) {
        std::string hp = join_host_port(
                to_ip, std::to_string(parse_long("--to-port", to_port.c_str(), 0, 65535)));
        o.to = parse_addr(hp);
        if (!o.to)
            die("bad --to-ip/--to-port: " + hp);
    }
    if (!o.bind) {
        usage();
        die("--bind is required");
    }
    if (o.to && o.to->ss.ss_family != o.bind->ss.ss_family) {
        die("--bind and --to must be the same address family");
    }
    if (!o.to && !o.symmetric) {
        o.recv_only = true;
    }
    if (o.count < 0 && o.duration_ms < 0) {
        o.count = 250; // 5 s at 20 ms
    }
    if (o.count < 0) {
        o.count = o.duration_ms / o.interval_ms;
    }
    if (o.max_runtime_ms < 0) {
        long planned = o.start_delay_ms + o.count * o.interval_ms + o.linger_ms;
        o.max_runtime_ms = std::min<long>(planned + 5000, 600000);
    }
    if (o.ssrc == 0) {
        o.ssrc = static_cast<uint32_t>(getpid()) * 2654435761u ^ 0x5A5A1234u;
    }
    return o;
}

// RTP: version 2, not an RTCP packet type (RFC 5761: PT 64..95 with marker
// are RTCP when muxed; SR=200..RR=201 appear as PT 72/73 + M).
bool is_rtp(const uint8_t *p, ssize_t n) {
    if (n < 12 || (p[0] >> 6) != 2)
        return false;
    uint8_t pt = p[1] & 0x7f;
    return !(pt >= 64 && pt <= 95);
}

bool is_rtcp(const uint8_t *p, ssize_t n) {
    if (n < 8 || (p[0] >> 6) != 2)
        return false;
    return p[1] >= 192 && p[1] <= 223;
}

void put32(uint8_t *p, uint32_t v) {
    v = htonl(v);
    std::memcpy(p, &v, 4);
}

void put16(uint8_t *p, uint16_t v) {
    v = htons(v);
    std::memcpy(p, &v, 2);
}

std::string sources_json(const Counter &c) {
    std::string s = "[";
    bool first = true;
    for (const auto &[k, v] : c.by_source) {
        (void)v;
        if (!first)
            s += ",";
        first = false;
        s += json_str(k);
    }
    return s + "]";
}

std::string by_source_json(const Counter &c) {
    std::string s = "{";
    bool first = true;
    for (const auto &[k, v] : c.by_source) {
        if (!first)
            s += ",";
        first = false;
        s += json_str(k) + ":" + std::to_string(v);
    }
    return s + "}";
}

} // namespace

int main(int argc, char **argv) {
    Options o = parse_args(argc, argv);

    e2e_media::on_signals(on_signal, {SIGTERM, SIGINT, SIGHUP});
    e2e_media::on_signals(on_finish, {SIGUSR1});
    signal(SIGPIPE, SIG_IGN);

    if (!o.pidfile.empty()) {
        if (FILE *f = std::fopen(o.pidfile.c_str(), "w")) {
            std::fprintf(f, "%d\n", static_cast<int>(getpid()));
            std::fclose(f);
        }
    }

    const auto t0 = Clock::now();
    auto ms_since = [&](Clock::time_point t) {
        return std::chrono::duration_cast<std::chrono::milliseconds>(t - t0).count();
    };

    int rtp_fd = open_socket(*o.bind);
    int rtcp_fd = -1;
    Addr rtcp_to{};
    if (o.rtcp) {
        Addr rb = *o.bind;
        set_port(rb, static_cast<uint16_t>(addr_port(rb) + 1));
        rtcp_fd = open_socket(rb);
        if (o.to) {
            rtcp_to = *o.to;
            set_port(rtcp_to, static_cast<uint16_t>(addr_port(rtcp_to) + 1));
        }
    }

    std::optional<Addr> dest = o.to;
    Counter rx;
    Counter rtcp_rx;
    uint64_t sent = 0;
    uint64_t send_errors = 0;
    uint64_t rtcp_sent = 0;
    uint64_t junk = 0;
    long first_rx_ms = -1;
    long last_rx_ms = -1;
    long max_gap_ms = 0; // longest silence between two received RTP packets
    std::string learned;

    const auto deadline = t0 + std::chrono::milliseconds(o.max_runtime_ms);
    const auto send_start = t0 + std::chrono::milliseconds(o.start_delay_ms);
    const auto interval = std::chrono::milliseconds(o.interval_ms);
    auto next_send = send_start;
    long to_send = o.recv_only ? 0 : o.count;
    bool finishing = false;
    // End of the schedule: sending done (or would be) plus linger.
    auto sched_end = send_start + interval * (o.recv_only ? o.count : to_send) +
                     std::chrono::milliseconds(o.linger_ms);

    std::vector<uint8_t> pkt(12 + static_cast<size_t>(o.payload_size), 0);
    uint16_t seq = static_cast<uint16_t>(o.ssrc & 0xffff);
    uint32_t ts = o.ssrc ^ 0xdeadbeefu;
    for (size_t i = 12; i < pkt.size(); ++i)
        pkt[i] = 0xd5; // PCMU-ish silence

    uint8_t buf[2048];
    // Bounded: every iteration either sends, receives, or sleeps until the
    // next event; the whole loop ends at sched_end or the hard deadline.
    for (long iter = 0; iter < 100000000L && !g_stop; ++iter) {
        auto now = Clock::now();
        if (g_finish && !finishing) {
            finishing = true;
            to_send = static_cast<long>(sent + send_errors);
            auto e = now + std::chrono::milliseconds(o.linger_ms);
            if (e < sched_end)
                sched_end = e;
        }
        if (now >= deadline || now >= sched_end)
            break;

        if (static_cast<long>(sent + send_errors) < to_send && now >= next_send && dest) {
            pkt[0] = 0x80;
            pkt[1] = static_cast<uint8_t>(o.payload_type & 0x7f);
            if (sent + send_errors == 0)
                pkt[1] |= 0x80; // marker on first packet
            put16(&pkt[2], seq++);
            put32(&pkt[4], ts);
            ts += 160;
            put32(&pkt[8], o.ssrc);
            ssize_t w = sendto(rtp_fd, pkt.data(), pkt.size(), 0,
                               reinterpret_cast<const sockaddr *>(&dest->ss), dest->len);
            if (w == static_cast<ssize_t>(pkt.size())) {
                ++sent;
            } else {
                ++send_errors;
            }
            // A few RTCP RRs: the first packet, then every 50th.
            if (rtcp_fd >= 0 && o.to && ((sent + send_errors) % 50 == 1)) {
                uint8_t rr[8];
                rr[0] = 0x80; // v2, RC 0
                rr[1] = 201;  // RR
                put16(&rr[2], 1);
                put32(&rr[4], o.ssrc);
                if (sendto(rtcp_fd, rr, sizeof rr, 0,
                           reinterpret_cast<const sockaddr *>(&rtcp_to.ss),
                           rtcp_to.len) == static_cast<ssize_t>(sizeof rr)) {
                    ++rtcp_sent;
                }
            }
            next_send += interval;
            // Don't burst to catch up after a long stall: skip missed slots.
            if (Clock::now() - next_send > interval * 5)
                next_send = Clock::now() + interval;
            continue;
        }

        auto wake = sched_end;
        if (static_cast<long>(sent + send_errors) < to_send && dest && next_send < wake)
            wake = next_send;
        if (deadline < wake)
            wake = deadline;
        long wait_ms = std::chrono::duration_cast<std::chrono::milliseconds>(wake - now).count();
        if (wait_ms < 0)
            wait_ms = 0;
        if (wait_ms > 200)
            wait_ms = 200;

        pollfd pfd[2] = {{rtp_fd, POLLIN, 0}, {rtcp_fd, POLLIN, 0}};
        int pr = poll(pfd, rtcp_fd >= 0 ? 2 : 1, static_cast<int>(wait_ms));
        if (pr <= 0)
            continue;
        for (int k = 0; k < 2; ++k) {
            int fd = k == 0 ? rtp_fd : rtcp_fd;
            if (fd < 0 || !(pfd[k].revents & POLLIN))
                continue;
            for (int j = 0; j < 256; ++j) { // drain, bounded
                sockaddr_storage from{};
                socklen_t fl = sizeof from;
                ssize_t n =
                        recvfrom(fd, buf, sizeof buf, 0, reinterpret_cast<sockaddr *>(&from), &fl);
                if (n < 0)
                    break;
                std::string src = addr_str(from);
                if (k == 0 && is_rtp(buf, n)) {
                    ++rx.packets;
                    rx.bytes += static_cast<uint64_t>(n);
                    ++rx.by_source[src];
                    long t = ms_since(Clock::now());
                    if (last_rx_ms >= 0 && t - last_rx_ms > max_gap_ms)
                        max_gap_ms = t - last_rx_ms;
                    last_rx_ms = t;
                    if (first_rx_ms < 0)
                        first_rx_ms = last_rx_ms;
                    if (o.symmetric && learned.empty()) {
                        Addr a;
                        std::memcpy(&a.ss, &from, sizeof from);
                        a.len = fl;
                        dest = a;
                        learned = src;
                    }
                } else if (is_rtcp(buf, n)) {
                    ++rtcp_rx.packets;
                    rtcp_rx.bytes += static_cast<uint64_t>(n);
                    ++rtcp_rx.by_source[src];
                } else {
                    ++junk;
                }
            }
        }
    }

    std::string res = "{";
    res += "\"sent\":" + std::to_string(sent);
    res += ",\"received\":" + std::to_string(rx.packets);
    res += ",\"sources\":" + sources_json(rx);
    res += ",\"by_source\":" + by_source_json(rx);
    res += ",\"bind\":" + json_str(addr_str(o.bind->ss));
    res += ",\"to\":" + (o.to ? json_str(addr_str(o.to->ss)) : std::string("null"));
    res += ",\"learned\":" + (learned.empty() ? std::string("null") : json_str(learned));
    res += ",\"planned\":" + std::to_string(o.recv_only ? 0 : o.count);
    res += ",\"send_errors\":" + std::to_string(send_errors);
    res += ",\"bytes_received\":" + std::to_string(rx.bytes);
    res += ",\"rtcp_sent\":" + std::to_string(rtcp_sent);
    res += ",\"rtcp_received\":" + std::to_string(rtcp_rx.packets);
    res += ",\"rtcp_sources\":" + sources_json(rtcp_rx);
    res += ",\"junk\":" + std::to_string(junk);
    res += ",\"first_rx_ms\":" + std::to_string(first_rx_ms);
    res += ",\"last_rx_ms\":" + std::to_string(last_rx_ms);
    res += ",\"max_gap_ms\":" + std::to_string(max_gap_ms);
    res += ",\"elapsed_ms\":" + std::to_string(ms_since(Clock::now()));
    res += ",\"tag\":" + json_str(o.tag);
    res += ",\"interrupted\":" + std::string(g_stop ? "true" : "false");
    res += ",\"finished_early\":" + std::string(finishing ? "true" : "false");
    res += "}\n";

    if (o.out.empty()) {
        std::fputs(res.c_str(), stdout);
    } else {
        // Write atomically so a reader never sees half a line.
        std::string tmp = o.out + ".tmp." + std::to_string(getpid());
        FILE *f = std::fopen(tmp.c_str(), "w");
        if (!f)
            die("cannot write " + tmp + ": " + std::strerror(errno));
        std::fputs(res.c_str(), f);
        std::fclose(f);
        if (std::rename(tmp.c_str(), o.out.c_str()) != 0)
            die("cannot rename to " + o.out);
    }
    if (!o.pidfile.empty())
        unlink(o.pidfile.c_str());
    close(rtp_fd);
    if (rtcp_fd >= 0)
        close(rtcp_fd);
    return 0;
}
