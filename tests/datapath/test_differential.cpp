// Differential check: the same SIP messages through the tc programs (BPF_PROG_TEST_RUN) and
// through the host build of include/sipalg with the fast path's rules (diff_model.hpp), from
// the same state, must give the same verdict and, when forwarded, the same bytes; the frame the
// program sends must have the right lengths and checksums; and what the ALG rewrote for the
// WAN must pass its oracles (no LAN address left, Content-Length = body).
//
// Inputs: the shared corpus (client address -> the phone's LAN address outbound, -> the public
// address inbound), the fuzz seeds, and SIPALG_DIFF_N (default below) deterministic mutations
// of each, sent three ways: from phone 1 to its registrar, from the registrar to phone 1's
// binding (a confirmed registration), and from a stranger to that binding (whose requests the
// signalling rules drop). SIPALG_DIFF_SEED changes the PRNG seed.
// Each message starts from a fresh state: phone 2's binding, and inbound phone 1's binding and
// registration, preset; nothing else.
#include "datapath.hpp"
#include "diff_inputs.hpp"
#include "diff_model.hpp"

#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <chrono>
#include <cstring>
#include <cstdlib>

using namespace sipalg::test;
using namespace sipalg::diff;

namespace {

constexpr std::uint32_t kSlowMark = 0x5100;
constexpr std::uint16_t kSipPort = 5060;
constexpr std::uint16_t kPhone2Port = 5062;
// Larger frames than this do not fit one skb of BPF_PROG_TEST_RUN (a page).
constexpr std::size_t kMaxPayload = 3600;
constexpr std::size_t kDefaultMutations = 32;
constexpr std::size_t kHexMax = 1024; // bytes of a mismatching message printed
constexpr std::size_t kMismatchesShown = 5;

std::size_t env_num(const char *name, std::size_t dflt) {
    const char *v = std::getenv(name);
    return v && *v ? std::strtoull(v, nullptr, 0) : dflt;
}

std::uint32_t if_mtu(const char *ifname) {
    const int fd = socket(AF_INET, SOCK_DGRAM, 0);
    ifreq r{};
    std::snprintf(r.ifr_name, sizeof(r.ifr_name), "%s", ifname);
    const int rc = fd >= 0 ? ioctl(fd, SIOCGIFMTU, &r) : -1;
    if (fd >= 0)
        close(fd);
    return rc == 0 ? static_cast<std::uint32_t>(r.ifr_mtu) : 0;
}

std::string payload_of(const std::vector<std::uint8_t> &f) {
    if (f.size() < kEthLen + kIpv4Len + kUdpLen)
        return "";
    const std::size_t ihl = (f[kEthLen] & 15u) * 4u;
    const std::size_t at = kEthLen + ihl + kUdpLen;
    return at <= f.size() ? std::string(f.begin() + static_cast<long>(at), f.end()) : "";
}

enum class Way { Out, FromRegistrar, FromStranger };

struct Counts {
    std::size_t inputs = 0, agreed = 0, rewritten = 0, unchanged = 0, passed = 0, slow = 0,
                dropped = 0, rewritten_out = 0, rewritten_in = 0, rule_size = 0, rule_mtu = 0,
                rule_mtu_in = 0, rule_reg = 0, rule_unsolicited = 0, mismatches = 0,
                oracle_fail = 0, too_large = 0;
};

struct Mismatch {
    std::string what, base, input, bpf, host;
};

// Where two payloads first differ, for the report.
std::string first_byte_diff(const std::string &a, const std::string &b) {
    std::size_t i = 0;
    while (i < a.size() && i < b.size() && a[i] == b[i])
        i++;
    return "at byte " + std::to_string(i) + " (sizes " + std::to_string(a.size()) + " / " +
           std::to_string(b.size()) + ")";
}

} // namespace

