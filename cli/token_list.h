// Token id lists on the command line: "1,2,3" or "1 2 3".
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/common/result.h"

namespace agentrt::cli {

// Errors name the offending item and its 1-based position: "item 3 ('x7'): not an integer".
Result<std::vector<std::int32_t>> parse_token_list(std::string_view text);
std::string format_token_list(std::span<const std::int32_t> ids);

}  // namespace agentrt::cli
