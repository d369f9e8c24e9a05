// A chat conversation in the OpenAI shape: messages (system/user/assistant/tool), assistant
// tool calls, and tool definitions (JSON schema). Parsed from JSON with errors that name
// the source and a JSON pointer ("request.json: /messages/2/role: unknown role 'bot'").
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/common/result.h"

namespace agentrt::chat {

// Key order matters: templates render JSON with the keys in the order they were given.
using Json = nlohmann::ordered_json;

enum class Role { system, user, assistant, tool };
const char* to_string(Role role);

struct ToolCall {
  std::string id;    // OpenAI "id" (may be empty)
  std::string name;  // function name
  Json arguments;    // an object, or a string holding JSON text when given as a string
};

// A call's arguments as JSON text: a string as given, an object as the templates' tojson
// writes it (Python json.dumps separators), which is what a model trained on them writes.
std::string arguments_json(const ToolCall& call);

struct Message {
  Role role = Role::user;
  std::string content;                           // null or absent content is ""
  std::optional<std::string> reasoning_content;  // assistant thinking, when given separately
  std::vector<ToolCall> tool_calls;              // assistant only
  std::string tool_call_id;                      // tool only
  std::string name;                              // tool only: the function that answered
};

struct ToolDefinition {
  std::string name;
  std::string description;
  Json parameters;  // JSON schema
  Json raw;         // the definition exactly as given (templates render it whole)
};

struct Conversation {
  std::vector<Message> messages;
  std::vector<ToolDefinition> tools;
};

// Parses an OpenAI "messages" array and an optional "tools" array (null or absent: none).
// Content may be a string, null, or an array of {"type": "text", "text": ...} parts. Values
// nested deeper than kMaxJsonDepth (engine/common/json_depth.h) are refused with the JSON
// pointer of the place, before anything is copied (copies of nlohmann values recurse).
Result<Conversation> parse_conversation(const Json& messages, const Json& tools,
                                        const std::string& source);

// Parses {"messages": [...], "tools": [...]} text. Never throws. Text nested deeper than
// kMaxJsonDepth is refused before parsing: "req.json: JSON nested deeper than 128 levels at
// /tools/0/function/parameters/a (line 3, col 40)".
Result<Conversation> parse_conversation_json(std::string_view text, const std::string& source);

}  // namespace agentrt::chat