class Differential : public Datapath {
  protected:
    void configure() override {
        set_clock(100);
        sipalg_admin a{};
        a.op = SIPALG_OP_DAEMON_BEAT;
        a.arg = kSlowMark; // a daemon is attached: what goes to the slow path is marked
        ASSERT_EQ(admin(a).result, 0);
        // Rates unlimited and no binding cap: every message meets the same state. The direct
        // signalling rule stays on: the stranger's requests must be dropped.
        sipalg_limits l = default_limits();
        l.any_peer = 0;
        l.register_rate = l.invite_rate = 0;
        l.bind_max_phone = 0;
        write_limits(l);
        wan_mtu_ = if_mtu("wan0");
        lan_mtu_ = if_mtu("lan0");
        ASSERT_GT(wan_mtu_, 0u);
        ASSERT_GT(lan_mtu_, 0u);
    }

    // Every hash map emptied, the port slots they used freed, the counts zeroed: the state of
    // a fresh load (with the clock and the daemon's heartbeat kept).
    void reset_state() {
        for (bpf_map *map : {skel_->maps.sipalg_binds, skel_->maps.sipalg_pins}) {
            sipalg_endpoint k{}, next{};
            const void *prev = nullptr;
            while (!bpf_map__get_next_key(map, prev, &next, sizeof(next))) {
                std::uint16_t pub = 0; // both values start with the public port
                std::uint8_t val[64] = {};
                if (!bpf_map__lookup_elem(map, &next, sizeof(next), val, bpf_map__value_size(map),
                                          0)) {
                    std::memcpy(&pub, val, sizeof(pub));
                    const __u32 slot = pub;
                    const sipalg_slot zero{};
                    bpf_map__update_elem(skel_->maps.sipalg_slots, &slot, sizeof(slot), &zero,
                                         sizeof(zero), BPF_ANY);
                }
                k = next;
                prev = &k;
            }
        }
        bpf_map *map;
        bpf_object__for_each_map(map, skel_->obj) {
            const auto t = bpf_map__type(map);
            if (t != BPF_MAP_TYPE_HASH && t != BPF_MAP_TYPE_LRU_HASH &&
                t != BPF_MAP_TYPE_PERCPU_HASH && t != BPF_MAP_TYPE_LRU_PERCPU_HASH)
                continue;
            if (map == skel_->maps.sipalg_brports)
                continue; // configuration, written by the loader
            std::vector<std::uint8_t> key(bpf_map__key_size(map)), next(key.size());
            std::vector<std::vector<std::uint8_t>> keys;
            const void *prev = nullptr;
            while (!bpf_map__get_next_key(map, prev, next.data(), next.size())) {
                keys.push_back(next);
                key = next;
                prev = key.data();
            }
            for (const auto &k : keys)
                bpf_map__delete_elem(map, k.data(), k.size(), 0);
        }
        const __u32 skey = SIPALG_STATE_KEY;
        sipalg_state s{};
        ASSERT_EQ(bpf_map__lookup_elem(skel_->maps.sipalg_state, &skey, sizeof(skey), &s, sizeof(s),
                                       0),
                  0);
        s.bindings = s.pinholes = s.dialogs = 0;
        ASSERT_EQ(bpf_map__update_elem(skel_->maps.sipalg_state, &skey, sizeof(skey), &s, sizeof(s),
                                       BPF_ANY),
                  0);
    }

    std::uint16_t touch_binding(const char *ip, std::uint16_t port, bool reg) {
        sipalg_admin a{};
        a.op = SIPALG_OP_BINDING_TOUCH;
        a.priv_ip = be32(ip);
        a.priv_port = htons(port);
        a.arg = reg ? 1 : 0;
        return admin(a).public_port;
    }

