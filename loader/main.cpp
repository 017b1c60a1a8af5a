// sipalg: command-line wiring only. Each verb is a thin call into instance/status code; every
// failure surfaces as a UserError and becomes one "sipalg: ..." line on stderr.
#include "slow/daemon.hpp"
#include "instance/discover.hpp"
#include "state/entries.hpp"
#include "cli/error.hpp"
#include "instance/instance.hpp"
#include "cli/logging.hpp"
#include "instance/pin_paths.hpp"
#include "instance/preflight.hpp"
#include "sipalg_version.hpp"
#include "state/status.hpp"
#include "cli/status_render.hpp"

#include <CLI/CLI.hpp>

#include <cstdio>
#include <iostream>
#include <string>

namespace {

using namespace sipalg;

struct Options {
    bool verbose = false;
    bool json = false;
    std::string wan;
    std::string pin_root;
    AlgSettings settings;     // load
    std::string private_ep;   // pinholes add/del, bindings del
    std::string remote_ep;    // pinholes add
    unsigned public_port = 0; // pinholes add
    slow::DaemonOptions daemon;
};

Target target_of(const Options &o) {
    Target t;
    t.ifname = o.wan;
    if (!o.pin_root.empty())
        t.pin_root = o.pin_root;
    return t;
}

// Listings may omit --wan when exactly one instance is loaded in this namespace.
Target listing_target(const Options &o) {
    Target t = target_of(o);
    if (!t.ifname.empty())
        return t;
    require_privileges();
    const std::string root = resolve_pin_root(t.pin_root);
    require_bpffs(root);
    const auto names = list_instances(root);
    if (names.size() != 1)
        throw UserError(names.empty() ? "no sipalg instance loaded in this network namespace; run: "
                                        "sipalg load --wan IF"
                                      : "several instances are loaded; give --wan IF");
    t.ifname = names.front();
    return t;
}

int cmd_load(const Options &o) {
    const LoadReport r = load_instance(target_of(o), o.settings);
    std::cout << "loaded on " << o.wan << ": xdp " SIPALG_PROG_WAN_XDP " id " << r.xdp_id;
    if (r.multiprog)
        std::cout << " (native, via libxdp dispatcher)";
    else if (!r.fallback_reason.empty())
        std::cout << " (native, attached directly because libxdp failed: " << r.fallback_reason
                  << "; other XDP programs cannot share " << o.wan << ")";
    else
        // libxdp itself fell back to a plain attach (its dispatcher needs freplace programs,
        // which some kernels or sandboxes refuse).
        std::cout << " (native; libxdp's multiprog dispatcher is unavailable, so it is the only "
                     "XDP program "
                  << o.wan << " can run)";
    std::cout << ", tc " SIPALG_PROG_WAN_EGRESS " id " << r.tc_id
              << " (clsact egress), " SIPALG_PROG_WAN_INGRESS " id " << r.wan_in_id
              << " (clsact ingress); LAN";
    for (const auto &[name, id] : r.lan)
        std::cout << " " << name << " (" SIPALG_PROG_LAN_INGRESS " id " << id << ")";
    std::cout << "; LAN port XDP " SIPALG_PROG_LAN_PORT_XDP ":";
    for (const auto &p : r.lan_xdp)
        std::cout << " " << p.port << " (id " << p.id
                  << (p.xdp_xmit ? ", media both ways in XDP)" : ", outbound media in XDP)");
    if (r.lan_xdp.empty())
        std::cout << " not attached (" << r.lan_xdp_off << ")";
    for (const auto &why : r.lan_xdp_skipped)
        std::cout << "; not on " << why;
    std::cout << "; public " << format_ipv4(r.public_ip) << ", LAN prefixes";
    for (const auto &p : r.lan_prefixes)
        std::cout << " " << format_prefix(p);
    std::cout << "; pins in " << r.pin_dir << "; ALG: disabled until `sipalg enable --wan " << o.wan
              << "`\n";
    return 0;
}

int cmd_unload(const Options &o) {
    const UnloadReport r = unload_instance(target_of(o));
    std::cout << "unloaded from " << o.wan << ": ";
    if (r.interface_gone)
        std::cout << "interface gone, programs went with it";
    else
        std::cout << "xdp " << (r.xdp_detached ? "detached" : "was not attached") << ", tc "
                  << (r.tc_detached ? "detached" : "was not attached") << ", wan ingress "
                  << (r.wan_in_detached ? "detached" : "was not attached");
    std::cout << ", LAN hooks detached:";
    if (r.lan_detached.empty())
        std::cout << " none";
    for (const auto &name : r.lan_detached)
        std::cout << " " << name;
    for (const auto &name : r.lan_xdp_detached)
        std::cout << " " << name << " (xdp)";
    if (!r.steering_removed.empty())
        std::cout << ", removed what a killed daemon left (" << r.steering_removed << ")";
    std::cout << ", removed " << r.pin_dir << "\n";
    return 0;
}

int cmd_set_enabled(const Options &o, bool enabled) {
    set_enabled(target_of(o), enabled);
    std::cout << o.wan << ": ALG: " << (enabled ? "enabled" : "disabled") << "\n";
    return 0;
}

int cmd_status(const Options &o) {
    require_privileges();
    const std::string root = resolve_pin_root(
            o.pin_root.empty() ? std::nullopt : std::optional<std::string>(o.pin_root));
    require_bpffs(root);

    std::vector<InstanceStatus> all;
    if (!o.wan.empty()) {
        all.push_back(query_instance(root, o.wan));
    } else {
        for (const auto &name : list_instances(root))
            all.push_back(query_instance(root, name));
    }

    if (o.json) {
        // --wan gives one object; the listing gives an array (possibly empty).
        std::cout << (o.wan.empty() ? render_json(all) : render_json(all.front())) << "\n";
    } else if (all.empty()) {
        std::cout << "no sipalg instance loaded in this network namespace (pin root " << root
                  << ")\n";
    } else {
        for (size_t i = 0; i < all.size(); ++i)
            std::cout << (i ? "\n" : "") << render_human(all[i]);
    }

    for (const auto &st : all) {
        if (!st.healthy()) {
            std::cerr << "sipalg: " << st.ifname
                      << " is not fully attached: " << st.problems.front() << "\n";
            return 1;
        }
    }
    return 0;
}

int cmd_bindings(const Options &o) {
    const EntryList l = list_bindings(listing_target(o));
    std::cout << (o.json ? render_bindings_json(l) + "\n" : render_bindings_human(l));
    return 0;
}

int cmd_pinholes(const Options &o) {
    const EntryList l = list_pinholes(listing_target(o));
    std::cout << (o.json ? render_pinholes_json(l) + "\n" : render_pinholes_human(l));
    return 0;
}

int cmd_dialogs(const Options &o) {
    const DialogList l = list_dialogs(listing_target(o));
    std::cout << (o.json ? render_dialogs_json(l) + "\n" : render_dialogs_human(l));
    return 0;
}

int cmd_pinhole_add(const Options &o) {
    const Target t = listing_target(o);
    const Endpoint priv = parse_endpoint(o.private_ep, "--private");
    const Endpoint remote =
            o.remote_ep.empty() ? Endpoint{} : parse_endpoint(o.remote_ep, "--remote", true);
    if (o.public_port > 65535)
        throw UserError("--public-port " + std::to_string(o.public_port) +
                        " is out of range; use 1-65535");
    const std::uint16_t port =
            add_pinhole(t, priv, remote, static_cast<std::uint16_t>(o.public_port));
    std::cout << t.ifname << ": pinhole " << o.private_ep << " <-> public port " << port
              << (remote.ip ? ", only from " + o.remote_ep : ", closed until its remote is known")
              << "\n";
    return 0;
}

int cmd_pinhole_del(const Options &o) {
    const Target t = listing_target(o);
    delete_pinhole(t, parse_endpoint(o.private_ep, "--private"));
    std::cout << t.ifname << ": pinhole " << o.private_ep << " deleted\n";
    return 0;
}

int cmd_binding_del(const Options &o) {
    const Target t = listing_target(o);
    delete_binding(t, parse_endpoint(o.private_ep, "--private"));
    std::cout << t.ifname << ": binding " << o.private_ep << " deleted\n";
    return 0;
}

} // namespace

