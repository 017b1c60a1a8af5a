#include "attach/hooks.hpp"

#include "attach/legacy_names.hpp"
#include "instance/pin_paths.hpp"
#include "state/unique_fd.hpp"

#include <bpf/bpf.h>
#include <bpf/btf.h>

#include <string.h>

namespace sipalg {
namespace {

// The kernel keeps the first 15 characters of a program's name (sipalg_wan_ingress is
// "sipalg_wan_ingr"); the function name in the program's BTF is whole, as bpftool shows it.
std::string full_name(int fd, const bpf_prog_info &info) {
    std::string name(info.name, strnlen(info.name, sizeof(info.name)));
    if (name.size() + 1 < sizeof(info.name) || info.btf_id == 0 || info.nr_func_info == 0)
        return name;
    bpf_func_info func{};
    bpf_prog_info one{};
    one.nr_func_info = 1;
    one.func_info_rec_size = sizeof(func);
    one.func_info = reinterpret_cast<__u64>(&func);
    __u32 len = sizeof(one);
    if (bpf_obj_get_info_by_fd(fd, &one, &len) != 0)
        return name;
    btf *b = btf__load_from_kernel_by_id(info.btf_id);
    if (!b)
        return name;
    const btf_type *t = btf__type_by_id(b, func.type_id);
    const char *whole = t ? btf__name_by_offset(b, t->name_off) : nullptr;
    if (whole && std::string_view(whole).starts_with(name))
        name = whole;
    btf__free(b);
    return name;
}

} // namespace

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
        ref.name = full_name(fd.get(), info);
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

std::uint32_t pinned_prog_id(const std::string &dir, const char *pin) {
    const std::uint32_t id = pinned_prog_id(pin_file(dir, pin));
    const char *old = legacy_pin(pin);
    return id != 0 || !old ? id : pinned_prog_id(pin_file(dir, old));
}

} // namespace sipalg
