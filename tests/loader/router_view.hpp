// The e2e router's addresses and routes as discovery reads them, for the loader's host tests.
#pragma once

#include "instance/discover.hpp"

#include <sstream>

namespace sipalg {

inline NetView router_view() {
    // The e2e router: br-lan 192.168.10.1/24, wan0 203.0.113.1/24, bridge ports without
    // addresses, a second LAN subnet routed through br-lan.
    NetView v;
    v.addrs = {{"lo", 0x7f000001, 8, true, true},
               {"br-lan", 0xc0a80a01, 24, true, false},
               {"wan0", 0xcb007101, 24, true, false}};
    std::istringstream routes(
            "Iface\tDestination\tGateway\tFlags\tRefCnt\tUse\tMetric\tMask\tMTU\tWindow\tIRTT\n"
            "wan0\t00000000\t027100CB\t0003\t0\t0\t0\t00000000\t0\t0\t0\n"
            "wan0\t007100CB\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n"
            "br-lan\t000AA8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n"
            "br-lan\t0014A8C0\t FE0AA8C0\t0003\t0\t0\t0\t00FFFFFF\t0\t0\t0\n");
    v.routes = parse_proc_net_route(routes);
    return v;
}

} // namespace sipalg