    // The state a message meets: phone 2 bound; inbound, phone 1 bound and registered with
    // the registrar, whose 2xx confirmed it (so the registrar's requests are let in).
    // Overridable, for other admission setups (trusted peers, any_peer).
    virtual void preset(Way way) {
        reset_state();
        touch_binding(net::kPhone2, kPhone2Port, true);
        if (way == Way::Out)
            return;
        const std::uint16_t pub = touch_binding(net::kPhone1, kSipPort, true);
        ASSERT_EQ(pub, kSipPort);
        const sipalg_reg_key k{be32(net::kRegistrar), pub, 0};
        sipalg_reg r{};
        r.call = 0x1234;
        r.cseq = 1;
        r.expiry_s = 100 + 3600;
        r.priv_ip = be32(net::kPhone1);
        r.priv_port = htons(kSipPort);
        r.flags = SIPALG_REG_CONFIRMED;
        write_entry(skel_->maps.sipalg_regs, k, r);
    }
    // Where inbound messages come from, and whether the signalling rules admit its requests.
    virtual const char *source(Way way) const {
        return way == Way::FromRegistrar ? net::kRegistrar : net::kStranger;
    }
    virtual bool admitted(Way way) const { return way != Way::FromStranger; }

    // Phone socket -> public port, of every entry of a map keyed by phone socket.
    template <class V>
    static std::map<Sock, std::uint16_t> public_ports(const bpf_map *map) {
        std::map<Sock, std::uint16_t> out;
        for_each_entry<sipalg_endpoint, V>(map, [&](const sipalg_endpoint &ep, const V &v) {
            out[{ntohl(ep.ip), ntohs(ep.port)}] = v.public_port;
        });
        return out;
    }
    State snapshot() const {
        State s;
        s.bindings = public_ports<sipalg_binding>(skel_->maps.sipalg_binds);
        s.pinholes = public_ports<sipalg_pinhole>(skel_->maps.sipalg_pins);
        return s;
    }

