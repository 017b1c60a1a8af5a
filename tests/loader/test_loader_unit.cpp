// Unit tests of the loader's pure parts: pin path layout, interface-name validation, the JSON
// writer and the status rendering. No root, no kernel objects.
#include "cli/error.hpp"
#include "cli/json.hpp"
#include "instance/pin_paths.hpp"
#include "instance/preflight.hpp"
#include "cli/status_render.hpp"

#include <gtest/gtest.h>

#include <cstddef>

using namespace sipalg;

TEST(PinPaths, DefaultRootDependsOnNetns) {
    NetnsId init;
    init.initial = true;
    init.inode = 4026531840;
    EXPECT_EQ(default_pin_root(init), "/sys/fs/bpf/sipalg");
    NetnsId other;
    other.initial = false;
    other.inode = 4026532999;
    EXPECT_EQ(default_pin_root(other), "/sys/fs/bpf/sipalg/netns-4026532999");
    EXPECT_EQ(instance_dir(default_pin_root(other), "wan0"),
              "/sys/fs/bpf/sipalg/netns-4026532999/wan0");
}

TEST(PinPaths, OverrideIsNormalised) {
    EXPECT_EQ(resolve_pin_root(std::string("/sys/fs/bpf/x//")), "/sys/fs/bpf/x");
    EXPECT_EQ(resolve_pin_root(std::string("/")), "/");
}

TEST(PinPaths, InterfaceNamesCannotEscapeTheRoot) {
    EXPECT_TRUE(valid_ifname("wan0"));
    EXPECT_TRUE(valid_ifname("veth-sipalg.10"));
    EXPECT_TRUE(valid_ifname("abcdefghijklmno")); // 15 chars
    EXPECT_FALSE(valid_ifname("abcdefghijklmnop"));
    EXPECT_FALSE(valid_ifname(""));
    EXPECT_FALSE(valid_ifname(".."));
    EXPECT_FALSE(valid_ifname("."));
    EXPECT_FALSE(valid_ifname("a/b"));
    EXPECT_FALSE(valid_ifname("a b"));
}

TEST(Preflight, NearestExistingAncestor) {
    EXPECT_EQ(nearest_existing_ancestor("/proc/self/does/not/exist"), "/proc/self");
    EXPECT_EQ(nearest_existing_ancestor("/definitely-not-here-sipalg"), "/");
    EXPECT_EQ(nearest_existing_ancestor("/proc"), "/proc");
}

TEST(Preflight, NonBpffsRootIsRefused) {
    // /proc is never bpffs; the message must point at the fix.
    try {
        require_bpffs("/proc/sipalg-test");
        FAIL() << "expected a UserError";
    } catch (const UserError &e) {
        EXPECT_NE(std::string(e.what()).find("mount -t bpf bpf /sys/fs/bpf"), std::string::npos);
    }
}

TEST(Json, NestingCommasAndEscapes) {
    JsonWriter w;
    w.begin_object()
            .field("a", 1)
            .field("s", "q\"b\\\n\x01")
            .key("arr")
            .begin_array()
            .value(true)
            .value(false)
            .null()
            .begin_object()
            .end_object()
            .end_array()
            .field("u", std::uint64_t{18446744073709551615ull})
            .end_object();
    EXPECT_EQ(w.str(), R"({"a":1,"s":"q\"b\\\n\u0001","arr":[true,false,null,{}],)"
                       R"("u":18446744073709551615})");
}

namespace {
InstanceStatus sample_status(bool enabled) {
    InstanceStatus st;
    st.ifname = "wan0";
    st.ifindex = 7;
    st.pin_dir = "/sys/fs/bpf/sipalg/wan0";
    st.enabled = enabled;
    st.counters[SIPALG_CTR_XDP_SEEN] = 42;
    st.xdp.attached = true;
    st.xdp.prog = {101, "sipalg_xdp"};
    st.xdp.if_prog = {100, "xdp_dispatcher"};
    st.xdp.multiprog = true;
    st.xdp.mode = "native";
    st.tc.attached = true;
    st.tc.prog = {102, "sipalg_tc"};
    return st;
}
} // namespace

TEST(StatusRender, HumanStatesTheAlgUnambiguously) {
    const std::string off = render_human(sample_status(false));
    EXPECT_NE(off.find("ALG: disabled"), std::string::npos);
    EXPECT_EQ(off.find("ALG: enabled"), std::string::npos);
    const std::string on = render_human(sample_status(true));
    EXPECT_NE(on.find("ALG: enabled"), std::string::npos);
    EXPECT_EQ(on.find("ALG: disabled"), std::string::npos);
    EXPECT_NE(on.find("sipalg_xdp id 101"), std::string::npos);
    EXPECT_NE(on.find("xdp_dispatcher id 100"), std::string::npos);
    EXPECT_NE(on.find("xdp_seen"), std::string::npos);
}

TEST(StatusRender, HumanFlagsMissingPrograms) {
    InstanceStatus st = sample_status(true);
    st.tc = {};
    st.problems.push_back("tc program sipalg_tc is not attached");
    const std::string out = render_human(st);
    EXPECT_NE(out.find("tc:       MISSING"), std::string::npos);
    EXPECT_NE(out.find("problem:  tc program"), std::string::npos);
}

