// bench/media_fwd: traffic generator and XDP helper of the media forwarding benchmark
// (media_fwd.py drives it; it runs it inside the benchmark's network namespaces).
//
//   media_fwd_gen send --flows FILE [--rate PPS] [--duration S] [--payload BYTES]
//                      [--batch N] [--step-us US] [--start-at UNIX_NS] [--per-flow N]
//       One UDP socket per flow (a line "src_ip src_port dst_ip dst_port" of FILE), bound and
//       connected; sendmmsg() of --batch packets per socket, sockets in round robin. --rate:
//       packets/s paced in randomised steps of --step-us on average (default 1000) with
//       sleeps in between (the sender must not spin: the
//       benchmark charges the whole machine's CPU time to the packets); 0 = as fast as
//       possible. --start-at: sockets are set up first, sending starts at that CLOCK_REALTIME
//       instant (so setup stays out of the measured window). --per-flow N: send exactly N
//       packets per flow (priming) instead of --duration. Prints one JSON line.
//   media_fwd_gen attach-sink --dev IF --pin PATH [--lo PORT --hi PORT]
//       XDP (native) mf_sink on IF of the current network namespace; its counter map is pinned
//       at PATH (run through `nsenter --net=...` so that PATH is on the host's bpffs).
//   media_fwd_gen attach-redirect --dev IF --to IF --dmac MAC --pin PATH [--lo --hi]
//       XDP (native) mf_redirect on IF: media goes to --to with source MAC = --to's MAC and
//       destination MAC = --dmac.
//   media_fwd_gen detach --dev IF
//   media_fwd_gen count PATH...
//       Prints {"PATH": packets, ...} (the per-CPU counters summed).
#include "media_fwd_xdp.skel.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <cerrno>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <linux/if_link.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sstream>
#include <stdexcept>
#include <string>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>
#include <vector>

namespace {

[[noreturn]] void die(const std::string &msg) {
    std::fprintf(stderr, "media_fwd_gen: %s\n", msg.c_str());
    std::exit(1);
}

std::string arg(int argc, char **argv, const char *name, const char *def = nullptr) {
    for (int i = 2; i + 1 < argc; ++i)
        if (std::strcmp(argv[i], name) == 0)
            return argv[i + 1];
    if (!def)
        die(std::string("missing ") + name);
    return def;
}

std::uint64_t now_ns(clockid_t clk) {
    timespec ts{};
    clock_gettime(clk, &ts);
    return std::uint64_t(ts.tv_sec) * 1000000000ull + std::uint64_t(ts.tv_nsec);
}

void sleep_until(clockid_t clk, std::uint64_t t) {
    timespec ts{};
    ts.tv_sec = time_t(t / 1000000000ull);
    ts.tv_nsec = long(t % 1000000000ull);
    while (clock_nanosleep(clk, TIMER_ABSTIME, &ts, nullptr) == EINTR) {
    }
}

sockaddr_in parse_ep(const std::string &ip, const std::string &port) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    if (inet_pton(AF_INET, ip.c_str(), &a.sin_addr) != 1)
        die("bad address " + ip);
    const long p = std::strtol(port.c_str(), nullptr, 10);
    if (p <= 0 || p > 65535)
        die("bad port " + port);
    a.sin_port = htons(std::uint16_t(p));
    return a;
}

