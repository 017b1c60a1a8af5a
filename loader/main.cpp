// sipalg: command-line wiring only. Each verb is a thin call into instance/status code; every
// failure surfaces as a UserError and becomes one "sipalg: ..." line on stderr.
#include "error.hpp"
#include "instance.hpp"
#include "logging.hpp"
#include "pin_paths.hpp"
#include "preflight.hpp"
#include "sipalg_version.hpp"
#include "status.hpp"
#include "status_render.hpp"

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
};

Target target_of(const Options &o) {
    Target t;
    t.ifname = o.wan;
    if (!o.pin_root.empty())
        t.pin_root = o.pin_root;
    return t;
}

int cmd_load(const Options &o) {
    const LoadReport r = load_instance(target_of(o));
    std::cout << "loaded on " << o.wan << ": xdp " SIPALG_PROG_XDP " id " << r.xdp_id;
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
    std::cout << ", tc " SIPALG_PROG_TC " id " << r.tc_id << " (clsact egress), pins in "
              << r.pin_dir << "; ALG: disabled until `sipalg enable --wan " << o.wan << "`\n";
    return 0;
}

int cmd_unload(const Options &o) {
    const UnloadReport r = unload_instance(target_of(o));
    std::cout << "unloaded from " << o.wan << ": ";
    if (r.interface_gone)
        std::cout << "interface gone, programs went with it";
    else
        std::cout << "xdp " << (r.xdp_detached ? "detached" : "was not attached") << ", tc "
                  << (r.tc_detached ? "detached" : "was not attached");
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
            "load", "Attach XDP (WAN ingress, via libxdp) and tc (WAN egress); ALG disabled");
    add_wan(load, true);
    load->callback([&] { rc = cmd_load(o); });

    auto *unload = app.add_subcommand("unload", "Detach both programs and remove the pins");
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