TEST(StatusRender, JsonKeys) {
    const std::string j = render_json(sample_status(true));
    for (const char *needle :
         {"\"interface\":\"wan0\"", "\"ifindex\":7", "\"enabled\":true", "\"alg\":\"enabled\"",
          "\"healthy\":true", "\"pin_dir\":\"/sys/fs/bpf/sipalg/wan0\"",
          "\"xdp\":{\"attached\":true,\"prog_id\":101,\"prog_name\":\"sipalg_xdp\","
          "\"mode\":\"native\",\"multiprog\":true,\"if_prog_id\":100,"
          "\"if_prog_name\":\"xdp_dispatcher\"}",
          "\"tc\":{\"attached\":true,\"prog_id\":102,\"prog_name\":\"sipalg_tc\"",
          "\"counters\":{\"xdp_seen\":42,", "\"problems\":[]"})
        EXPECT_NE(j.find(needle), std::string::npos) << needle << " not in " << j;
    EXPECT_EQ(render_json(std::vector<InstanceStatus>{}), "[]");
}

TEST(StatusRender, SlowPathShowsTheKernelsReassemblyFailures) {
    const std::string snmp =
            "Ip: Forwarding DefaultTTL InReceives ReasmTimeout ReasmReqds ReasmOKs ReasmFails\n"
            "Ip: 1 64 1000 3 40 18 5\n"
            "Icmp: InMsgs InErrors\nIcmp: 0 0\n";
    const auto r = parse_reasm(snmp);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->fails, 5u);
    EXPECT_EQ(r->timeouts, 3u);
    EXPECT_FALSE(parse_reasm("Icmp: InMsgs\nIcmp: 0\n"));
    EXPECT_FALSE(parse_reasm("Ip: ReasmFails ReasmTimeout\nIp: 5 x\n"));

    InstanceStatus st = sample_status(true);
    st.state = sipalg_state{};
    st.reasm = r;
    EXPECT_NE(render_human(st).find("kernel reassembly (IPv4, this netns): 5 failed, 3 timed out"),
              std::string::npos);
    EXPECT_NE(render_json(st).find("\"reassembly\":{\"fails\":5,\"timeouts\":3}"),
              std::string::npos);
}

TEST(StatusRender, DialogLimitsAndCountNextToThePinholes) {
    InstanceStatus st = sample_status(true);
    sipalg_config c{};
    c.pin_idle_s = 120;
    c.pin_max_phone = 64;
    c.pin_max_total = 65536;
    st.config = c;
    sipalg_limits l{};
    l.dlg_idle_s = 300;
    l.dlg_max_phone = 64;
    l.dlg_max_total = 16384;
    st.limits = l;
    sipalg_state s{};
    s.bindings = 3;
    s.pinholes = 8;
    s.dialogs = 2;
    st.state = s;
    const std::string h = render_human(st);
    EXPECT_NE(h.find("max pinholes 64/phone, 65536 total; dialog idle 300 s; max dialogs "
                     "64/phone, 16384 total\n"),
              std::string::npos)
            << h;
    EXPECT_NE(h.find("state:    3 bindings, 8 pinholes, 2 dialogs; ALG clock"), std::string::npos)
            << h;
    const std::string j = render_json(st);
    EXPECT_NE(j.find("\"max_pinholes\":65536,\"dialog_idle_s\":300,\"max_dialogs_per_phone\":64,"
                     "\"max_dialogs\":16384,\"any_peer\":false,\"register_rate\":0,"
                     "\"invite_rate\":0,\"max_bindings_per_phone\":0,\"trusted_peers\":[],"
                     "\"policies\":{\"local-media\":false,\"failover\":false}}"),
              std::string::npos)
            << j;
    EXPECT_NE(j.find("\"bindings\":3,\"pinholes\":8,\"dialogs\":2,\"clock_s\":0"),
              std::string::npos)
            << j;

    st.limits.reset();
    st.state.reset();
    const std::string j2 = render_json(st);
    EXPECT_NE(j2.find("\"dialog_idle_s\":null,\"max_dialogs_per_phone\":null,"
                      "\"max_dialogs\":null,\"any_peer\":null,\"register_rate\":null,"
                      "\"invite_rate\":null,\"max_bindings_per_phone\":null,"
                      "\"trusted_peers\":null,\"policies\":null}"),
              std::string::npos)
            << j2;
    EXPECT_NE(j2.find("\"bindings\":null,\"pinholes\":null,\"dialogs\":null"), std::string::npos)
            << j2;
    EXPECT_EQ(render_human(st).find("dialog idle"), std::string::npos);
}

TEST(StatusRender, DialogCountersComeFromTheXMacro) {
    InstanceStatus st = sample_status(true);
    st.counters[SIPALG_CTR_DLG_CREATED] = 5;
    st.counters[SIPALG_CTR_DLG_LIMIT_TOTAL] = 1;
    const std::string j = render_json(st);
    EXPECT_NE(j.find("\"dlg_created\":5,\"dlg_ended\":0,\"dlg_timeout\":0,\"dlg_limit_phone\":0,"
                     "\"dlg_limit_total\":1"),
              std::string::npos)
            << j;
    const std::string h = render_human(st);
    EXPECT_NE(h.find("dlg_limit_phone"), std::string::npos);
    EXPECT_NE(h.find("dialogs refused: per-phone limit reached"), std::string::npos);
}

// tests/loader/admin_op.py packs struct sipalg_admin by hand for the loader test; it must change
// with the layout.
TEST(AdminLayout, MatchesTheLoaderTestHelper) {
    EXPECT_EQ(offsetof(sipalg_admin, ports), 28u);
    EXPECT_EQ(offsetof(sipalg_admin, ips), 44u);
    EXPECT_EQ(offsetof(sipalg_admin, dm), 80u);
    EXPECT_EQ(sizeof(sipalg_admin), 160u);
    EXPECT_EQ(offsetof(sipalg_dialog_msg, line_port), 16u);
    EXPECT_EQ(offsetof(sipalg_dialog_msg, callid), 56u);
    EXPECT_EQ(offsetof(sipalg_dialog_msg, cseq), 72u);
    EXPECT_EQ(sizeof(sipalg_dialog_msg), 80u);
}