// ---------------------------------------------------------------------------------------------
// send
// ---------------------------------------------------------------------------------------------
int cmd_send(int argc, char **argv) {
    const std::string file = arg(argc, argv, "--flows");
    const double rate = std::strtod(arg(argc, argv, "--rate", "0").c_str(), nullptr);
    const double duration = std::strtod(arg(argc, argv, "--duration", "3").c_str(), nullptr);
    const long payload = std::strtol(arg(argc, argv, "--payload", "200").c_str(), nullptr, 10);
    const long batch = std::strtol(arg(argc, argv, "--batch", "4").c_str(), nullptr, 10);
    const std::uint64_t start_at =
            std::strtoull(arg(argc, argv, "--start-at", "0").c_str(), nullptr, 10);
    const long per_flow = std::strtol(arg(argc, argv, "--per-flow", "0").c_str(), nullptr, 10);
    if (payload < 12 || payload > 1400 || batch < 1 || batch > 64 || duration <= 0 ||
        duration > 600 || rate < 0 || per_flow < 0 || per_flow > 1000)
        die("bad --payload/--batch/--duration/--rate/--per-flow");
    {
        // One socket per flow: raise the soft limit on open files to the hard one.
        rlimit rl{};
        if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
            rl.rlim_cur = rl.rlim_max;
            setrlimit(RLIMIT_NOFILE, &rl);
        }
    }

    std::vector<int> fds;
    {
        std::ifstream in(file);
        if (!in)
            die("cannot read " + file);
        std::string line;
        while (std::getline(in, line)) {
            std::istringstream ls(line);
            std::string sip, sport, dip, dport;
            if (!(ls >> sip >> sport >> dip >> dport))
                continue;
            const sockaddr_in src = parse_ep(sip, sport), dst = parse_ep(dip, dport);
            const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
            if (fd < 0)
                die(std::string("socket: ") + std::strerror(errno));
            const int one = 1;
            setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
            if (bind(fd, reinterpret_cast<const sockaddr *>(&src), sizeof src) != 0)
                die("bind " + sip + ":" + sport + ": " + std::strerror(errno));
            if (connect(fd, reinterpret_cast<const sockaddr *>(&dst), sizeof dst) != 0)
                die("connect " + dip + ":" + dport + ": " + std::strerror(errno));
            fds.push_back(fd);
        }
    }
    if (fds.empty())
        die("no flows in " + file);

    // An RTP-looking payload (V=2, PT=0); the bytes do not matter to any router.
    std::vector<std::uint8_t> buf(std::size_t(payload), 0xd5);
    buf[0] = 0x80;
    buf[1] = 0x00;
    std::vector<iovec> iov(static_cast<std::size_t>(batch));
    std::vector<mmsghdr> msgs(static_cast<std::size_t>(batch));
    for (long i = 0; i < batch; ++i) {
        iov[std::size_t(i)] = {buf.data(), buf.size()};
        msgs[std::size_t(i)] = {};
        msgs[std::size_t(i)].msg_hdr.msg_iov = &iov[std::size_t(i)];
        msgs[std::size_t(i)].msg_hdr.msg_iovlen = 1;
    }

    if (start_at)
        sleep_until(CLOCK_REALTIME, start_at);
    const std::uint64_t t0_real = now_ns(CLOCK_REALTIME);
    const std::uint64_t cpu0 = now_ns(CLOCK_PROCESS_CPUTIME_ID);
    const std::uint64_t t0 = now_ns(CLOCK_MONOTONIC);
    const std::uint64_t t_end = t0 + std::uint64_t(duration * 1e9);
    const std::uint64_t step =
            std::strtoull(arg(argc, argv, "--step-us", "1000").c_str(), nullptr, 10) * 1000;
    if (step < 10000 || step > 100000000)
        die("--step-us must be 10..100000");
    std::uint64_t rng = 0x9e3779b97f4a7c15ull ^ t0;
    std::uint64_t sent = 0, attempted = 0, errors = 0, calls = 0;
    std::size_t next = 0;

    if (per_flow) {
        // Priming: exactly per_flow packets per flow, paced at --rate (default 100k/s) so that
        // no queue on the way overflows.
        const double r = rate > 0 ? rate : 100000.0;
        for (long k = 0; k < per_flow; ++k)
            for (std::size_t i = 0; i < fds.size(); ++i) {
                const ssize_t n = send(fds[i], buf.data(), buf.size(), MSG_DONTWAIT);
                ++attempted;
                n >= 0 ? ++sent : ++errors;
                const std::uint64_t due = t0 + std::uint64_t(double(attempted) * 1e9 / r);
                if (attempted % 64 == 0 && now_ns(CLOCK_MONOTONIC) < due)
                    sleep_until(CLOCK_MONOTONIC, due);
            }
    } else {
        std::uint64_t now = t0;
        // Bounded: ends at t_end; each inner pass sends at most 1 ms worth (or, at max rate,
        // 256 calls) before looking at the clock again.
        while (now < t_end) {
            std::uint64_t allowed = ~0ull;
            if (rate > 0)
                allowed = std::uint64_t(rate * double(now - t0) / 1e9) + std::uint64_t(batch);
            for (int k = 0; k < 4096 && attempted < allowed; ++k) {
                const int n = sendmmsg(fds[next], msgs.data(), unsigned(batch), MSG_DONTWAIT);
                ++calls;
                attempted += std::uint64_t(batch);
                if (n > 0)
                    sent += std::uint64_t(n);
                if (n < long(batch))
                    errors += std::uint64_t(batch - (n > 0 ? n : 0));
                if (++next == fds.size())
                    next = 0;
                if (rate <= 0 && k >= 255)
                    break;
            }
            now = now_ns(CLOCK_MONOTONIC);
            if (rate > 0 && now < t_end) {
                // Sleep a random 0.5-1.5 ms: a fixed period would phase-lock with the
                // scheduler tick, which samples who is running for /proc/stat's accounting.
                rng ^= rng << 13;
                rng ^= rng >> 7;
                rng ^= rng << 17;
                const std::uint64_t wake = now + step / 2 + rng % step;
                sleep_until(CLOCK_MONOTONIC, wake < t_end ? wake : t_end);
                now = now_ns(CLOCK_MONOTONIC);
            }
        }
    }
    const double elapsed = double(now_ns(CLOCK_MONOTONIC) - t0) / 1e9;
    // This process's CPU time while sending, softirq work done in its context included (the
    // kernel charges softirqs to the task they interrupt unless IRQ time accounting is on).
    const std::uint64_t cpu_ns = now_ns(CLOCK_PROCESS_CPUTIME_ID) - cpu0;
    std::printf(
            "{\"flows\": %zu, \"sent\": %llu, \"attempted\": %llu, \"errors\": %llu, "
            "\"calls\": %llu, \"elapsed_s\": %.6f, \"cpu_ns\": %llu, \"start_late_ns\": %lld}\n",
            fds.size(), (unsigned long long)sent, (unsigned long long)attempted,
            (unsigned long long)errors, (unsigned long long)calls, elapsed,
            (unsigned long long)cpu_ns, start_at ? (long long)(t0_real - start_at) : 0ll);
    for (int fd : fds)
        close(fd);
    return 0;
}

