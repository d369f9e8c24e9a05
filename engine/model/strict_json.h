// Strict JSON parsing for untrusted model files (config.json, safetensors headers, indexes).
// Unlike plain nlohmann::json::parse, a duplicate object key is an error instead of a
// silent overwrite, and no exception escapes.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "engine/common/json_pointer.h"
#include "engine/common/result.h"

namespace agentrt::model {

// Parses `text` as one JSON value. Errors (ErrorCode::parse) start with file_name:
// "model.safetensors: invalid JSON: ..." or "config.json: /a/b: duplicate key 'b'".
Result<nlohmann::json> parse_strict_json(std::string_view text, std::string_view file_name);

// Reads path and parses it as above. A missing file is ErrorCode::not_found naming the path.
Result<nlohmann::json> read_strict_json_file(const std::filesystem::path& path,
                                             std::string_view file_name);

using agentrt::json_pointer_token;  // engine/common/json_pointer.h

}  // namespace agentrt::model
