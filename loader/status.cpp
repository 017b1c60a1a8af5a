#include "status.hpp"

#include "error.hpp"
#include "netif.hpp"
#include "pin_paths.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <filesystem>

namespace sipalg {

InstanceStatus query_instance(const std::string &root, const std::string &ifname) {
    InstanceStatus st;
    st.ifname = ifname;
    st.pin_dir = instance_dir(root, ifname);
    struct stat sb {};
    if (!valid_ifname(ifname) || ::stat(st.pin_dir.c_str(), &sb) != 0)
        throw UserError("sipalg is not loaded on " + ifname + " (no " + st.pin_dir +
                        "); run: sipalg load --wan " + ifname);

    const std::string reload =
            "; fix: sipalg unload --wan " + ifname + " && sipalg load --wan " + ifname;
    try {
        const InstanceMaps maps = InstanceMaps::open(st.pin_dir, ifname);
        st.enabled = maps.read_config().enabled != 0;
        st.counters = maps.read_counters();
    } catch (const UserError &e) {
        st.problems.push_back(std::string("maps unreadable: ") + e.what());
    }

    st.ifindex = find_ifindex(ifname);
    if (st.ifindex == 0) {
        st.problems.push_back("interface " + ifname +
                              " no longer exists; fix: sipalg unload --wan " + ifname);
        return st;
    }
    const std::uint32_t xdp_pinned = pinned_prog_id(pin_file(st.pin_dir, SIPALG_PIN_PROG_XDP));
    st.xdp = query_xdp(st.ifindex, xdp_pinned);
    if (!st.xdp.attached)
        st.problems.push_back("XDP program " SIPALG_PROG_XDP " is not attached to " + ifname +
                              reload);
    st.tc = query_tc(st.ifindex);
    if (!st.tc.attached)
        st.problems.push_back("tc program " SIPALG_PROG_TC " is not attached to " + ifname +
                              " egress" + reload);
    return st;
}

std::vector<std::string> list_instances(const std::string &root) {
    std::vector<std::string> names;
    std::error_code ec;
    for (const auto &entry : std::filesystem::directory_iterator(root, ec)) {
        std::error_code ec2;
        if (entry.is_directory(ec2) &&
            std::filesystem::exists(entry.path() / SIPALG_MAP_CONFIG, ec2))
            names.push_back(entry.path().filename().string());
    }
    std::sort(names.begin(), names.end());
    return names;
}

} // namespace sipalg
