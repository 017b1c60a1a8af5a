#include "instance/load_plan.hpp"

#include "attach/netif.hpp"
#include "cli/error.hpp"
#include "instance/failover_settings.hpp"

namespace sipalg {

LoadFacts read_load_facts() {
    return {read_net_view(), find_ifindex};
}

LoadPlan plan_load(const std::string &wan, const AlgSettings &settings, const LoadFacts &facts) {
    LoadPlan p;
    p.wan = wan;
    p.wan_ifindex = require_ifindex(wan, facts.ifindex_of);
    p.follow_wan_address = settings.public_ip.empty();
    if (p.follow_wan_address) {
        p.public_ip = decide_public_ip(wan, facts.view);
    } else {
        const auto ip = parse_ipv4(settings.public_ip);
        if (!ip)
            throw UserError("--public-ip '" + settings.public_ip +
                            "' is not an IPv4 address; e.g. --public-ip 203.0.113.1");
        p.public_ip = *ip;
    }
    const LanSide lan =
            decide_lan(wan, settings.lan_ifaces, parse_prefixes(settings.lan_prefixes), facts.view);
    p.lan_prefixes = lan.prefixes;
    for (const auto &name : lan.ifaces)
        p.lan.push_back({name, require_ifindex(name, facts.ifindex_of)});
    p.lan_xdp = settings.lan_xdp;
    p.cfg = make_config(settings, p.public_ip, p.wan_ifindex, p.lan_prefixes);
    p.limits = make_limits(settings);
    require_failover_on_lan(p.limits, p.lan_prefixes);
    return p;
}

} // namespace sipalg
