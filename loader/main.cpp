// sipalg: command-line wiring only. Each verb has its own options (cli/*_options) and its own
// renderers (cli/*_render); the work is in instance/, state/ and slow/. Every failure surfaces as
// a UserError and becomes one "sipalg: ..." line on stderr.
#include "cli/daemon_options.hpp"
#include "cli/error.hpp"
#include "cli/load_options.hpp"
#include "cli/logging.hpp"
#include "cli/status_render.hpp"
#include "cli/verb_render.hpp"
#include "instance/discover.hpp"
#include "instance/instance.hpp"
#include "instance/pin_paths.hpp"
#include "instance/preflight.hpp"
#include "sipalg_version.hpp"
#include "state/entries.hpp"
#include "state/status.hpp"

#include <CLI/CLI.hpp>

#include <cstdio>
#include <iostream>
#include <string>

namespace {

using namespace sipalg;

// Options every verb takes (before or after the verb).
struct GlobalOptions {
    bool verbose = false;
    std::string pin_root;
};

// The instance a verb acts on, and how it reports.
struct VerbOptions {
    std::string wan;
    bool json = false;
};

struct LoadOptions : VerbOptions {
    AlgSettings settings;
};

struct PinholeAddOptions {
    std::string private_ep;
    std::string remote_ep;
    unsigned public_port = 0;
};

GlobalOptions g;

Target target_of(const std::string &wan) {
    Target t;
    t.ifname = wan;
    if (!g.pin_root.empty())
        t.pin_root = g.pin_root;
    return t;
}

// Listings may omit --wan when exactly one instance is loaded in this namespace.
Target listing_target(const std::string &wan) {
    Target t = target_of(wan);
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

int cmd_load(const LoadOptions &o) {
    const LoadReport r = load_instance(target_of(o.wan), o.settings);
    std::cout << (o.json ? render_load_json(o.wan, r) : render_load_human(o.wan, r));
    return 0;
}

int cmd_unload(const VerbOptions &o) {
    const UnloadReport r = unload_instance(target_of(o.wan));
    std::cout << (o.json ? render_unload_json(o.wan, r) : render_unload_human(o.wan, r));
    return 0;
}

int cmd_set_enabled(const VerbOptions &o, bool enabled) {
    set_enabled(target_of(o.wan), enabled);
    std::cout << (o.json ? render_enabled_json(o.wan, enabled)
                         : render_enabled_human(o.wan, enabled));
    return 0;
}

struct PolicyOptions : VerbOptions {
    std::string name;  // empty: list
    std::string state; // on|off
};

int cmd_policy(const PolicyOptions &o) {
    if (o.name.empty()) {
        const Target t = listing_target(o.wan);
        const std::uint32_t flags = read_policies(t);
        std::cout << (o.json ? render_policies_json(t.ifname, flags)
                             : render_policies_human(t.ifname, flags));
        return 0;
    }
    if (o.state != "on" && o.state != "off")
        throw UserError("sipalg policy " + o.name + " needs on or off, e.g. sipalg policy " +
                        o.name + " on");
    const Target t = listing_target(o.wan);
    const std::uint32_t flags = set_policy(t, o.name, o.state == "on");
    std::cout << (o.json ? render_policies_json(t.ifname, flags)
                         : t.ifname + ": policy " + o.name + " " + o.state + "\n");
    return 0;
}

int cmd_status(const VerbOptions &o) {
    require_privileges();
    const std::string root = resolve_pin_root(
            g.pin_root.empty() ? std::nullopt : std::optional<std::string>(g.pin_root));
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

int cmd_bindings(const VerbOptions &o) {
    const EntryList l = list_bindings(listing_target(o.wan));
    std::cout << (o.json ? render_bindings_json(l) + "\n" : render_bindings_human(l));
    return 0;
}

int cmd_pinholes(const VerbOptions &o) {
    const EntryList l = list_pinholes(listing_target(o.wan));
    std::cout << (o.json ? render_pinholes_json(l) + "\n" : render_pinholes_human(l));
    return 0;
}

int cmd_dialogs(const VerbOptions &o) {
    const DialogList l = list_dialogs(listing_target(o.wan));
    std::cout << (o.json ? render_dialogs_json(l) + "\n" : render_dialogs_human(l));
    return 0;
}

int cmd_pinhole_add(const VerbOptions &list, const PinholeAddOptions &o) {
    const Target t = listing_target(list.wan);
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

int cmd_pinhole_del(const VerbOptions &list, const std::string &private_ep) {
    const Target t = listing_target(list.wan);
    delete_pinhole(t, parse_endpoint(private_ep, "--private"));
    std::cout << t.ifname << ": pinhole " << private_ep << " deleted\n";
    return 0;
}

int cmd_binding_del(const VerbOptions &list, const std::string &private_ep) {
    const Target t = listing_target(list.wan);
    delete_binding(t, parse_endpoint(private_ep, "--private"));
    std::cout << t.ifname << ": binding " << private_ep << " deleted\n";
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

    app.add_flag("-v,--verbose", g.verbose, "Show libbpf/libxdp diagnostics (verifier log...)");
    app.add_option("--pin-root", g.pin_root,
                   "bpffs directory holding per-interface pin dirs (default /sys/fs/bpf/sipalg, "
                   "or .../netns-<inode> outside the initial network namespace)");

    int rc = 0;
    // A verb that acts on one instance: --wan (required where the verb changes it) and -j.
    auto add_verb = [&app](const char *name, const std::string &help, VerbOptions &o,
                           bool wan_required) {
        CLI::App *sub = app.add_subcommand(name, help);
        auto *wan = sub->add_option("--wan", o.wan, "WAN interface");
        if (wan_required)
            wan->required();
        sub->add_flag("-j,--json", o.json, "JSON output");
        return sub;
    };
    auto add_socket = [](CLI::App *sub, std::string &ep, const char *what) {
        sub->add_option("--private", ep, what)->required();
    };

    LoadOptions load_o;
    auto *load = add_verb("load",
                          "Attach XDP + tc on the WAN and tc on the LAN interface(s); ALG disabled",
                          load_o, true);
    add_load_options(*load, load_o.settings);
    load->callback([&] { rc = cmd_load(load_o); });

    DaemonCliOptions daemon_o;
    std::string daemon_wan;
    auto *daemon = app.add_subcommand(
            "daemon",
            "Run the userspace slow path: finish the SIP messages the kernel hands up (IP "
            "fragments, messages over the in-kernel limits) until SIGINT/SIGTERM. While it is "
            "not running those pass untouched and are counted as slow_path_needed");
    daemon->add_option("--wan", daemon_wan, "WAN interface")->required();
    add_daemon_options(*daemon, daemon_o);
    daemon->callback([&] {
        daemon_o.daemon.target = target_of(daemon_wan);
        daemon_o.daemon.verbose = g.verbose;
        finish_daemon_options(daemon_o);
        rc = slow::run_daemon(daemon_o.daemon);
    });

    VerbOptions unload_o;
    add_verb("unload", "Detach every program and remove the pins", unload_o, true)->callback([&] {
        rc = cmd_unload(unload_o);
    });

    VerbOptions enable_o, disable_o;
    add_verb("enable", "Turn the ALG on (no reload)", enable_o, true)->callback([&] {
        rc = cmd_set_enabled(enable_o, true);
    });
    add_verb("disable", "Turn the ALG off (no reload)", disable_o, true)->callback([&] {
        rc = cmd_set_enabled(disable_o, false);
    });

    PolicyOptions policy_o;
    auto *policy = add_verb("policy",
                            "List the optional behaviours (local media, ...) or switch one: "
                            "sipalg policy NAME on|off (no reload)",
                            policy_o, false);
    policy->add_option("name", policy_o.name, "the policy to switch (omit to list them)");
    policy->add_option("state", policy_o.state, "on or off");
    policy->callback([&] { rc = cmd_policy(policy_o); });

    VerbOptions status_o;
    add_verb("status", "Show state, attached programs and counters", status_o, false)
            ->callback([&] { rc = cmd_status(status_o); });

    VerbOptions bindings_o;
    std::string binding_del_ep;
    auto *bindings = add_verb("bindings", "List bindings (phone SIP sockets)", bindings_o, false);
    bindings->fallthrough();
    auto *binding_del = bindings->add_subcommand("del", "Delete the binding of a phone socket");
    add_socket(binding_del, binding_del_ep, "the phone's SIP socket A.B.C.D:PORT");
    binding_del->callback([&] { rc = cmd_binding_del(bindings_o, binding_del_ep); });
    bindings->callback([&] {
        if (!bindings->got_subcommand(binding_del))
            rc = cmd_bindings(bindings_o);
    });

    VerbOptions pinholes_o;
    PinholeAddOptions pin_add_o;
    std::string pin_del_ep;
    auto *pinholes = add_verb("pinholes", "List media pinholes", pinholes_o, false);
    pinholes->fallthrough();
    auto *pin_add = pinholes->add_subcommand("add", "Open a pinhole by hand (tests, debugging)");
    add_socket(pin_add, pin_add_o.private_ep, "the phone's media socket A.B.C.D:PORT");
    pin_add->add_option("--remote", pin_add_o.remote_ep,
                        "the only source let in, A.B.C.D[:PORT] (no port: any port of it; "
                        "omitted: nothing gets in yet)");
    pin_add->add_option("--public-port", pin_add_o.public_port,
                        "public port wanted (default: the private port if free, else any)");
    pin_add->callback([&] { rc = cmd_pinhole_add(pinholes_o, pin_add_o); });
    auto *pin_del = pinholes->add_subcommand("del", "Close a pinhole");
    add_socket(pin_del, pin_del_ep, "the phone's media socket A.B.C.D:PORT");
    pin_del->callback([&] { rc = cmd_pinhole_del(pinholes_o, pin_del_ep); });
    pinholes->callback([&] {
        if (!pinholes->got_subcommand(pin_add) && !pinholes->got_subcommand(pin_del))
            rc = cmd_pinholes(pinholes_o);
    });

    VerbOptions dialogs_o;
    add_verb("dialogs", "List calls (dialogs) and the pinholes their offer/answer exchanges opened",
             dialogs_o, false)
            ->callback([&] { rc = cmd_dialogs(dialogs_o); });

    // Logging must be set before any libbpf call, i.e. before the verb callbacks run.
    app.parse_complete_callback([&] { setup_library_logging(g.verbose); });

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
