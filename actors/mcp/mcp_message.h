// MCP messages: parsing one line a server wrote (JSON-RPC 2.0), and turning the results of
// tools/list and tools/call into what agentrt needs. Pure functions, no I/O; fuzzed by
// mcp_message.fuzz.cpp. Spec: modelcontextprotocol.io/specification (2025-06-18).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/chat/conversation.h"
#include "engine/common/result.h"

namespace agentrt::actors::mcp {

using Json = chat::Json;

// The protocol version agentrt asks for in initialize.
inline constexpr const char* kProtocolVersion = "2025-06-18";
// A line longer than this from a server is a protocol error (the server is stopped).
inline constexpr std::size_t kMaxLineBytes = 16u << 20;

struct Message {
  enum class Kind { response, request, notification };
  Kind kind = Kind::response;
  std::optional<std::int64_t> id;  // response, request (agentrt's ids are integers)
  std::string method;              // request, notification
  Json result;                     // response without error
  std::optional<Error> error;      // response with error: "message (code N)"
};

// One line (without its newline). Errors (parse): not JSON, not an object, no "jsonrpc":
// "2.0", a response with neither result nor error, a non-integer id in a response.
Result<Message> parse_message(std::string_view line);

struct ToolInfo {
  std::string name;
  std::string description;
  Json input_schema;  // as the server gave it
};

// One page of tools/list. `next_cursor` gets nextCursor (empty at the last page). Errors
// (parse): no tools array, a tool without a string name.
Result<std::vector<ToolInfo>> parse_tools_page(const Json& result, std::string& next_cursor);

// The text of a tools/call result for the model: text items as they are, one per line;
// images, audio and resources summarized ("[image image/png, 1234 bytes]"); cut at
// max_bytes with a note. Errors: isError (invalid_argument, with the text), a result
// without a content array (parse).
Result<std::string> render_call_result(const Json& result, std::size_t max_bytes);

// The name the model sees for tool `tool` of server `server`: "server_tool", every
// character outside [A-Za-z0-9_-] replaced by '_', cut to 64 bytes (OpenAI's function
// name rule, which every chat template accepts).
std::string exposed_name(const std::string& server, const std::string& tool);

}  // namespace agentrt::actors::mcp
