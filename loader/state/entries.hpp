// Bindings, pinholes and dialogs of an instance: listing them (`sipalg bindings`, `sipalg
// pinholes`, `sipalg dialogs`) and changing bindings and pinholes by hand (`sipalg pinholes
// add|del`, `sipalg bindings del`). Changes go through the instance's admin program, so they
// follow the fast path's own rules (port allocation, limits, counts).
#pragma once

#include "instance/instance.hpp"
#include "state/maps_io.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace sipalg {

struct Endpoint {
    std::uint32_t ip = 0; // host order
    std::uint16_t port = 0;
};

// "A.B.C.D:PORT" (port required unless allow_no_port, then 0 = any). UserError naming `what`.
Endpoint parse_endpoint(const std::string &s, const std::string &what, bool allow_no_port = false);

struct EntryList {
    std::string ifname;
    std::uint32_t public_ip = 0; // host order
    std::uint32_t now_s = 0;     // the ALG clock, to show ages and remaining lifetimes
    std::uint32_t pin_idle_s = 0;
    std::vector<NatEntry> entries;
};

EntryList list_bindings(const Target &t);
EntryList list_pinholes(const Target &t);

// A dialog as listed: the stored entry and the phone's SIP port, read from the binding's port
// slot while that still is this phone's binding.
struct DialogEntry {
    sipalg_dialog_key key{};
    sipalg_dialog d{};
    std::uint16_t phone_port = 0; // host order; 0: the binding is gone or no longer this phone's
};

struct DialogList {
    std::string ifname;
    std::uint32_t public_ip = 0; // host order
    std::uint32_t now_s = 0;     // the ALG clock
    std::uint32_t dlg_idle_s = 0;
    std::vector<DialogEntry> entries;
};

DialogList list_dialogs(const Target &t);

// Returns the public port given. UserError on refusal (limits, no free port).
std::uint16_t add_pinhole(const Target &t, const Endpoint &priv, const Endpoint &remote,
                          std::uint16_t public_port);
void delete_pinhole(const Target &t, const Endpoint &priv);
void delete_binding(const Target &t, const Endpoint &priv);

std::string render_bindings_human(const EntryList &l);
std::string render_pinholes_human(const EntryList &l);
std::string render_bindings_json(const EntryList &l);
std::string render_pinholes_json(const EntryList &l);
std::string render_dialogs_human(const DialogList &l);
std::string render_dialogs_json(const DialogList &l);

// The stored first bytes of a Call-ID for display: printable ASCII only (others become '?'),
// and whether it may have been cut (every stored byte is used).
std::string callid_text(const sipalg_dialog &d);
bool callid_may_be_cut(const sipalg_dialog &d);

} // namespace sipalg
