// Per-packet cost of each datapath program, from BPF_PROG_TEST_RUN, on real frames in a private
// network namespace (tests/common/testnet.hpp) so FIB lookups are real.
//
// Two figures per case, each the median of 5 rounds:
//   steady: one BPF_PROG_TEST_RUN with repeat=100000 of a wrapper (prog_cost.bpf.c) that runs
//           the program body and then restores the frame, minus the same for a wrapper that
//           only restores: the cost per packet with warm caches, as in forwarding. (Plain
//           repeat would measure the already-NATed packet after the first run.)
//   single: the kernel's duration of one run (repeat=1) of the attached program on a fresh
//           frame, median of N samples, minus the same for an empty program: closer to a
//           packet arriving cold.
// Media cases run with the route cache in use (as once the aging timer runs), except the one
// marked "FIB every packet".
//
// Usage: prog_cost [single-run samples per round, default 100000]     (root)
#include "bpf_util.hpp"
#include "packet.hpp"
#include "prog_stats.hpp"
#include "prog_cost.skel.h"
#include "sipalg_maps.h"
#include "stats.hpp"
#include "testnet.hpp"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

using namespace sipalg::test;
using bench::median;

namespace {

constexpr int kRounds = 5;

constexpr int kRepeat = 100000;

struct Case {
    std::string name;
    int prog_fd;  // the attached program (single runs)
    int bench_fd; // its restoring wrapper (steady), -1: none
    bool xdp;
    std::vector<std::uint8_t> frame;
    std::uint32_t want_ret;
    unsigned ifindex;
    std::function<void()> before_round; // restore state a round may have changed
    bool meta = false;                  // XDP: the program adds metadata (the wrapper removes it)
};

// One BPF_PROG_TEST_RUN of `fd` with `repeat`: the kernel-measured duration per run in ns.
std::uint32_t run(const Case &c, int fd, int repeat, std::vector<std::uint8_t> &buf,
                  std::uint32_t *ret) {
    buf.resize(c.frame.size() + 256);
    xdp_md xctx{};
    xctx.data_end = static_cast<__u32>(c.frame.size());
    xctx.ingress_ifindex = c.ifindex;
    __sk_buff sctx{};
    sctx.ifindex = c.ifindex;
    sctx.ingress_ifindex = c.ifindex;
    LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = c.frame.data(), .data_out = buf.data(),
                .data_size_in = static_cast<__u32>(c.frame.size()),
                .data_size_out = static_cast<__u32>(buf.size()),
                .ctx_in = c.xdp ? static_cast<const void *>(&xctx) : &sctx,
                .ctx_size_in = static_cast<__u32>(c.xdp ? sizeof(xctx) : sizeof(sctx)),
                .repeat = repeat);
    if (bpf_prog_test_run_opts(fd, &o))
        throw std::runtime_error("test run failed for " + c.name);
    *ret = o.retval;
    return o.duration;
}

void check_ret(const Case &c, std::uint32_t ret) {
    if (ret != c.want_ret)
        throw std::runtime_error(c.name + ": program returned " + std::to_string(ret) +
                                 ", expected " + std::to_string(c.want_ret) +
                                 " (not the path this case measures)");
}

// Median of `samples` single runs (an even count: the mean of the two middle ones).
double round_median(const Case &c, int samples) {
    std::vector<double> d;
    d.reserve(static_cast<size_t>(samples));
    std::vector<std::uint8_t> buf;
    for (int i = 0; i < samples; ++i) {
        std::uint32_t ret = 0;
        d.push_back(run(c, c.prog_fd, 1, buf, &ret));
        check_ret(c, ret);
    }
    return median(std::move(d));
}

// One repeat=kRepeat run of the restoring wrapper.
double steady(const Case &c) {
    std::vector<std::uint8_t> buf;
    std::uint32_t ret = 0;
    const double ns = run(c, c.bench_fd, kRepeat, buf, &ret);
    check_ret(c, ret);
    return ns;
}

// A program that only returns: what the measurement costs by itself.
int empty_prog(enum bpf_prog_type type, int ret) {
    const bpf_insn insns[] = {
            {BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, ret},
            {BPF_JMP | BPF_EXIT, 0, 0, 0, 0},
    };
    const int fd = bpf_prog_load(type, "bench_empty", "GPL", insns, 2, nullptr);
    if (fd < 0)
        throw std::runtime_error("cannot load the empty baseline program");
    return fd;
}

std::string rtp() {
    return std::string("\x80\x00\x00\x01\x00\x00\x00\xa0\xde\xad\xbe\xef", 12) +
           std::string(160, '\x55');
}

} // namespace