    // One message one way, counted by its outcome; a disagreement is recorded with the name of
    // the input it came from.
    void check(const std::string &payload, Way way, const std::string &base) {
        if (payload.size() > kMaxPayload) {
            counts_.too_large++;
            return;
        }
        counts_.inputs++;
        preset(way);
        if (HasFatalFailure())
            return;
        const bool outbound = way == Way::Out;
        const UdpFrameSpec in = outbound ? from_phone(net::kPhone1, net::kPhone1Mac, kSipPort,
                                                      net::kRegistrar, kSipPort, payload)
                                         : from_internet(source(way), kSipPort, kSipPort, payload);
        const auto frame = build_udp_frame(in);
        const RunResult r = outbound ? run_lan(frame) : run_wan_in(frame);
        const State st = snapshot();

        Msg m;
        m.outbound = outbound;
        m.public_ip = ipv4_addr(net::kPublicIp);
        m.priv_ip = ipv4_addr(net::kPhone1);
        m.priv_port = kSipPort;
        const auto own = st.bindings.find({m.priv_ip, kSipPort});
        // A binding the message was refused is undone: it had the private port (fresh state).
        m.public_port = own == st.bindings.end() ? kSipPort : own->second;
        m.lan_net = ipv4_addr("192.168.0.0");
        m.lan_plen = 16;
        m.mtu = outbound ? wan_mtu_ : lan_mtu_;
        m.peer_admitted = admitted(way);
        const Outcome host = fast_path_model(payload, m, st);

        Verdict bpf = Verdict::Dropped;
        std::string why;
        if (r.ret == TC_ACT_REDIRECT)
            bpf = Verdict::Redirected;
        else if (r.ret == TC_ACT_OK)
            bpf = r.mark == kSlowMark ? Verdict::Slow : Verdict::Passed;
        else if (r.ret != TC_ACT_SHOT)
            why = "program returned " + std::to_string(r.ret);
        const std::string bpf_payload = payload_of(r.out);

        if (why.empty() && bpf != host.verdict)
            why = std::string("verdict: bpf ") + name(bpf) + ", host " + name(host.verdict) +
                  " (scan " + std::to_string(host.scan) + ")";
        if (why.empty() && bpf == Verdict::Redirected) {
            if (bpf_payload != host.payload)
                why = "payload differs " + first_byte_diff(bpf_payload, host.payload);
            else {
                const auto expected = build_udp_frame(
                        outbound ? with_payload(snat_expected(in, m.public_port), host.payload)
                                 : with_payload(dnat_expected(in, net::kPhone1, net::kPhone1Mac,
                                                              kSipPort),
                                                host.payload));
                if (r.out != expected)
                    why = "frame: " + first_diff(r.out, expected);
                else if (!ipv4_checksum_ok(r.out) || !udp_checksum_ok(r.out))
                    why = "checksum";
            }
        }
        if (why.empty() && (bpf == Verdict::Passed || bpf == Verdict::Slow) && r.out != frame)
            why = "a packet passed to the stack was modified: " + first_diff(r.out, frame);
        if (why.empty() && bpf == Verdict::Redirected && outbound && bpf_payload != payload) {
            const std::string bad = check_outbound_oracles(payload, bpf_payload, m);
            if (!bad.empty()) {
                counts_.oracle_fail++;
                why = "oracle: " + bad;
            }
        }
        if (why.empty() && bpf == Verdict::Redirected && !outbound && bpf_payload != payload) {
            const std::string bad = check_content_length(payload, bpf_payload);
            if (!bad.empty()) {
                counts_.oracle_fail++;
                why = "oracle: " + bad;
            }
        }
        if (!why.empty()) {
            counts_.mismatches++;
            if (mismatches_.size() < kMismatchesShown)
                mismatches_.push_back({std::string(outbound                    ? "outbound "
                                                   : way == Way::FromRegistrar ? "inbound "
                                                                               : "stranger ") +
                                               why,
                                       base, payload, bpf_payload, host.payload});
            return;
        }
        counts_.agreed++;
        switch (bpf) {
        case Verdict::Redirected:
            if (bpf_payload == payload) {
                counts_.unchanged++;
                break;
            }
            counts_.rewritten++;
            (outbound ? counts_.rewritten_out : counts_.rewritten_in)++;
            break;
        case Verdict::Passed:
            (host.rule == Rule::RegNotSender ? counts_.rule_reg : counts_.passed)++;
            break;
        case Verdict::Slow:
            if (host.rule == Rule::SizeIn)
                counts_.rule_size++;
            else if (host.rule == Rule::Mtu)
                counts_.rule_mtu++;
            else if (host.rule == Rule::MtuIn)
                counts_.rule_mtu_in++;
            else
                counts_.slow++;
            break;
        case Verdict::Dropped:
            (host.rule == Rule::Unsolicited ? counts_.rule_unsolicited : counts_.dropped)++;
            break;
        }
    }

    void report() const {
        const Counts &c = counts_;
        std::printf("differential: inputs %zu, agreed %zu (rewritten both %zu, forwarded "
                    "unchanged both %zu, passed both %zu, slow both %zu, dropped both %zu), "
                    "slow by rule %zu (size %zu, mtu %zu, mtu-in %zu), passed by rule "
                    "reg-not-sender %zu, dropped by rule unsolicited %zu, mismatches %zu "
                    "(oracle %zu), too large for a test frame %zu\n",
                    c.inputs, c.agreed, c.rewritten, c.unchanged, c.passed, c.slow, c.dropped,
                    c.rule_size + c.rule_mtu + c.rule_mtu_in, c.rule_size, c.rule_mtu,
                    c.rule_mtu_in, c.rule_reg, c.rule_unsolicited, c.mismatches, c.oracle_fail,
                    c.too_large);
        for (const Mismatch &x : mismatches_)
            std::printf("MISMATCH %s (from %s)\n  input %s\n  bpf   %s\n  host  %s\n",
                        x.what.c_str(), x.base.c_str(), hex(x.input, kHexMax).c_str(),
                        hex(x.bpf, kHexMax).c_str(), hex(x.host, kHexMax).c_str());
        std::fflush(stdout);
    }

    Counts counts_;
    std::vector<Mismatch> mismatches_;
    std::uint32_t wan_mtu_ = 0, lan_mtu_ = 0;
};