int main(int argc, char **argv) {
    CLI::App app{"sipalg " SIPALG_VERSION " - eBPF/XDP SIP ALG for Linux routers.\n"
                 "Disabled by default: load attaches it, enable turns it on.",
                 "sipalg"};
    app.set_version_flag("--version", std::string("sipalg ") + SIPALG_VERSION);
    app.require_subcommand(1);
    app.fallthrough(); // global options (-v, --pin-root) also work after the verb

    Options o;
    app.add_flag("-v,--verbose", o.verbose, "Show libbpf/libxdp diagnostics (verifier log...)");
    app.add_option("--pin-root", o.pin_root,
                   "bpffs directory holding per-interface pin dirs (default /sys/fs/bpf/sipalg, "
                   "or .../netns-<inode> outside the initial network namespace)");

    int rc = 0;
    auto add_wan = [&o](CLI::App *sub, bool required) {
        auto *opt = sub->add_option("--wan", o.wan, "WAN interface");
        if (required)
            opt->required();
    };

    auto *load = app.add_subcommand(
            "load", "Attach XDP + tc on the WAN and tc on the LAN interface(s); ALG disabled");
    add_wan(load, true);
    AlgSettings &a = o.settings;
    load->add_option("--lan", a.lan_ifaces,
                     "LAN interface (repeatable; default: from --lan-prefix routes, else every "
                     "interface with a private IPv4 address)");
    load->add_option("--lan-prefix", a.lan_prefixes,
                     "LAN prefix A.B.C.D/LEN (repeatable, at most 4; default: from the LAN "
                     "interfaces' addresses and routes)");
    load->add_option("--public-ip", a.public_ip, "public IPv4 address (default: the WAN's)");
    load->add_option("--sip-port", a.sip_ports, "UDP port of SIP (repeatable, default 5060)");
    load->add_option("--port-range", a.port_range, "public ports the ALG may allocate")
            ->capture_default_str();
    load->add_option("--binding-lifetime", a.binding_lifetime_s,
                     "seconds a binding made by SIP other than REGISTER lives")
            ->capture_default_str();
    load->add_option("--register-lifetime", a.register_lifetime_s,
                     "seconds a REGISTER binding lives until the registrar's answer says")
            ->capture_default_str();
    load->add_option("--pinhole-idle", a.pinhole_idle_s,
                     "seconds without media after which a pinhole closes")
            ->capture_default_str();
    load->add_option("--max-pinholes-per-phone", a.max_pinholes_per_phone,
                     "pinholes one phone (private address) may hold")
            ->capture_default_str();
    load->add_option("--max-pinholes", a.max_pinholes, "pinholes in total")->capture_default_str();
    load->add_option("--dialog-idle", a.dialog_idle_s,
                     "seconds without SIP and without media after which a dialog (call) ends "
                     "and closes its pinholes (10-86400; keep it above a minute: a call that "
                     "is ringing has no media, and the called side may go a minute between "
                     "provisional answers)")
            ->capture_default_str();
    load->add_option("--max-dialogs-per-phone", a.max_dialogs_per_phone,
                     "calls one phone (private address) may have at once; a call over the "
                     "limit gets no pinholes (counted as dlg_limit_phone)")
            ->capture_default_str();
    load->add_option("--max-dialogs", a.max_dialogs,
                     "calls in total (at most " + std::to_string(SIPALG_DIALOGS_ENTRIES) +
                             "); a call over the limit gets no pinholes (dlg_limit_total)")
            ->capture_default_str();
    load->add_option("--trusted-peer", a.trusted_peers,
                     "Internet prefix A.B.C.D/LEN whose requests (INVITE, NOTIFY, ...) may reach "
                     "any phone (repeatable, at most 4). By default a phone gets requests only "
                     "from the registrars that accepted its REGISTER, and within its calls: a "
                     "hosted service that calls from other addresses than its registrar needs "
                     "its prefixes here");
    load->add_flag("--any-peer", a.any_peer,
                   "Let requests to a phone's binding in from anyone (off: only from its "
                   "registrars, its calls and --trusted-peer; SIP scanners then ring no phone)");
    load->add_option("--register-rate", a.register_rate,
                     "REGISTERs per second one address may send through the ALG, each way "
                     "(bursts of " +
                             std::to_string(SIPALG_RATE_BURST_S) +
                             " seconds' worth; more are dropped and counted as "
                             "rate_register; 0: no limit)")
            ->capture_default_str();
    load->add_option("--invite-rate", a.invite_rate,
                     "INVITEs per second one address may send through the ALG, each way "
                     "(rate_invite; 0: no limit)")
            ->capture_default_str();
    load->add_option("--max-bindings-per-phone", a.max_bindings_per_phone,
                     "SIP sockets one LAN host may have bindings for; more get no binding and "
                     "pass untouched (bind_limit_phone; 0: no limit)")
            ->capture_default_str();
    load->add_flag(
            "--no-lan-xdp", [&a](std::int64_t) { a.lan_xdp = false; },
            "Never attach the LAN port XDP program. By default it goes on every port of "
            "the LAN bridge (or the LAN interface) when the WAN accepts XDP frames, so "
            "established media skips the bridge and the stack both ways");
    load->callback([&] { rc = cmd_load(o); });

    auto *daemon = app.add_subcommand(
            "daemon",
            "Run the userspace slow path: finish the SIP messages the kernel hands up (IP "
            "fragments, messages over the in-kernel limits) until SIGINT/SIGTERM. While it is "
            "not running those pass untouched and are counted as slow_path_needed");
    add_wan(daemon, true);
    daemon->add_option("--mark", o.daemon.mark,
                       "skb mark for packets handed to the daemon (default 0x51a1; must not "
                       "collide with other marks on this router)");
    daemon->add_option("--route-table", o.daemon.route_table,
                       "policy-routing table that delivers marked packets locally (default 1306)");
    daemon->add_option("--listen-port", o.daemon.listen_port,
                       "UDP port of the daemon's transparent socket on 127.0.0.1 (default 5097)");
    // SIP over TCP goes through the daemon's proxy: what one peer may hold of it.
    slow::TcpLimits &tl = o.daemon.tcp;
    std::uint32_t tcp_idle_s = static_cast<std::uint32_t>(tl.idle.count());
    std::uint32_t tcp_handshake_s = static_cast<std::uint32_t>(tl.handshake.count());
    daemon->add_option("--tcp-max-conns", tl.max_conns,
                       "proxied SIP-over-TCP connections in total; more are reset and counted "
                       "(tcp_limit_total)")
            ->capture_default_str();
    daemon->add_option("--tcp-max-conns-per-source", tl.max_conns_per_source,
                       "proxied connections one source address (a phone, or a registrar "
                       "connecting to a phone) may hold; more are reset (tcp_limit_source)")
            ->capture_default_str();
    daemon->add_option("--tcp-idle", tcp_idle_s,
                       "seconds without a whole message or keepalive either way after which a "
                       "proxied connection is closed (tcp_timeout_idle); RFC 5382 asks for at "
                       "least 7440")
            ->capture_default_str();
    daemon->add_option("--tcp-handshake-timeout", tcp_handshake_s,
                       "seconds the far side may take to connect (tcp_timeout_connect), and a "
                       "connection to send its first message or finish any message it began "
                       "(tcp_timeout_msg: a peer trickling bytes, slowloris)")
            ->capture_default_str();
    daemon->add_option("--tcp-buffer", tl.buffer,
                       "bytes held per direction of a proxied connection (an incomplete message "
                       "plus what waits for a peer that does not read); over it the connection "
                       "is closed (tcp_overflow). At least 4096; messages larger than it "
                       "cannot pass")
            ->capture_default_str();
    daemon->callback([&] {
        o.daemon.target = target_of(o);
        o.daemon.verbose = o.verbose;
        if (!o.daemon.mark)
            throw UserError("--mark must not be 0");
        if (!tl.max_conns || !tl.max_conns_per_source)
            throw UserError("--tcp-max-conns and --tcp-max-conns-per-source must be at least 1");
        if (tl.max_conns > 65536)
            throw UserError("--tcp-max-conns is at most 65536 (two descriptors each)");
        if (!tcp_idle_s || !tcp_handshake_s || tcp_handshake_s > 3600)
            throw UserError("--tcp-idle must be at least 1 and --tcp-handshake-timeout 1-3600");
        if (tl.buffer < 4096 || tl.buffer > (16u << 20))
            throw UserError("--tcp-buffer must be 4096-16777216");
        tl.idle = std::chrono::seconds(tcp_idle_s);
        tl.handshake = std::chrono::seconds(tcp_handshake_s);
        rc = slow::run_daemon(o.daemon);
    });

    auto *unload = app.add_subcommand("unload", "Detach every program and remove the pins");
    add_wan(unload, true);
    unload->callback([&] { rc = cmd_unload(o); });

    auto *enable = app.add_subcommand("enable", "Turn the ALG on (no reload)");
    add_wan(enable, true);
    enable->callback([&] { rc = cmd_set_enabled(o, true); });

    auto *disable = app.add_subcommand("disable", "Turn the ALG off (no reload)");
    add_wan(disable, true);
    disable->callback([&] { rc = cmd_set_enabled(o, false); });

    auto *status = app.add_subcommand("status", "Show state, attached programs and counters");
    add_wan(status, false);
    status->add_flag("-j,--json", o.json, "JSON output");
    status->callback([&] { rc = cmd_status(o); });

    auto *bindings = app.add_subcommand("bindings", "List bindings (phone SIP sockets)");
    bindings->fallthrough();
    add_wan(bindings, false);
    bindings->add_flag("-j,--json", o.json, "JSON output");
    auto *binding_del = bindings->add_subcommand("del", "Delete the binding of a phone socket");
    binding_del->add_option("--private", o.private_ep, "the phone's SIP socket A.B.C.D:PORT")
            ->required();
    binding_del->callback([&] { rc = cmd_binding_del(o); });
    bindings->callback([&] {
        if (!bindings->got_subcommand(binding_del))
            rc = cmd_bindings(o);
    });

    auto *pinholes = app.add_subcommand("pinholes", "List media pinholes");
    pinholes->fallthrough();
    add_wan(pinholes, false);
    pinholes->add_flag("-j,--json", o.json, "JSON output");
    auto *pin_add = pinholes->add_subcommand("add", "Open a pinhole by hand (tests, debugging)");
    pin_add->add_option("--private", o.private_ep, "the phone's media socket A.B.C.D:PORT")
            ->required();
    pin_add->add_option("--remote", o.remote_ep,
                        "the only source let in, A.B.C.D[:PORT] (no port: any port of it; "
                        "omitted: nothing gets in yet)");
    pin_add->add_option("--public-port", o.public_port,
                        "public port wanted (default: the private port if free, else any)");
    pin_add->callback([&] { rc = cmd_pinhole_add(o); });
    auto *pin_del = pinholes->add_subcommand("del", "Close a pinhole");
    pin_del->add_option("--private", o.private_ep, "the phone's media socket A.B.C.D:PORT")
            ->required();
    pin_del->callback([&] { rc = cmd_pinhole_del(o); });
    pinholes->callback([&] {
        if (!pinholes->got_subcommand(pin_add) && !pinholes->got_subcommand(pin_del))
            rc = cmd_pinholes(o);
    });

    auto *dialogs = app.add_subcommand(
            "dialogs", "List calls (dialogs) and the pinholes their offer/answer exchanges opened");
    add_wan(dialogs, false);
    dialogs->add_flag("-j,--json", o.json, "JSON output");
    dialogs->callback([&] { rc = cmd_dialogs(o); });

    // Logging must be set before any libbpf call, i.e. before the verb callbacks run.
    app.parse_complete_callback([&] { setup_library_logging(o.verbose); });

    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp &e) {
        return app.exit(e);
    } catch (const CLI::CallForAllHelp &e) {
        return app.exit(e);
    } catch (const CLI::CallForVersion &e) {
        return app.exit(e);
    } catch (const CLI::ParseError &e) {
        // CLI11's own report spans several lines; keep the one-line contract.
        std::cerr << "sipalg: " << e.what() << "; see: sipalg --help\n";
        return 2;
    } catch (const UserError &e) {
        std::cerr << "sipalg: " << e.what() << "\n";
        return 1;
    } catch (const std::exception &e) {
        std::cerr << "sipalg: unexpected error: " << e.what() << "; run with -v and report it\n";
        return 1;
    }
    return rc;
}
