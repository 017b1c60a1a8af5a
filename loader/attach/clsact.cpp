#include "attach/clsact.hpp"

#include "attach/run_cmd.hpp"

#include <bpf/libbpf.h>

namespace sipalg {

bool create_clsact(unsigned int ifindex) {
    LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = static_cast<int>(ifindex),
                .attach_point = BPF_TC_INGRESS);
    return bpf_tc_hook_create(&hook) == 0;
}

bool remove_clsact_if_empty(unsigned int ifindex, const std::string &ifname) {
    for (const char *dir : {"ingress", "egress"}) {
        std::string out;
        if (run_cmd({"tc", "filter", "show", "dev", ifname, dir}, &out) != 0 ||
            out.find_first_not_of(" \t\r\n") != std::string::npos)
            return false;
    }
    LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = static_cast<int>(ifindex),
                .attach_point = static_cast<bpf_tc_attach_point>(BPF_TC_INGRESS | BPF_TC_EGRESS));
    return bpf_tc_hook_destroy(&hook) == 0;
}

} // namespace sipalg
