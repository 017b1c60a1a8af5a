#include "cli/load_options.hpp"

#include "instance/policy.hpp"
#include "sipalg_maps.h"

#include <string>

namespace sipalg {

void add_load_options(CLI::App &load, AlgSettings &a) {
    load.add_option("--lan", a.lan_ifaces,
                    "LAN interface (repeatable; default: from --lan-prefix routes, else every "
                    "interface with a private IPv4 address)");
    load.add_option("--lan-prefix", a.lan_prefixes,
                    "LAN prefix A.B.C.D/LEN (repeatable, at most 4; default: from the LAN "
                    "interfaces' addresses and routes)");
    load.add_option("--public-ip", a.public_ip, "public IPv4 address (default: the WAN's)");
    load.add_option("--sip-port", a.sip_ports, "UDP port of SIP (repeatable, default 5060)");
    load.add_option("--port-range", a.port_range, "public ports the ALG may allocate")
            ->capture_default_str();
    load.add_option("--binding-lifetime", a.binding_lifetime_s,
                    "seconds a binding made by SIP other than REGISTER lives")
            ->capture_default_str();
    load.add_option("--register-lifetime", a.register_lifetime_s,
                    "seconds a REGISTER binding lives until the registrar's answer says")
            ->capture_default_str();
    load.add_option("--pinhole-idle", a.pinhole_idle_s,
                    "seconds without media after which a pinhole closes")
            ->capture_default_str();
    load.add_option("--max-pinholes-per-phone", a.max_pinholes_per_phone,
                    "pinholes one phone (private address) may hold")
            ->capture_default_str();
    load.add_option("--max-pinholes", a.max_pinholes, "pinholes in total")->capture_default_str();
    load.add_option("--dialog-idle", a.dialog_idle_s,
                    "seconds without SIP and without media after which a dialog (call) ends "
                    "and closes its pinholes (10-86400; keep it above a minute: a call that "
                    "is ringing has no media, and the called side may go a minute between "
                    "provisional answers)")
            ->capture_default_str();
    load.add_option("--max-dialogs-per-phone", a.max_dialogs_per_phone,
                    "calls one phone (private address) may have at once; a call over the "
                    "limit gets no pinholes (counted as dlg_limit_phone)")
            ->capture_default_str();
    load.add_option("--max-dialogs", a.max_dialogs,
                    "calls in total (at most " + std::to_string(SIPALG_DIALOGS_ENTRIES) +
                            "); a call over the limit gets no pinholes (dlg_limit_total)")
            ->capture_default_str();
    load.add_option("--trusted-peer", a.trusted_peers,
                    "Internet prefix A.B.C.D/LEN whose requests (INVITE, NOTIFY, ...) may reach "
                    "any phone (repeatable, at most 4). By default a phone gets requests only "
                    "from the registrars that accepted its REGISTER, and within its calls: a "
                    "hosted service that calls from other addresses than its registrar needs "
                    "its prefixes here");
    load.add_flag("--any-peer", a.any_peer,
                  "Let requests to a phone's binding in from anyone (off: only from its "
                  "registrars, its calls and --trusted-peer; SIP scanners then ring no phone)");
    load.add_option("--register-rate", a.register_rate,
                    "REGISTERs per second one address may send through the ALG, each way "
                    "(bursts of " +
                            std::to_string(SIPALG_RATE_BURST_S) +
                            " seconds' worth; more are dropped and counted as "
                            "rate_register; 0: no limit)")
            ->capture_default_str();
    load.add_option("--invite-rate", a.invite_rate,
                    "INVITEs per second one address may send through the ALG, each way "
                    "(rate_invite; 0: no limit)")
            ->capture_default_str();
    load.add_option("--max-bindings-per-phone", a.max_bindings_per_phone,
                    "SIP sockets one LAN host may have bindings for; more get no binding and "
                    "pass untouched (bind_limit_phone; 0: no limit)")
            ->capture_default_str();
    load.add_option("--policy", a.policies, policy_option_help())->type_name("NAME=on|off");
    load.add_option("--failover-server", a.failover_server,
                    "the internal SIP server (IP[:PORT], port 5060 by default; on the LAN) the "
                    "failover policy sends the phones' REGISTERs and new calls to while the WAN "
                    "is down (link down, no route to the registrar, or --failover-after). The "
                    "policy is off by default: --policy failover=on, or `sipalg policy "
                    "failover on` at runtime; the daemon does the redirecting");
    load.add_option("--failover-after", a.failover_after_s,
                    "seconds the registrar may leave the phones' REGISTERs without a 2xx "
                    "before the WAN counts as down for the failover policy (5-3600; 0: only "
                    "link and routes count)")
            ->capture_default_str();
    load.add_flag(
            "--no-lan-xdp", [&a](std::int64_t) { a.lan_xdp = false; },
            "Never attach the LAN port XDP program. By default it goes on every port of "
            "the LAN bridge (or the LAN interface) when the WAN accepts XDP frames, so "
            "established media skips the bridge and the stack both ways");
}

} // namespace sipalg
