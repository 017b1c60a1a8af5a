// flood_sender: a bounded flood from the Internet side, for the end-to-end flood test.
//
// Sprays, interleaved (each kind an equal share, its targets in turn), as fast as the sandbox
// takes them (or at --pps):
//   --junk IP:PORT      UDP that is neither SIP nor RTP (RTP's version bits are never 2)
//   --invite IP:PORT    a SIPVicious-style INVITE with SDP (User-Agent: friendly-scanner,
//                       random Call-ID, branch and tags)
//   --register IP:PORT  a friendly-scanner REGISTER (random extension and Call-ID)
//   --syn IP:PORT       TCP SYNs
// from random addresses of --src CIDR and random source ports, through one raw socket and
// sendmmsg (spoofing needs the raw socket; the addresses should be local to the sender's
// namespace so answers to them die there). Beside it, one thread makes real TCP connection
// attempts (--connect IP:PORT, from the addresses of --src) with a bounded number in flight
// and reports what became of them: refused, accepted then reset or closed, left open, or
// unanswered.
//
//   flood_sender --src 198.51.100.128/26 --duration-ms 20000 --junk 203.0.113.1:5060
//                --invite 203.0.113.1:5060 --syn 203.0.113.1:5060 --out flood.json
//
// Writes one JSON line (per kind: packets sent, pps; errors; the connect outcomes) to --out
// or stdout. Runs at most --duration-ms (at most 120 s) plus a second to close connections.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "signals.hpp"

namespace {

using Clock = std::chrono::steady_clock;

std::atomic<bool> g_stop{false};

void on_signal(int) {
    g_stop = true;
}

[[noreturn]] void die(const std::string &msg) {
    std::fprintf(stderr, "flood_sender: %s\n", msg.c_str());
    std::exit(2);
}

enum Kind { kJunk, kInvite, kRegister, kSyn, kKinds };
constexpr std::array<const char *, kKinds> kKindName = {"junk", "invite", "register", "syn"};

struct Target {
    Kind kind;
    in_addr ip;
    uint16_t port; // host order
};

struct Options {
    uint32_t src_base = 0; // host order
    uint32_t src_count = 0;
    long duration_ms = 0;
    long pps = 0; // 0: as fast as the sandbox takes them
    int batch = 64;
    int connect_inflight = 32;
    std::vector<Target> targets;
    std::vector<Target> connects;
    std::string out;
};

Target parse_target(Kind kind, std::string_view s) {
    auto colon = s.rfind(':');
    if (colon == std::string_view::npos)
        die("bad target (want IP:PORT): " + std::string(s));
    Target t{kind, {}, 0};
    std::string host(s.substr(0, colon));
    if (inet_pton(AF_INET, host.c_str(), &t.ip) != 1)
        die("bad IPv4 address: " + host);
    long p = std::strtol(std::string(s.substr(colon + 1)).c_str(), nullptr, 10);
    if (p <= 0 || p > 65535)
        die("bad port in " + std::string(s));
    t.port = static_cast<uint16_t>(p);
    return t;
}

long parse_long(const char *name, const char *v, long lo, long hi) {
    char *end = nullptr;
    long x = std::strtol(v, &end, 10);
    if (*v == '\0' || *end != '\0' || x < lo || x > hi)
        die(std::string("bad value for ") + name + ": " + v);
    return x;
}

Options parse_args(int argc, char **argv) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        std::string_view a = argv[i];
        auto need = [&]() -> const char * {
            if (i + 1 >= argc)
                die("missing value for " + std::string(a));
            return argv[++i];
        };
        if (a == "--src") {
            std::string v = need();
            auto slash = v.find('/');
            in_addr base{};
            if (slash == std::string::npos ||
                inet_pton(AF_INET, v.substr(0, slash).c_str(), &base) != 1)
                die("bad --src (want A.B.C.D/N): " + v);
            long bits = parse_long("--src prefix", v.substr(slash + 1).c_str(), 16, 32);
            o.src_count = 1u << (32 - bits);
            o.src_base = ntohl(base.s_addr) & ~(o.src_count - 1);
        } else if (a == "--duration-ms") {
            o.duration_ms = parse_long("--duration-ms", need(), 1, 120000);
        } else if (a == "--pps") {
            o.pps = parse_long("--pps", need(), 0, 100000000);
        } else if (a == "--batch") {
            o.batch = static_cast<int>(parse_long("--batch", need(), 1, 1024));
        } else if (a == "--connect-inflight") {
            o.connect_inflight = static_cast<int>(parse_long("--connect-inflight", need(), 1, 256));
        } else if (a == "--junk") {
            o.targets.push_back(parse_target(kJunk, need()));
        } else if (a == "--invite") {
            o.targets.push_back(parse_target(kInvite, need()));
        } else if (a == "--register") {
            o.targets.push_back(parse_target(kRegister, need()));
        } else if (a == "--syn") {
            o.targets.push_back(parse_target(kSyn, need()));
        } else if (a == "--connect") {
            o.connects.push_back(parse_target(kSyn, need()));
        } else if (a == "--out") {
            o.out = need();
        } else {
            die("unknown option " + std::string(a) +
                "\nusage: flood_sender --src CIDR --duration-ms MS [--pps N] [--batch N]\n"
                "       [--junk|--invite|--register|--syn|--connect IP:PORT]... [--out FILE]");
        }
    }
    if (o.src_count == 0 || o.duration_ms == 0 || (o.targets.empty() && o.connects.empty()))
        die("need --src, --duration-ms and at least one target");
    return o;
}

