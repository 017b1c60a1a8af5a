// One-way latency and throughput of SIP messages through the sandbox router, from a socket in
// one network namespace to a socket in another (CLOCK_MONOTONIC is the same clock in both), so
// the fast path (kernel) and the slow path (kernel reassembly + tproxy + daemon) are timed the
// same way. Run by bench/slow_path/slow_path.py, which builds the router; prints one JSON object.
//
// slow_path_probe ping  FROM_NS SRC_IP TO_NS DST_IP SIZE COUNT
// slow_path_probe burst FROM_NS SRC_IP TO_NS DST_IP SIZE COUNT RATE
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

constexpr std::uint16_t kSip = 5060;

std::uint64_t now_ns() {
    timespec t{};
    clock_gettime(CLOCK_MONOTONIC, &t);
    return static_cast<std::uint64_t>(t.tv_sec) * 1000000000ull +
           static_cast<std::uint64_t>(t.tv_nsec);
}

// A UDP socket bound to ip:5060 inside network namespace `ns`.
int socket_in(const std::string &ns, const std::string &ip) {
    const int self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
    const int target = open(("/run/netns/" + ns).c_str(), O_RDONLY | O_CLOEXEC);
    if (self < 0 || target < 0 || setns(target, CLONE_NEWNET) != 0)
        throw std::runtime_error("cannot enter netns " + ns);
    const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(kSip);
    inet_pton(AF_INET, ip.c_str(), &a.sin_addr);
    const int big = 4 << 20;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big));
    if (fd < 0 || bind(fd, reinterpret_cast<sockaddr *>(&a), sizeof(a)) != 0)
        throw std::runtime_error("cannot bind " + ip + ":5060 in " + ns);
    setns(self, CLONE_NEWNET);
    close(self);
    close(target);
    return fd;
}

// A REGISTER from src, padded to `size` bytes; the Call-ID carries the sequence number.
std::string message(const std::string &src, const std::string &dst, std::size_t size,
                    std::uint32_t seq) {
    const std::string head = "REGISTER sip:" + dst + " SIP/2.0\r\nVia: SIP/2.0/UDP " + src +
                             ":5060;branch=z9hG4bK-" + std::to_string(seq) +
                             ";rport\r\nFrom: <sip:1001@" + dst + ">;tag=p\r\nTo: <sip:1001@" +
                             dst + ">\r\nCall-ID: probe-" + std::to_string(seq) +
                             "\r\nCSeq: 1 REGISTER\r\nContact: <sip:1001@" + src +
                             ":5060>\r\nExpires: 3600\r\nContent-Length: 0\r\n";
    std::string pad;
    const std::size_t fixed = head.size() + std::string("X-Pad: \r\n\r\n").size();
    if (size > fixed)
        pad = "X-Pad: " + std::string(size - fixed, 'p') + "\r\n";
    return head + pad + "\r\n";
}

long seq_of(const char *buf, std::size_t len) {
    const std::string s(buf, len);
    const auto at = s.find("Call-ID: probe-");
    return at == std::string::npos ? -1 : std::atol(s.c_str() + at + 15);
}

double pct(std::vector<double> v, double p) {
    if (v.empty())
        return 0;
    std::sort(v.begin(), v.end());
    return v[std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size())))];
}

void send_to(int fd, const std::string &dst, const std::string &m) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(kSip);
    inet_pton(AF_INET, dst.c_str(), &a.sin_addr);
    sendto(fd, m.data(), m.size(), 0, reinterpret_cast<sockaddr *>(&a), sizeof(a));
}

} // namespace

int main(int argc, char **argv) {
    if (argc < 8) {
        std::fprintf(stderr,
                     "usage: %s ping|burst FROM_NS SRC_IP TO_NS DST_IP SIZE COUNT "
                     "[RATE]\n",
                     argv[0]);
        return 2;
    }
    const std::string mode = argv[1], from_ns = argv[2], src = argv[3], to_ns = argv[4],
                      dst = argv[5];
    const auto size = static_cast<std::size_t>(std::atol(argv[6]));
    const int count = std::max(1, std::min(1000000, std::atoi(argv[7])));
    try {
        const int tx = socket_in(from_ns, src), rx = socket_in(to_ns, dst);
        char buf[65536];
        if (mode == "ping") {
            std::vector<double> lat;
            int lost = 0;
            for (int i = 0; i < count; i++) {
                const std::string m = message(src, dst, size, static_cast<std::uint32_t>(i));
                const std::uint64_t t0 = now_ns();
                send_to(tx, dst, m);
                bool got = false;
                // Bounded wait: 1 s per message, then it counts as lost.
                while (!got && now_ns() - t0 < 1000000000ull) {
                    pollfd p{rx, POLLIN, 0};
                    if (poll(&p, 1, 100) <= 0)
                        continue;
                    const ssize_t n = recv(rx, buf, sizeof(buf), 0);
                    if (n > 0 && seq_of(buf, static_cast<std::size_t>(n)) == i) {
                        lat.push_back(static_cast<double>(now_ns() - t0) / 1000.0);
                        got = true;
                    }
                }
                lost += got ? 0 : 1;
            }
            std::printf("{\"mode\":\"ping\",\"size\":%zu,\"sent\":%d,\"lost\":%d,"
                        "\"median_us\":%.1f,\"p90_us\":%.1f}\n",
                        size, count, lost, pct(lat, 0.5), pct(lat, 0.9));
            return 0;
        }
        const double rate = argc > 8 ? std::atof(argv[8]) : 1000.0;
        std::atomic<int> got{0};
        std::atomic<std::uint64_t> last_rx{0};
        std::atomic<bool> done{false};
        std::thread reader([&] {
            char b[65536];
            while (!done.load()) {
                pollfd p{rx, POLLIN, 0};
                if (poll(&p, 1, 50) <= 0)
                    continue;
                while (recv(rx, b, sizeof(b), MSG_DONTWAIT) > 0) {
                    got++;
                    last_rx = now_ns();
                }
            }
        });
        const std::uint64_t start = now_ns();
        const double gap_ns = 1e9 / rate;
        for (int i = 0; i < count; i++) {
            const auto due = start + static_cast<std::uint64_t>(gap_ns * i);
            while (now_ns() < due) {
            }
            send_to(tx, dst, message(src, dst, size, static_cast<std::uint32_t>(i)));
        }
        const std::uint64_t sent_end = now_ns();
        // Drain: stop once nothing arrived for 300 ms (bounded: at most 5 s).
        while (now_ns() - sent_end < 5000000000ull) {
            const std::uint64_t l = last_rx.load();
            if (now_ns() - std::max(l, sent_end) > 300000000ull)
                break;
            usleep(20000);
        }
        done = true;
        reader.join();
        const double secs = static_cast<double>(std::max(last_rx.load(), sent_end) - start) / 1e9;
        std::printf("{\"mode\":\"burst\",\"size\":%zu,\"sent\":%d,\"received\":%d,"
                    "\"offered_per_s\":%.0f,\"delivered_per_s\":%.0f}\n",
                    size, count, got.load(),
                    static_cast<double>(count) / (static_cast<double>(sent_end - start) / 1e9),
                    got.load() / secs);
    } catch (const std::exception &e) {
        std::fprintf(stderr, "slow_path_probe: %s\n", e.what());
        return 1;
    }
    return 0;
}
