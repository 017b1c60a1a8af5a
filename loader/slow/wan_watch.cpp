#include "slow/wan_watch.hpp"

#include "instance/config.hpp"
#include "state/unique_fd.hpp"

#include <arpa/inet.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <ctime>
#include <iostream>

namespace sipalg::slow {

namespace {

// While the WAN is down for want of an answer: one probe this often.
constexpr auto kProbeEvery = std::chrono::seconds(5);

std::uint64_t wall_ms() {
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    return static_cast<std::uint64_t>(ts.tv_sec) * 1000 +
           static_cast<std::uint64_t>(ts.tv_nsec) / 1000000;
}

std::uint64_t mono_ns() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<std::uint64_t>(ts.tv_sec) * 1000000000ull +
           static_cast<std::uint64_t>(ts.tv_nsec);
}

bool policy_on(const sipalg_limits &l) {
    return (l.policy & SIPALG_POLICY_FAILOVER) && l.failover_ip && l.failover_port;
}

std::string server_of(const sipalg_limits &l) {
    return format_ipv4(ntohl(l.failover_ip)) + ":" + std::to_string(l.failover_port);
}

} // namespace

bool link_running(const std::string &ifname) {
    UniqueFd fd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    ifreq ifr{};
    if (!fd.valid() || ifname.size() >= sizeof(ifr.ifr_name))
        return false;
    std::memcpy(ifr.ifr_name, ifname.c_str(), ifname.size());
    if (::ioctl(fd.get(), SIOCGIFFLAGS, &ifr) != 0)
        return false;
    return (ifr.ifr_flags & IFF_UP) && (ifr.ifr_flags & IFF_RUNNING);
}

unsigned int route_oif(std::uint32_t dst) {
    UniqueFd fd(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE));
    if (!fd.valid())
        return 0;
    struct {
        nlmsghdr n;
        rtmsg r;
        char attrs[64];
    } req{};
    req.n.nlmsg_len = NLMSG_LENGTH(sizeof(rtmsg));
    req.n.nlmsg_type = RTM_GETROUTE;
    req.n.nlmsg_flags = NLM_F_REQUEST;
    req.r.rtm_family = AF_INET;
    req.r.rtm_dst_len = 32;
    rtattr *a = reinterpret_cast<rtattr *>(reinterpret_cast<char *>(&req) +
                                           NLMSG_ALIGN(req.n.nlmsg_len));
    a->rta_type = RTA_DST;
    a->rta_len = RTA_LENGTH(4);
    const std::uint32_t be = htonl(dst);
    std::memcpy(RTA_DATA(a), &be, 4);
    req.n.nlmsg_len = NLMSG_ALIGN(req.n.nlmsg_len) + RTA_ALIGN(a->rta_len);
    timeval tv{1, 0};
    ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    if (::send(fd.get(), &req, req.n.nlmsg_len, 0) < 0)
        return 0;
    alignas(nlmsghdr) char buf[4096];
    const ssize_t len = ::recv(fd.get(), buf, sizeof(buf), 0);
    if (len <= 0)
        return 0;
    auto *n = reinterpret_cast<nlmsghdr *>(buf);
    if (!NLMSG_OK(n, static_cast<unsigned>(len)) || n->nlmsg_type != RTM_NEWROUTE)
        return 0; // NLMSG_ERROR: unreachable, no route
    auto *r = static_cast<rtmsg *>(NLMSG_DATA(n));
    if (r->rtm_type != RTN_UNICAST)
        return 0;
    int rest = static_cast<int>(RTM_PAYLOAD(n));
    for (rtattr *x = RTM_RTA(r); RTA_OK(x, rest); x = RTA_NEXT(x, rest))
        if (x->rta_type == RTA_OIF && RTA_PAYLOAD(x) >= 4) {
            std::uint32_t oif = 0;
            std::memcpy(&oif, RTA_DATA(x), 4);
            return oif;
        }
    return 0;
}

WanWatch::WanWatch(std::string wan, const InstanceMaps &maps)
    : wan_(std::move(wan)), maps_(maps), redirect_(wan_) {
    publish();
}