// ---------------------------------------------------------------------------------------------
// XDP helpers
// ---------------------------------------------------------------------------------------------
unsigned ifindex_of(const std::string &dev) {
    const unsigned i = if_nametoindex(dev.c_str());
    if (!i)
        die("no interface " + dev + " in this network namespace");
    return i;
}

void mac_of(const std::string &dev, std::uint8_t mac[6]) {
    const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    ifreq ifr{};
    std::strncpy(ifr.ifr_name, dev.c_str(), IFNAMSIZ - 1);
    if (fd < 0 || ioctl(fd, SIOCGIFHWADDR, &ifr) != 0)
        die("SIOCGIFHWADDR " + dev + ": " + std::strerror(errno));
    close(fd);
    std::memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
}

void parse_mac(const std::string &s, std::uint8_t mac[6]) {
    unsigned b[6];
    if (std::sscanf(s.c_str(), "%x:%x:%x:%x:%x:%x", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5]) != 6)
        die("bad MAC " + s);
    for (int i = 0; i < 6; ++i)
        mac[i] = std::uint8_t(b[i]);
}

int cmd_attach(int argc, char **argv, bool redirect) {
    const std::string dev = arg(argc, argv, "--dev");
    const std::string pin = arg(argc, argv, "--pin");
    const unsigned ifindex = ifindex_of(dev);
    media_fwd_xdp_bpf *skel = media_fwd_xdp_bpf__open();
    if (!skel)
        die("open BPF object");
    skel->rodata->port_lo = std::uint16_t(std::atoi(arg(argc, argv, "--lo", "20000").c_str()));
    skel->rodata->port_hi = std::uint16_t(std::atoi(arg(argc, argv, "--hi", "59999").c_str()));
    if (redirect) {
        const std::string to = arg(argc, argv, "--to");
        std::uint8_t smac[6], dmac[6];
        mac_of(to, smac);
        parse_mac(arg(argc, argv, "--dmac"), dmac);
        skel->rodata->out_ifindex = ifindex_of(to);
        for (int i = 0; i < 6; ++i) {
            const_cast<std::uint8_t &>(skel->rodata->out_smac[i]) = smac[i];
            const_cast<std::uint8_t &>(skel->rodata->out_dmac[i]) = dmac[i];
        }
        bpf_program__set_autoload(skel->progs.mf_sink, false);
    } else {
        bpf_program__set_autoload(skel->progs.mf_redirect, false);
    }
    if (media_fwd_xdp_bpf__load(skel))
        die("load BPF object (run as root)");
    const int prog = bpf_program__fd(redirect ? skel->progs.mf_redirect : skel->progs.mf_sink);
    unlink(pin.c_str());
    if (bpf_map__pin(skel->maps.mf_count, pin.c_str()))
        die("pin " + pin);
    // Netlink attachment (not a bpf_link): it outlives this process, until detach or until
    // the interface goes away with its namespace.
    const int err = bpf_xdp_attach(int(ifindex), prog, XDP_FLAGS_DRV_MODE, nullptr);
    if (err)
        die("attach XDP (native) to " + dev + ": " + std::strerror(-err));
    media_fwd_xdp_bpf__destroy(skel);
    return 0;
}

