// Attaching, finding and detaching sipalg's programs on an interface. Every query asks the
// kernel (netlink / libxdp), never saved state, so `status` reports what is really attached.
#pragma once

#include "sipalg_maps.h"

#include <cstdint>
#include <string>

struct bpf_object;

namespace sipalg {

struct ProgRef {
    std::uint32_t id = 0;
    std::string name;
};

// Name and id of a loaded program (name empty if the id is gone).
ProgRef prog_ref_by_id(std::uint32_t id);
// Id of the program pinned at `path`, 0 if none.
std::uint32_t pinned_prog_id(const std::string &path);
// Id of the program pinned as `pin` in instance dir `dir`, or under the pin's old name by an
// older sipalg (attach/legacy_names.hpp); 0 if neither.
std::uint32_t pinned_prog_id(const std::string &dir, const char *pin);

// ---- XDP (WAN ingress, LAN ports) ----

struct XdpState {
    bool attached = false;  // a sipalg_wan_xdp program is on the interface
    ProgRef prog;           // our program (a dispatcher component, or the main program)
    ProgRef if_prog;        // what the interface itself runs: the dispatcher, or ours
    bool multiprog = false; // true when running behind libxdp's dispatcher
    std::string mode;       // "native", "skb", "hw" or "" when nothing is attached
    ProgRef foreign;        // some other XDP program is attached instead (if id != 0)
};

// Looks for a program named `name` (sipalg_wan_xdp, or sipalg_lan_port_xdp on a LAN port) on
// `ifindex`; if `want_id` is non-zero only that exact program counts (another sipalg instance
// could not be on the same interface, but a stale pin could point elsewhere).
XdpState query_xdp(unsigned int ifindex, std::uint32_t want_id = 0,
                   const char *name = SIPALG_PROG_WAN_XDP);

struct XdpAttachResult {
    std::uint32_t prog_id = 0;
    bool multiprog = false;
    std::string fallback_reason; // non-empty if libxdp failed and we attached directly
};

// Attaches the object's sipalg_wan_xdp in native mode through libxdp's dispatcher, so it can
// share the interface with other XDP programs. libxdp loads the whole (not yet loaded) object
// itself: it has to turn the XDP program into a dispatcher component (freplace) at load time.
// Returns 0 or -errno; after a failure the object must not be reused.
int attach_xdp_libxdp(bpf_object *obj, unsigned int ifindex, XdpAttachResult &out);

// Fallback when libxdp cannot attach: plain native-mode attach of an already loaded program,
// refusing to replace whatever is there. Throws UserError.
XdpAttachResult attach_xdp_direct(int prog_fd, unsigned int ifindex, const std::string &ifname);

// Detaches exactly the program with `prog_id` from `ifindex`; false if it was not attached.
bool detach_xdp(unsigned int ifindex, std::uint32_t prog_id);

// ---- tc (clsact): WAN egress (sipalg_wan_egress), WAN ingress (sipalg_wan_ingress), LAN ingress
// (sipalg_lan_ingress) ----

// Our filters are found again by a fixed handle and priority on each clsact hook: tc filters
// need no pin to stay attached, and a fixed identity lets status/unload find exactly ours.
inline constexpr std::uint32_t kTcHandle = 0x51a;
inline constexpr std::uint32_t kTcPriority = 0x51a;

enum class TcDir { Ingress, Egress };

// The three tc hooks an instance uses, with the program each one runs.
struct TcHook {
    TcDir dir;
    const char *prog_name;
};
inline constexpr TcHook kWanEgress{TcDir::Egress, SIPALG_PROG_WAN_EGRESS};
inline constexpr TcHook kWanIngress{TcDir::Ingress, SIPALG_PROG_WAN_INGRESS};
inline constexpr TcHook kLanIngress{TcDir::Ingress, SIPALG_PROG_LAN_INGRESS};

const char *tc_dir_name(TcDir dir);

struct TcState {
    bool attached = false; // the hook's program sits at our handle/priority
    ProgRef prog;
    ProgRef foreign; // something else occupies our handle/priority
};

TcState query_tc(unsigned int ifindex, const TcHook &hook = kWanEgress);
// Creates clsact if needed and attaches `prog_fd` at our handle/priority. Throws UserError.
std::uint32_t attach_tc(unsigned int ifindex, const std::string &ifname, int prog_fd,
                        const TcHook &hook = kWanEgress);
// Removes our filter (only if it runs the hook's program); false if there was none. The
// clsact qdisc is left in place: other filters may share it.
bool detach_tc(unsigned int ifindex, const TcHook &hook = kWanEgress);

} // namespace sipalg