WanSignals WanWatch::gather(const sipalg_limits &l, bool on, std::uint32_t public_ip,
                            std::uint64_t now_s) {
    WanSignals s;
    s.link_up = link_running(wan_);
    std::vector<RegSeen> seen;
    for (const RegRecord &r : maps_.regs())
        seen.push_back({ntohl(r.key.registrar_ip), r.key.bind_port,
                        (r.value.flags & SIPALG_REG_ANSWERED) != 0});
    const unsigned int wan_index = if_nametoindex(wan_.c_str());
    for (const std::uint32_t reg : registrars_of(seen))
        if (!s.unrouted && (!wan_index || route_oif(reg) != wan_index))
            s.unrouted = reg;
    if (l.failover_after_s != after_s_) {
        after_s_ = l.failover_after_s;
        regs_ = RegistrarWatch(after_s_);
    }
    // Waiting is measured only while the WAN is up and the policy could act on it.
    if (verdict_.down() || !on)
        regs_.restart(now_s);
    s.silent = regs_.update(seen, now_s);
    if (!on)
        s.silent.reset();
    if (verdict_.why == SIPALG_WAN_NO_ANSWER) {
        // Policy switched off: "no answer" is its own judgement only, so the WAN counts as up.
        s.probe_answered = !on || probe_.answered();
        const auto now = std::chrono::steady_clock::now();
        if (!s.probe_answered && now - last_probe_ >= kProbeEvery) {
            const sipalg_config cfg = maps_.read_config();
            const std::uint16_t port = cfg.sip_port[0] ? cfg.sip_port[0] : 5060;
            if (!probe_.send(public_ip, verdict_.peer, port))
                std::cerr << "sipalg daemon: " << wan_ << ": cannot send the probe to "
                          << format_ipv4(verdict_.peer) << "\n";
            last_probe_ = now;
        }
    }
    return s;
}

void WanWatch::tick(bool alg_enabled, std::uint32_t public_ip) {
    const sipalg_limits l = maps_.read_limits();
    const bool on = policy_on(l);
    const auto now = std::chrono::steady_clock::now();
    const auto now_s = static_cast<std::uint64_t>(
            std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count());
    const WanVerdict v = judge_wan(gather(l, on, public_ip, now_s), verdict_);
    if (v.down() != verdict_.down() || (v.down() && v.why != verdict_.why)) {
        const auto held = std::chrono::duration_cast<std::chrono::seconds>(now - changed_at_);
        std::cerr << "sipalg daemon: " << wan_ << ": WAN " << wan_text(v) << "; it was "
                  << wan_text(verdict_) << " for " << held.count() << " s";
        if (!on)
            std::cerr << "; failover policy off: nothing is redirected";
        std::cerr << "\n";
        if (v.down() != verdict_.down()) {
            pub_.since_ms = wall_ms();
            pub_.transitions++;
            changed_at_ = now;
        }
        if (!v.down()) {
            regs_.restart(now_s);
            probe_.close();
        }
        if (v.why == SIPALG_WAN_NO_ANSWER)
            last_probe_ = {}; // probe at once
        verdict_ = v;
    }
    set_redirect(redirect_wanted(on, alg_enabled, verdict_), l);
    publish();
}

void WanWatch::set_redirect(bool on, const sipalg_limits &l) {
    if (on == redirect_.installed())
        return;
    if (!on) {
        redirect_.remove();
        std::cerr << "sipalg daemon: " << wan_
                  << ": failover: redirect removed; the phones' requests go to their "
                     "registrars again\n";
        return;
    }
    const sipalg_config cfg = maps_.read_config();
    RedirectPlan p;
    p.server_ip = ntohl(l.failover_ip);
    p.server_port = l.failover_port;
    p.lan = config_prefixes(cfg);
    for (const std::uint16_t port : cfg.sip_port)
        if (port)
            p.sip_ports.push_back(port);
    std::string why;
    if (redirect_.install(p, &why))
        std::cerr << "sipalg daemon: " << wan_ << ": failover: the phones' SIP goes to "
                  << server_of(l) << " while the WAN is down\n";
    else
        std::cerr << "sipalg daemon: " << wan_ << ": failover: cannot redirect to " << server_of(l)
                  << ": " << why << "\n";
}

void WanWatch::publish() {
    pub_.active = redirect_.installed() ? 1 : 0;
    pub_.why = verdict_.why;
    pub_.peer = htonl(verdict_.peer);
    pub_.redirected = redirect_.packets();
    pub_.updated_ns = mono_ns();
    try {
        maps_.write_failover(pub_);
    } catch (const std::exception &e) {
        std::cerr << "sipalg daemon: " << wan_ << ": " << e.what() << "\n";
    }
}

void WanWatch::abandon() noexcept {
    redirect_.abandon();
}

void WanWatch::stop() noexcept {
    redirect_.remove();
    pub_.active = 0;
    pub_.updated_ns = 0;
    try {
        maps_.write_failover(pub_);
    } catch (...) {
    }
}

} // namespace sipalg::slow