namespace {

std::vector<Base> all_bases() {
    std::vector<Base> b = load_corpus(SIPALG_CORPUS_DEFAULT);
    const std::size_t corpus = b.size();
    std::vector<Base> s = load_seeds(SIPALG_FUZZ_DIR);
    b.insert(b.end(), s.begin(), s.end());
    std::printf("differential: %zu corpus messages%s, %zu fuzz seeds\n", corpus,
                corpus ? "" : " (corpus absent: set SIPALG_CORPUS_DIR)", s.size());
    return b;
}

} // namespace

TEST_F(Differential, FastPathAndHostBuildAgree) {
    const std::vector<Base> bases = all_bases();
    ASSERT_FALSE(bases.empty()) << "no inputs at all (fuzz seeds missing?)";
    const std::size_t n = env_num("SIPALG_DIFF_N", kDefaultMutations);
    Rng rng(env_num("SIPALG_DIFF_SEED", 0x51ba16d1ff));
    const auto t0 = std::chrono::steady_clock::now();
    for (const Base &b : bases) {
        for (const Way way : {Way::Out, Way::FromRegistrar, Way::FromStranger}) {
            // The phone's address where the message names its sender; inbound, the address
            // the ALG put there on the way out.
            const std::string msg =
                    b.client_ip.empty() ? b.msg
                                        : localize(b.msg, b.client_ip,
                                                   way == Way::Out ? net::kPhone1 : net::kPublicIp);
            check(msg, way, b.name);
            for (std::size_t k = 0; k < n; k++)
                check(mutate(msg, rng), way, b.name);
            if (HasFatalFailure())
                return;
        }
    }
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    report();
    std::printf("differential: %zu mutations per message, rewritten outbound %zu, inbound %zu, "
                "%.1f s\n",
                n, counts_.rewritten_out, counts_.rewritten_in, s);
    EXPECT_EQ(counts_.mismatches, 0u) << "see MISMATCH lines above";
    // The check must have compared real rewrites in both directions, or it proves nothing.
    EXPECT_GT(counts_.rewritten_out, bases.size() / 2);
    EXPECT_GT(counts_.rewritten_in, bases.size() / 4);
    EXPECT_GT(counts_.slow + counts_.rule_size + counts_.passed, 0u);
    EXPECT_GT(counts_.rule_unsolicited, bases.size());
}

// The oracles must be able to fail: a LAN address left in a Via, a Content-Length that no
// longer counts the body.
TEST(DifferentialOracles, CatchALeftLanAddressAndAWrongContentLength) {
    Msg m;
    m.priv_ip = ipv4_addr(net::kPhone1);
    m.lan_net = ipv4_addr("192.168.0.0");
    m.lan_plen = 16;
    auto msg = [](const std::string &via, const std::string &clen, const std::string &body) {
        return "OPTIONS sip:x@198.51.100.7 SIP/2.0\r\nVia: SIP/2.0/UDP " + via +
               ";branch=z9hG4bK1\r\nCall-ID: c1\r\nCSeq: 1 OPTIONS\r\nContent-Length: " + clen +
               "\r\n\r\n" + body;
    };
    const std::string in = msg("192.168.1.10:5060", "4", "abcd");
    EXPECT_EQ(check_outbound_oracles(in, msg("203.0.113.1:5060", "4", "abcd"), m), "");
    EXPECT_NE(check_outbound_oracles(in, msg("192.168.1.10:5060", "4", "abcd"), m), "");
    EXPECT_NE(check_outbound_oracles(in, msg("203.0.113.1:5060", "5", "abcd"), m), "");
    EXPECT_NE(check_content_length(in, msg("203.0.113.1:5060", "3", "abcd")), "");
    // A Content-Length that was wrong on the way in is not the rewriter's to fix.
    EXPECT_EQ(check_content_length(msg("a", "9", "abcd"), msg("b", "9", "abcd")), "");
}