int main(int argc, char **argv) {
    const int samples = argc > 1 ? std::atoi(argv[1]) : 100000;
    if (geteuid() != 0 || samples <= 0) {
        std::fprintf(stderr, "usage: prog_cost [samples]   (as root: loads BPF programs)\n");
        return 1;
    }
    try {
        const net::Topology &topo = net::enter();
        libbpf_set_print(quiet_libbpf);
        prog_cost_bpf *skel = prog_cost_bpf__open_and_load();
        if (!skel)
            throw std::runtime_error("cannot load the benchmark BPF object");

        // Limits above the tests': the aging case fills 4097 pinholes.
        sipalg_config cfg = topology_config(topo, true);
        cfg.pin_idle_s = 120;
        cfg.pin_max_phone = 64;
        cfg.pin_max_total = 65536;
        const __u32 zero = 0;
        // The dialog limits `sipalg load` writes: without them no call gets a dialog, and the
        // SIP cases would measure a path without pinholes.
        const sipalg_limits lim = default_limits();
        bpf_map__update_elem(skel->maps.sipalg_limits, &zero, 4, &lim, sizeof(lim), BPF_ANY);
        auto set_enabled = [&](bool on) {
            cfg.enabled = on;
            bpf_map__update_elem(skel->maps.sipalg_config, &zero, 4, &cfg, sizeof(cfg), BPF_ANY);
        };
        auto admin = [&](sipalg_admin a) {
            LIBBPF_OPTS(bpf_test_run_opts, ao, .ctx_in = &a, .ctx_size_in = sizeof(a));
            if (bpf_prog_test_run_opts(bpf_program__fd(skel->progs.sipalg_admin), &ao) || a.result)
                throw std::runtime_error("admin operation " + std::to_string(a.op) + " failed");
            return a;
        };
        // The route cache generation: as when the aging timer runs (0 would disable caching).
        std::uint32_t clock = 1;
        auto new_generation = [&] {
            sipalg_admin a{};
            a.op = SIPALG_OP_CLOCK_SET;
            a.arg = ++clock;
            admin(a);
        };
        // The measured pinhole's (public port 40000) cached routes, both ways.
        auto clear_routes = [&] {
            const __u32 port = 40000;
            sipalg_slot slot{};
            bpf_map__lookup_elem(skel->maps.sipalg_slots, &port, 4, &slot, sizeof(slot), 0);
            slot.route[0] = slot.route[1] = 0;
            bpf_map__update_elem(skel->maps.sipalg_slots, &port, 4, &slot, sizeof(slot), 0);
        };
        // Without a generation, routes are not cached: every packet asks the FIB.
        auto no_cache = [&] {
            const __u32 key = SIPALG_STATE_KEY;
            sipalg_state st{};
            bpf_map__lookup_elem(skel->maps.sipalg_state, &key, 4, &st, sizeof(st), 0);
            st.route_gen = 0;
            bpf_map__update_elem(skel->maps.sipalg_state, &key, 4, &st, sizeof(st), BPF_ANY);
            clear_routes();
        };
        set_enabled(true);
        new_generation();
        admin(pinhole_open_request(net::kPhone1, 40000, net::kRemote, 50000));

        const auto udp = udp_frame;
        const auto rtp_in = udp(net::kRemote, net::kGatewayMac, net::kWanMac, 50000, net::kPublicIp,
                                40000, rtp());
        const auto rtp_out =
                udp(net::kPhone1, net::kPhone1Mac, net::kLanMac, 40000, net::kRemote, 50000, rtp());
        const auto other_in = udp(net::kRemote, net::kGatewayMac, net::kWanMac, 443, net::kPublicIp,
                                  33333, rtp());
        const auto other_out =
                udp(net::kPhone1, net::kPhone1Mac, net::kLanMac, 33333, net::kRemote, 443, rtp());
        const auto sip_out = udp(net::kPhone1, net::kPhone1Mac, net::kLanMac, 5060, net::kRegistrar,
                                 5060, sip_register(net::kPhone1, 5060, net::kRegistrar));
        const std::string sdp = "v=0\r\no=- 42 1 IN IP4 192.168.1.10\r\ns=-\r\n"
                                "c=IN IP4 192.168.1.10\r\nt=0 0\r\n"
                                "m=audio 40002 RTP/AVP 0 8 101\r\na=rtpmap:0 PCMU/8000\r\n"
                                "a=rtpmap:8 PCMA/8000\r\na=rtpmap:101 telephone-event/8000\r\n";
        const auto invite_out =
                udp(net::kPhone1, net::kPhone1Mac, net::kLanMac, 5060, net::kRemote, 5060,
                    "INVITE sip:2001@198.51.100.20 SIP/2.0\r\n"
                    "Via: SIP/2.0/UDP 192.168.1.10:5060;branch=z9hG4bK-b1;rport\r\n"
                    "Max-Forwards: 70\r\nFrom: <sip:1001@192.168.1.10:5060>;tag=f1\r\n"
                    "To: <sip:2001@198.51.100.20>\r\nCall-ID: 1-2883@192.168.1.10\r\n"
                    "CSeq: 1 INVITE\r\nContact: <sip:1001@192.168.1.10:5060>\r\n"
                    "Content-Type: application/sdp\r\nContent-Length: " +
                            std::to_string(sdp.size()) + "\r\n\r\n" + sdp);
        const auto sip_in =
                udp(net::kRegistrar, net::kGatewayMac, net::kWanMac, 5060, net::kPublicIp, 5060,
                    "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 203.0.113.1:5060\r\n"
                    "Content-Length: 0\r\n\r\n");

        const unsigned W = topo.wan_ifindex, L = topo.lan_ifindex;
        const int xdp = bpf_program__fd(skel->progs.sipalg_wan_xdp);
        const int wan_in = bpf_program__fd(skel->progs.sipalg_wan_ingress);
        const int lan = bpf_program__fd(skel->progs.sipalg_lan_ingress);
        const int b_xdp = bpf_program__fd(skel->progs.bench_xdp);
        const int b_wan_in = bpf_program__fd(skel->progs.bench_wan_in);
        const int b_lan = bpf_program__fd(skel->progs.bench_lan);
        const int lan_xdp = bpf_program__fd(skel->progs.sipalg_lan_port_xdp);
        const int b_lan_xdp = bpf_program__fd(skel->progs.bench_lan_xdp);
        const int empty_xdp = empty_prog(BPF_PROG_TYPE_XDP, XDP_PASS);
        const int empty_tc = empty_prog(BPF_PROG_TYPE_SCHED_CLS, TC_ACT_OK);
        const int restore_xdp = bpf_program__fd(skel->progs.bench_xdp_restore);
        const int restore_xdp_meta = bpf_program__fd(skel->progs.bench_xdp_restore_meta);
        const int restore_tc = bpf_program__fd(skel->progs.bench_tc_restore);
        // The LAN port XDP program's setup: the WAN takes XDP frames, lan0 is a port that does
        // too (sipalg_brports), and a first outbound packet has taught the pinhole where the
        // phone is. `on` undoes it, so the other cases measure the paths without it.
        const __u32 lan_key = topo.lan_ifindex;
        auto on = [&] {
            cfg.xdp_flags = 0;
            bpf_map__delete_elem(skel->maps.sipalg_brports, &lan_key, 4, 0);
            clear_routes();
            set_enabled(true);
            new_generation();
        };
        auto xdp_lan = [&] {
            cfg.xdp_flags = SIPALG_XDP_WAN_XMIT;
            const sipalg_bridge_port lp = topology_lan_port(topo, SIPALG_IFACE_XDP_XMIT);
            bpf_map__update_elem(skel->maps.sipalg_brports, &lan_key, 4, &lp, sizeof(lp), BPF_ANY);
            clear_routes();
            set_enabled(true);
            new_generation();
            std::vector<std::uint8_t> buf;
            std::uint32_t ret = 0;
            const Case learn{"learn", lan_xdp, -1, true, rtp_out, XDP_REDIRECT, L, [] {}};
            run(learn, lan_xdp, 1, buf, &ret);
            check_ret(learn, ret);
        };

        auto off = [&] { set_enabled(false); };
        auto fib = [&] {
            set_enabled(true);
            no_cache();
        };

        const std::vector<Case> cases = {
                {"RTP in, XDP: pinhole, DNAT, meta", xdp, b_xdp, true, rtp_in, XDP_PASS, W, on,
                 true},
                {"RTP in, XDP, FIB every packet", xdp, b_xdp, true, rtp_in, XDP_PASS, W, fib, true},
                {"RTP in, tc wan_in alone (no XDP)", wan_in, b_wan_in, false, rtp_in,
                 TC_ACT_REDIRECT, W, on},
                {"RTP out, tc lan: pinhole, SNAT", lan, b_lan, false, rtp_out, TC_ACT_REDIRECT, L,
                 on},
                {"RTP out, LAN port XDP: SNAT, redirect", lan_xdp, b_lan_xdp, true, rtp_out,
                 XDP_REDIRECT, L, xdp_lan},
                {"RTP in, XDP: to the learned port", xdp, b_xdp, true, rtp_in, XDP_REDIRECT, W,
                 xdp_lan},
                {"RTP out, tc lan, FIB every packet", lan, b_lan, false, rtp_out, TC_ACT_REDIRECT,
                 L, fib},
                {"SIP REGISTER out, tc lan (binding)", lan, b_lan, false, sip_out, TC_ACT_REDIRECT,
                 L, on},
                {"SIP INVITE+SDP out, tc lan (rewrite)", lan, b_lan, false, invite_out,
                 TC_ACT_REDIRECT, L, on},
                {"SIP 200 in, tc wan_in (binding)", wan_in, b_wan_in, false, sip_in,
                 TC_ACT_REDIRECT, W, on},
                {"other UDP in, XDP (not owned)", xdp, b_xdp, true, other_in, XDP_PASS, W, on},
                {"other UDP in, tc wan_in (not owned)", wan_in, b_wan_in, false, other_in,
                 TC_ACT_OK, W, on},
                {"other UDP out, tc lan (not owned)", lan, b_lan, false, other_out, TC_ACT_OK, L,
                 on},
                {"RTP in, XDP, ALG disabled", xdp, b_xdp, true, rtp_in, XDP_PASS, W, off},
                {"RTP out, tc lan, ALG disabled", lan, b_lan, false, rtp_out, TC_ACT_OK, L, off},
        };
        const Case base_xdp{"", empty_xdp, restore_xdp, true, rtp_in, XDP_PASS, W, on};
        const Case base_xdp_meta{"", empty_xdp, restore_xdp_meta, true, rtp_in, XDP_PASS, W, on};
        const Case base_tc{"", empty_tc, restore_tc, false, rtp_in, TC_ACT_OK, W, on};

        // Warm up (and create the SIP binding the REGISTER case then refreshes).
        for (const auto &c : cases) {
            c.before_round();
            round_median(c, 1000);
        }
        // Each round measures the baseline right before the case, and the figure is the median
        // of the per-round differences: the box may be busy with other work, and a baseline
        // taken minutes apart would drift.
        auto rounds = [](const std::function<double()> &diff) {
            std::vector<double> v;
            for (int r = 0; r < kRounds; ++r)
                v.push_back(diff());
            return median(v);
        };
        std::printf("sipalg per-packet cost from BPF_PROG_TEST_RUN (median of %d rounds; each "
                    "round subtracts a baseline measured right before it)\n",
                    kRounds);
        std::printf("  steady: repeat=%d of a wrapper that restores the frame after each run, "
                    "minus the same wrapper around nothing\n",
                    kRepeat);
        std::printf("  single: median of %d fresh runs (repeat=1), minus the same for an empty "
                    "program\n\n",
                    samples);
        std::printf("%-38s %10s %10s  %s\n", "case", "steady ns", "single ns",
                    "program (xlated/verified insns)");
        for (const auto &c : cases) {
            const Case &base = c.xdp ? (c.meta ? base_xdp_meta : base_xdp) : base_tc;
            const double st = rounds([&] {
                const double b = steady(base);
                c.before_round();
                return steady(c) - b;
            });
            const double one = rounds([&] {
                const double b = round_median(base, samples);
                c.before_round();
                return round_median(c, samples) - b;
            });
            const ProgStats ps = stats_of(c.prog_fd);
            bpf_prog_info info{};
            __u32 len = sizeof(info);
            bpf_obj_get_info_by_fd(c.prog_fd, &info, &len);
            std::printf("%-38s %10.0f %10.0f  %s (%u/%u)\n", c.name.c_str(), st, one, info.name,
                        ps.xlated_insns, ps.verified_insns);
        }

        // The aging sweep: one full pass over the 65536 port slots (the timer does a quarter of
        // it every 250 ms), with 4096 live pinholes. Wall clock around the admin call, so it
        // includes one syscall.
        for (std::uint32_t i = 0; i < 4096; ++i) {
            sipalg_admin o{};
            o.op = SIPALG_OP_PINHOLE_OPEN;
            o.priv_ip = htonl(ipv4_addr("192.168.2.0") + (i % 250) + 1);
            o.priv_port = htons(static_cast<std::uint16_t>(20000 + i));
            o.remote_ip = be32(net::kRemote);
            o.remote_port = htons(50000);
            admin(o);
        }
        std::vector<double> sweeps;
        for (int r = 0; r < kRounds; ++r) {
            sipalg_admin o{};
            o.op = SIPALG_OP_SWEEP;
            timespec t0{}, t1{};
            clock_gettime(CLOCK_MONOTONIC, &t0);
            admin(o);
            clock_gettime(CLOCK_MONOTONIC, &t1);
            sweeps.push_back(static_cast<double>(t1.tv_sec - t0.tv_sec) * 1e6 +
                             static_cast<double>(t1.tv_nsec - t0.tv_nsec) / 1e3);
        }
        std::printf("\naging sweep of all 65536 port slots (4097 live pinholes): %.0f us "
                    "(the timer does a quarter every 250 ms)\n",
                    median(sweeps));
        prog_cost_bpf__destroy(skel);
        close(empty_xdp);
        close(empty_tc);
    } catch (const std::exception &e) {
        std::fprintf(stderr, "prog_cost: %s\n", e.what());
        return 1;
    }
    return 0;
}
