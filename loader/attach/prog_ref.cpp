#include "attach/hooks.hpp"

#include "state/unique_fd.hpp"

#include <bpf/bpf.h>

#include <string.h>

namespace sipalg {

ProgRef prog_ref_by_id(std::uint32_t id) {
    ProgRef ref;
    if (id == 0)
        return ref;
    ref.id = id;
    UniqueFd fd(bpf_prog_get_fd_by_id(id));
    if (!fd.valid())
        return ref;
    bpf_prog_info info{};
    __u32 len = sizeof(info);
    if (bpf_obj_get_info_by_fd(fd.get(), &info, &len) == 0)
        ref.name.assign(info.name, strnlen(info.name, sizeof(info.name)));
    return ref;
}

std::uint32_t pinned_prog_id(const std::string &path) {
    UniqueFd fd(bpf_obj_get(path.c_str()));
    if (!fd.valid())
        return 0;
    bpf_prog_info info{};
    __u32 len = sizeof(info);
    if (bpf_obj_get_info_by_fd(fd.get(), &info, &len) != 0)
        return 0;
    return info.id;
}

} // namespace sipalg