// --- packets -------------------------------------------------------------------------

uint32_t sum16(const uint8_t *p, size_t n, uint32_t acc) {
    for (size_t i = 0; i + 1 < n; i += 2)
        acc += static_cast<uint32_t>(p[i] << 8 | p[i + 1]);
    if (n & 1)
        acc += static_cast<uint32_t>(p[n - 1] << 8);
    return acc;
}

uint16_t fold(uint32_t acc) {
    while (acc >> 16)
        acc = (acc & 0xffff) + (acc >> 16);
    return static_cast<uint16_t>(~acc & 0xffff);
}

void put16(uint8_t *p, uint16_t v) {
    p[0] = static_cast<uint8_t>(v >> 8);
    p[1] = static_cast<uint8_t>(v);
}

// L4 checksum over the IPv4 pseudo-header (the kernel fills in only the IP header's).
void l4_checksum(uint8_t *ip, size_t l4_len, uint8_t proto, size_t csum_off) {
    uint8_t *l4 = ip + 20;
    l4[csum_off] = l4[csum_off + 1] = 0;
    uint32_t acc = sum16(ip + 12, 8, 0);
    acc += proto;
    acc += static_cast<uint32_t>(l4_len);
    uint16_t c = fold(sum16(l4, l4_len, acc));
    if (proto == IPPROTO_UDP && c == 0)
        c = 0xffff;
    put16(l4 + csum_off, c);
}

void ip_header(uint8_t *ip, size_t total, uint8_t proto, uint32_t src, in_addr dst, uint16_t id) {
    std::memset(ip, 0, 20);
    ip[0] = 0x45;
    put16(ip + 2, static_cast<uint16_t>(total));
    put16(ip + 4, id);
    ip[8] = 64;
    ip[9] = proto;
    uint32_t s = htonl(src);
    std::memcpy(ip + 12, &s, 4);
    std::memcpy(ip + 16, &dst, 4);
}

std::string ip_str(uint32_t host_order) {
    in_addr a{htonl(host_order)};
    char b[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &a, b, sizeof b);
    return b;
}

std::string ip_str(in_addr a) {
    char b[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &a, b, sizeof b);
    return b;
}

struct Builder {
    std::mt19937_64 rng{0x5eed ^ static_cast<uint64_t>(getpid())};
    std::string text;

    uint64_t r() { return rng(); }

    std::string hex(int digits) {
        static const char *h = "0123456789abcdef";
        std::string s;
        uint64_t v = r();
        for (int i = 0; i < digits; ++i, v >>= 4) {
            if (i == 16)
                v = r();
            s += h[v & 15];
        }
        return s;
    }

    // A scanner's message, as SIPVicious svwar/svmap send them.
    const std::string &sip(Kind k, const std::string &src, uint16_t sport, const std::string &dst) {
        std::string ext = std::to_string(100 + r() % 900);
        std::string via = "SIP/2.0/UDP " + src + ":" + std::to_string(sport) + ";branch=z9hG4bK-" +
                          hex(12) + ";rport";
        if (k == kRegister) {
            text = "REGISTER sip:" + dst + " SIP/2.0\r\nVia: " + via +
                   "\r\nMax-Forwards: 70\r\nFrom: <sip:" + ext + "@" + dst + ">;tag=" + hex(8) +
                   "\r\nTo: <sip:" + ext + "@" + dst + ">\r\nCall-ID: " + hex(16) +
                   "\r\nCSeq: 1 REGISTER\r\nContact: <sip:" + ext + "@" + src + ":" +
                   std::to_string(sport) +
                   ">\r\nExpires: 3600\r\nUser-Agent: friendly-scanner\r\nContent-Length: "
                   "0\r\n\r\n";
            return text;
        }
        std::string body = "v=0\r\no=root 1 1 IN IP4 " + src + "\r\ns=-\r\nc=IN IP4 " + src +
                           "\r\nt=0 0\r\nm=audio " + std::to_string(10000 + r() % 50000) +
                           " RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n";
        text = "INVITE sip:" + ext + "@" + dst + " SIP/2.0\r\nVia: " + via +
               "\r\nMax-Forwards: 70\r\nFrom: \"sipvicious\"<sip:100@1.1.1.1>;tag=" + hex(8) +
               "\r\nTo: \"sipvicious\"<sip:" + ext + "@" + dst + ">\r\nCall-ID: " + hex(16) +
               "\r\nCSeq: 1 INVITE\r\nContact: <sip:100@" + src + ":" + std::to_string(sport) +
               ">\r\nUser-Agent: friendly-scanner\r\nContent-Type: application/sdp\r\n"
               "Content-Length: " +
               std::to_string(body.size()) + "\r\n\r\n" + body;
        return text;
    }