int cmd_detach(int argc, char **argv) {
    const std::string dev = arg(argc, argv, "--dev");
    const int err = bpf_xdp_detach(int(ifindex_of(dev)), XDP_FLAGS_DRV_MODE, nullptr);
    if (err)
        die("detach XDP from " + dev + ": " + std::strerror(-err));
    return 0;
}

int cmd_count(int argc, char **argv) {
    const int ncpu = libbpf_num_possible_cpus();
    if (ncpu <= 0)
        die("cannot count CPUs");
    std::printf("{");
    for (int i = 2; i < argc; ++i) {
        const int fd = bpf_obj_get(argv[i]);
        if (fd < 0)
            die(std::string("open pinned map ") + argv[i] + ": " + std::strerror(errno));
        std::vector<std::uint64_t> v(std::size_t(ncpu), 0);
        const std::uint32_t key = 0;
        if (bpf_map_lookup_elem(fd, &key, v.data()))
            die(std::string("read ") + argv[i]);
        close(fd);
        std::uint64_t sum = 0;
        for (auto x : v)
            sum += x;
        std::printf("%s\"%s\": %llu", i > 2 ? ", " : "", argv[i], (unsigned long long)sum);
    }
    std::printf("}\n");
    return 0;
}

int libbpf_warnings(enum libbpf_print_level level, const char *fmt, va_list ap) {
    return level == LIBBPF_WARN ? std::vfprintf(stderr, fmt, ap) : 0;
}

} // namespace

int main(int argc, char **argv) {
    if (argc < 2)
        die("usage: media_fwd_gen send|attach-sink|attach-redirect|detach|count ... "
            "(see the comment at the top of bench/media_fwd/media_fwd_gen.cpp)");
    const std::string cmd = argv[1];
    libbpf_set_print(libbpf_warnings);
    if (cmd == "send")
        return cmd_send(argc, argv);
    if (cmd == "attach-sink")
        return cmd_attach(argc, argv, false);
    if (cmd == "attach-redirect")
        return cmd_attach(argc, argv, true);
    if (cmd == "detach")
        return cmd_detach(argc, argv);
    if (cmd == "count")
        return cmd_count(argc, argv);
    die("unknown command " + cmd);
}
