// Random-weight checkpoints in the exact shapes of published models, written as a Hugging
// Face directory (config.json + bf16 model.safetensors). Random weights cost the same to run
// as real ones, so they stand in for checkpoints no hub can supply here.
#pragma once

#include <filesystem>
#include <string>

#include "engine/common/result.h"

namespace agentrt::bench {

// Known shapes: "qwen2.5-0.5b" (published config.json values).
// Writes into dir (created) unless dir/config.json already exists.
Status write_synthetic_model(const std::string& shape, const std::filesystem::path& dir);

}  // namespace agentrt::bench