    // One packet for target t into buf; its length.
    size_t build(uint8_t *buf, size_t cap, const Target &t, const Options &o) {
        uint32_t src = o.src_base + static_cast<uint32_t>(r() % o.src_count);
        uint16_t sport = static_cast<uint16_t>(1024 + r() % 64500);
        uint16_t id = static_cast<uint16_t>(r());
        if (t.kind == kSyn) {
            size_t total = 20 + 20;
            ip_header(buf, total, IPPROTO_TCP, src, t.ip, id);
            uint8_t *tcp = buf + 20;
            std::memset(tcp, 0, 20);
            put16(tcp, sport);
            put16(tcp + 2, t.port);
            uint32_t seq = htonl(static_cast<uint32_t>(r()));
            std::memcpy(tcp + 4, &seq, 4);
            tcp[12] = 5 << 4;
            tcp[13] = 0x02; // SYN
            put16(tcp + 14, 64240);
            l4_checksum(buf, 20, IPPROTO_TCP, 16);
            return total;
        }
        uint8_t *payload = buf + 28;
        size_t plen;
        if (t.kind == kJunk) {
            plen = 20 + r() % 180;
            for (size_t i = 0; i < plen; i += 8) {
                uint64_t v = r();
                std::memcpy(payload + i, &v, std::min<size_t>(8, plen - i));
            }
            payload[0] &= 0x3f; // never RTP/RTCP version 2, never a SIP start line
        } else {
            const std::string &m = sip(t.kind, ip_str(src), sport, ip_str(t.ip));
            plen = std::min(m.size(), cap - 28);
            std::memcpy(payload, m.data(), plen);
        }
        size_t total = 28 + plen;
        ip_header(buf, total, IPPROTO_UDP, src, t.ip, id);
        uint8_t *udp = buf + 20;
        put16(udp, sport);
        put16(udp + 2, t.port);
        put16(udp + 4, static_cast<uint16_t>(8 + plen));
        l4_checksum(buf, 8 + plen, IPPROTO_UDP, 6);
        return total;
    }
};

// --- the raw spray -------------------------------------------------------------------

struct SprayResult {
    std::array<uint64_t, kKinds> sent{};
    uint64_t errors = 0;
    int last_errno = 0;
    double seconds = 0;
};

