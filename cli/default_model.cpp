#include "cli/default_model.h"

#include <cstdlib>

namespace agentrt::cli {

std::filesystem::path default_model_dir() {
  if (const char* env = std::getenv("AGENTRT_MODEL"); env && *env) return env;
  return std::filesystem::path(AGENTRT_SOURCE_DIR) / "models/tiny-calc";
}

}  // namespace agentrt::cli
