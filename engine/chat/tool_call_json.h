// Shared helpers of the tool-call parsers (internal to agentrt_chat).
#pragma once

#include <string_view>

#include "engine/chat/conversation.h"

namespace agentrt::chat::detail {

// The whitespace the parsers skip between and around calls.
inline constexpr std::string_view kSpace = " \t\r\n";

// Parses one call object {"name": ..., "arguments"|"parameters": ...}. offset is where json
// starts in the reply (for error positions); index is the 1-based call number. JSON nested
// deeper than kMaxJsonDepth fails as check_call_depth says, before anything is parsed.
Result<ToolCall> parse_call_json(std::string_view json, std::size_t offset, int index);

// parse: "tool call 2: JSON nested deeper than 128 levels at byte 180" when json (which
// starts at byte offset of the reply; complete or not) nests deeper than kMaxJsonDepth.
Status check_call_depth(std::string_view json, std::size_t offset, int index);

// Length of the JSON object at the start of text (text[0] == '{'), counting braces outside
// strings; 0 when the object is not closed yet.
std::size_t json_object_length(std::string_view text);

// Length of the longest suffix of text that is a proper prefix of marker.
std::size_t partial_marker_suffix(std::string_view text, std::string_view marker);

}  // namespace agentrt::chat::detail
