// Presentation of what the state-changing verbs did (load, unload, enable/disable): one line
// for a person, or with -j one JSON object whose keys follow `status -j` (interface, pin_dir,
// prog_id/prog_name per hook).
#pragma once

#include "cli/json.hpp"
#include "instance/instance.hpp"

#include <string>

namespace sipalg {

std::string render_load_human(const std::string &wan, const LoadReport &r);
std::string render_load_json(const std::string &wan, const LoadReport &r);

std::string render_unload_human(const std::string &wan, const UnloadReport &r);
std::string render_unload_json(const std::string &wan, const UnloadReport &r);

std::string render_enabled_human(const std::string &wan, bool enabled);
std::string render_enabled_json(const std::string &wan, bool enabled);

// `sipalg policy`: every policy with its state, default and whether it switches at runtime.
std::string render_policies_human(const std::string &wan, std::uint32_t flags);
std::string render_policies_json(const std::string &wan, std::uint32_t flags);
// "policies": {"local-media": false, ...} (also in `status -j`).
void json_policies(JsonWriter &w, std::uint32_t flags);

} // namespace sipalg
