// Where the CLI finds the default model when --model is not given.
#pragma once

#include <filesystem>
#include <string>

namespace agentrt::cli {

// $AGENTRT_MODEL if set, else the embedded default model, models/tiny-calc.
std::filesystem::path default_model_dir();

}  // namespace agentrt::cli