SprayResult spray(const Options &o) {
    SprayResult res;
    if (o.targets.empty())
        return res;
    int fd = socket(AF_INET, SOCK_RAW, IPPROTO_RAW); // IPPROTO_RAW implies IP_HDRINCL
    if (fd < 0)
        die(std::string("raw socket: ") + std::strerror(errno));
    int sndbuf = 4 << 20;
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);

    const size_t kCap = 1500;
    const int n = o.batch;
    std::vector<uint8_t> bufs(static_cast<size_t>(n) * kCap);
    std::vector<iovec> iov(static_cast<size_t>(n));
    std::vector<sockaddr_in> dst(static_cast<size_t>(n));
    std::vector<mmsghdr> msgs(static_cast<size_t>(n));
    std::vector<Kind> kinds(static_cast<size_t>(n));
    Builder b;
    // Each kind gets the same share of the flood however many targets it has: the kinds
    // take turns, and each kind's targets take turns within it.
    std::vector<std::vector<Target>> by_kind(kKinds);
    for (const auto &t : o.targets)
        by_kind[t.kind].push_back(t);
    std::erase_if(by_kind, [](const auto &v) { return v.empty(); });
    std::vector<size_t> next_of(by_kind.size(), 0);
    size_t next = 0;
    const auto t0 = Clock::now();
    const auto end = t0 + std::chrono::milliseconds(o.duration_ms);
    uint64_t total = 0;
    // Bounded by the deadline (checked every batch) and a hard cap on batches.
    for (long round = 0; round < 2000000000L && !g_stop; ++round) {
        auto now = Clock::now();
        if (now >= end)
            break;
        if (o.pps > 0) {
            // Paced: no further ahead of the schedule than one batch.
            double due = std::chrono::duration<double>(now - t0).count() * o.pps;
            if (static_cast<double>(total) > due) {
                auto wait = std::chrono::duration<double>((total - due) / o.pps);
                std::this_thread::sleep_for(std::min(
                        wait, std::chrono::duration<double>(std::chrono::milliseconds(5))));
                continue;
            }
        }
        for (int i = 0; i < n; ++i) {
            auto &group = by_kind[next];
            const Target &t = group[next_of[next]];
            next_of[next] = (next_of[next] + 1) % group.size();
            next = (next + 1) % by_kind.size();
            uint8_t *buf = &bufs[static_cast<size_t>(i) * kCap];
            size_t len = b.build(buf, kCap, t, o);
            iov[i] = {buf, len};
            dst[i] = {};
            dst[i].sin_family = AF_INET;
            dst[i].sin_addr = t.ip;
            msgs[i] = {};
            msgs[i].msg_hdr.msg_name = &dst[i];
            msgs[i].msg_hdr.msg_namelen = sizeof dst[i];
            msgs[i].msg_hdr.msg_iov = &iov[i];
            msgs[i].msg_hdr.msg_iovlen = 1;
            kinds[i] = t.kind;
        }
        int done = 0;
        while (done < n) {
            int r = sendmmsg(fd, msgs.data() + done, static_cast<unsigned>(n - done), 0);
            if (r <= 0) {
                // ENOBUFS and the like: that packet is lost, the flood goes on.
                ++res.errors;
                res.last_errno = errno;
                ++done;
                continue;
            }
            for (int i = done; i < done + r; ++i)
                ++res.sent[kinds[i]];
            done += r;
            total += static_cast<uint64_t>(r);
        }
    }
    res.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    close(fd);
    return res;
}

// --- real connection attempts ----------------------------------------------------------

struct ConnectResult {
    uint64_t attempts = 0, refused = 0, reset = 0, closed = 0, open = 0, data = 0, no_answer = 0,
             errors = 0;
    int last_errno = 0;
};

struct Pending {
    int fd = -1;
    bool connected = false;
    Clock::time_point since;
};

void hard_close(int fd) {
    // RST instead of FIN: no TIME_WAIT piling up over thousands of attempts.
    linger l{1, 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    close(fd);
}

void connect_loop(const Options &o, ConnectResult &res) {
    std::vector<Pending> slots(static_cast<size_t>(o.connect_inflight));
    const auto end = Clock::now() + std::chrono::milliseconds(o.duration_ms);
    std::mt19937 rng(0xc0ffee);
    size_t next = 0;
    const auto kConnectWait = std::chrono::milliseconds(1000);
    const auto kOpenWait = std::chrono::milliseconds(300);
    for (long iter = 0; iter < 100000000L && !g_stop; ++iter) {
        auto now = Clock::now();
        bool ending = now >= end;
        std::vector<pollfd> pfds;
        std::vector<size_t> which;
        for (size_t i = 0; i < slots.size(); ++i) {
            Pending &p = slots[i];
            if (p.fd < 0 && !ending) {
                const Target &t = o.connects[next];
                next = (next + 1) % o.connects.size();
                int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
                if (fd < 0) {
                    ++res.errors;
                    res.last_errno = errno;
                    continue;
                }
                sockaddr_in src{};
                src.sin_family = AF_INET;
                src.sin_addr.s_addr = htonl(o.src_base + rng() % o.src_count);
                sockaddr_in to{};
                to.sin_family = AF_INET;
                to.sin_addr = t.ip;
                to.sin_port = htons(t.port);
                ++res.attempts;
                if (bind(fd, reinterpret_cast<sockaddr *>(&src), sizeof src) != 0 ||
                    (connect(fd, reinterpret_cast<sockaddr *>(&to), sizeof to) != 0 &&
                     errno != EINPROGRESS)) {
                    if (errno == ECONNREFUSED)
                        ++res.refused;
                    else {
                        ++res.errors;
                        res.last_errno = errno;
                    }
                    close(fd);
                    continue;
                }
                p = {fd, false, now};
            }
            if (p.fd < 0)
                continue;
            auto limit = p.connected ? kOpenWait : kConnectWait;
            if (now - p.since >= limit) {
                ++(p.connected ? res.open : res.no_answer);
                hard_close(p.fd);
                p.fd = -1;
                continue;
            }
            pfds.push_back({p.fd, static_cast<short>(p.connected ? POLLIN : POLLOUT), 0});
            which.push_back(i);
        }
        if (pfds.empty()) {
            if (ending)
                break;
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
            continue;
        }
        if (poll(pfds.data(), pfds.size(), 10) <= 0)
            continue;
        for (size_t k = 0; k < pfds.size(); ++k) {
            if (!pfds[k].revents)
                continue;
            Pending &p = slots[which[k]];
            if (!p.connected) {
                int err = 0;
                socklen_t el = sizeof err;
                getsockopt(p.fd, SOL_SOCKET, SO_ERROR, &err, &el);
                if (err == 0) {
                    p.connected = true;
                    p.since = Clock::now();
                    continue;
                }
                // ECONNRESET here: the handshake completed and the far end reset it before we
                // looked, which is the daemon turning a stranger away.
                if (err == ECONNREFUSED)
                    ++res.refused;
                else if (err == ECONNRESET)
                    ++res.reset;
                else {
                    ++res.errors;
                    res.last_errno = err;
                }
            } else {
                char c;
                ssize_t r = recv(p.fd, &c, 1, 0);
                if (r > 0)
                    ++res.data;
                else if (r == 0)
                    ++res.closed;
                else if (errno == ECONNRESET)
                    ++res.reset;
                else if (errno == EAGAIN)
                    continue;
                else {
                    ++res.errors;
                    res.last_errno = errno;
                }
            }
            hard_close(p.fd);
            p.fd = -1;
        }
    }
    for (auto &p : slots)
        if (p.fd >= 0)
            hard_close(p.fd);
}

} // namespace

