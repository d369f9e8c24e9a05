// Numeric flags reach the commands as text, so cli/flags/ parses them with their bounds and
// names the flag in every error (CLI11's own conversion would wrap, or exit with its codes).
#pragma once

#include <CLI/CLI.hpp>
#include <optional>
#include <string>

#include "engine/kv/segment_anchors.h"

namespace agentrt::cli {

// Registers `name` on `cmd`; when given, its text lands in `out` (which must outlive parsing).
CLI::Option* add_flag_text(CLI::App* cmd, const std::string& name, std::optional<std::string>& out,
                           const std::string& description);

// Registers --check-weights none|sample|full (the NaN/infinity check at model load) on `cmd`;
// any other value is a usage error.
CLI::Option* add_check_weights_flag(CLI::App* cmd, std::string& out);

// Registers --schedule attained|program|fcfs (the engine's queue order,
// engine/scheduler/scheduler.h) on `cmd`; any other value is a usage error.
CLI::Option* add_schedule_option(CLI::App* cmd, std::string& out);
// --blend-anchors (EngineOptions::blend_anchors) and the anchor pool's bounds
// (EngineOptions::anchors): --blend-anchor-mib, --blend-anchor-tokens, --blend-anchor-novelty,
// each range-checked by CLI11 (a usage error names the flag).
void add_blend_anchor_flags(CLI::App* cmd, bool& on, kv::AnchorOptions& pool);

}  // namespace agentrt::cli
