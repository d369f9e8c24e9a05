// A JSON document as a JobStore value: dumped to text and framed (record_frame.h), and back.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "engine/common/result.h"

namespace agentrt::storage {

// The framed text of `doc` (invalid UTF-8 in strings is replaced, never thrown on).
std::string encode_json_record(std::string_view key, const nlohmann::json& doc);
// The document stored as `value` under `key`. Errors: corrupt, with the reason ("checksum
// mismatch", "does not parse as JSON", ...).
Result<nlohmann::json> decode_json_record(std::string_view key, std::string_view value);

}  // namespace agentrt::storage