int main(int argc, char **argv) {
    Options o = parse_args(argc, argv);
    e2e_media::on_signals(on_signal, {SIGTERM, SIGINT});

    ConnectResult cr;
    std::thread connector;
    if (!o.connects.empty())
        connector = std::thread([&] { connect_loop(o, cr); });
    SprayResult sr = spray(o);
    if (connector.joinable())
        connector.join();

    std::string j = "{\"seconds\":" + std::to_string(sr.seconds) + ",\"sources\":\"" +
                    ip_str(o.src_base) + "+" + std::to_string(o.src_count) + "\",\"sent\":{";
    uint64_t total = 0;
    for (int k = 0; k < kKinds; ++k) {
        j += std::string(k ? "," : "") + "\"" + kKindName[k] + "\":" + std::to_string(sr.sent[k]);
        total += sr.sent[k];
    }
    j += "},\"pps\":{";
    for (int k = 0; k < kKinds; ++k) {
        double pps = sr.seconds > 0 ? static_cast<double>(sr.sent[k]) / sr.seconds : 0;
        j += std::string(k ? "," : "") + "\"" + kKindName[k] + "\":" + std::to_string(long(pps));
    }
    j += "},\"total\":" + std::to_string(total) +
         ",\"total_pps\":" + std::to_string(sr.seconds > 0 ? long(total / sr.seconds) : 0) +
         ",\"send_errors\":" + std::to_string(sr.errors) +
         ",\"send_errno\":" + std::to_string(sr.last_errno);
    j += ",\"connect\":{\"attempts\":" + std::to_string(cr.attempts) +
         ",\"refused\":" + std::to_string(cr.refused) + ",\"reset\":" + std::to_string(cr.reset) +
         ",\"closed\":" + std::to_string(cr.closed) + ",\"open\":" + std::to_string(cr.open) +
         ",\"data\":" + std::to_string(cr.data) + ",\"no_answer\":" + std::to_string(cr.no_answer) +
         ",\"errors\":" + std::to_string(cr.errors) +
         ",\"errno\":" + std::to_string(cr.last_errno) + "}";
    std::string targets;
    for (const auto &t : o.targets)
        targets += std::string(targets.empty() ? "" : ",") + "\"" + kKindName[t.kind] + " " +
                   ip_str(t.ip) + ":" + std::to_string(t.port) + "\"";
    for (const auto &t : o.connects)
        targets += std::string(targets.empty() ? "" : ",") + "\"connect " + ip_str(t.ip) + ":" +
                   std::to_string(t.port) + "\"";
    j += ",\"targets\":[" + targets + "]}\n";
    if (o.out.empty()) {
        std::fputs(j.c_str(), stdout);
    } else if (FILE *f = std::fopen(o.out.c_str(), "w")) {
        std::fputs(j.c_str(), f);
        std::fclose(f);
    } else {
        die("cannot write " + o.out);
    }
    return 0;
}
