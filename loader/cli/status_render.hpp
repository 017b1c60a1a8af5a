// Presentation of InstanceStatus: a bpftool-like human view and `-j` JSON.
#pragma once

#include "state/status.hpp"

#include <string>
#include <vector>

namespace sipalg {

// "ALG: enabled" / "ALG: disabled" / "ALG: unknown" -- the wording status promises.
std::string alg_state_text(const InstanceStatus &st);

std::string render_human(const InstanceStatus &st);

// One JSON object per instance; keys documented in render_json's definition.
class JsonWriter;
void render_json(JsonWriter &w, const InstanceStatus &st);
std::string render_json(const InstanceStatus &st);
std::string render_json(const std::vector<InstanceStatus> &all);

} // namespace sipalg
