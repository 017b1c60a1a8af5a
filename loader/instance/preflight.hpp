// Checks done before anything is touched, so that a refused command changes nothing.
#pragma once

#include <string>

namespace sipalg {

// Loading programs and touching pinned maps needs root, or CAP_BPF + CAP_NET_ADMIN (plus
// CAP_SYS_ADMIN on kernels where bpffs pins need it). Checked on the effective set.
void require_privileges();

// The pin root must be on bpffs. It may not exist yet (first load), so the nearest existing
// ancestor is checked: if that is bpffs, mkdir below it creates bpffs directories.
void require_bpffs(const std::string &pin_root);

// Pure helper for the above, exposed for tests: the longest existing prefix of `path`.
std::string nearest_existing_ancestor(const std::string &path);

} // namespace sipalg
