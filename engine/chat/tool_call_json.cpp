#include "engine/chat/tool_call_json.h"

#include "engine/common/json_depth.h"

namespace agentrt::chat::detail {

Status check_call_depth(std::string_view json, std::size_t offset, int index) {
  const auto excess = find_json_depth_excess(json);
  if (!excess) return ok_status();
  return make_error(ErrorCode::parse, "tool call " + std::to_string(index) +
                                          ": JSON nested deeper than " +
                                          std::to_string(kMaxJsonDepth) + " levels at byte " +
                                          std::to_string(offset + excess->offset));
}

Result<ToolCall> parse_call_json(std::string_view json, std::size_t offset, int index) {
  const std::string where = "tool call " + std::to_string(index);
  // The parser is iterative, but copying the arguments out of what it builds is not.
  if (Status s = check_call_depth(json, offset, index); !s.ok()) return s.error();
  Json v;
  try {
    v = Json::parse(json);
  } catch (const Json::parse_error& e) {
    const std::size_t at = offset + (e.byte > 0 ? e.byte - 1 : 0);
    return make_error(ErrorCode::parse,
                      where + ": invalid JSON at byte " + std::to_string(at) + ": " + e.what());
  } catch (const std::exception& e) {
    return make_error(ErrorCode::parse, where + ": " + e.what());
  }
  if (!v.is_object())
    return make_error(ErrorCode::parse,
                      where + ": expected a JSON object at byte " + std::to_string(offset));
  if (!v.contains("name") || !v["name"].is_string())
    return make_error(ErrorCode::parse, where + ": /name: expected a string");
  ToolCall call;
  call.name = v["name"].get<std::string>();
  if (v.contains("arguments")) {
    call.arguments = v["arguments"];
  } else if (v.contains("parameters")) {
    call.arguments = v["parameters"];
  } else {
    call.arguments = Json::object();
  }
  return call;
}

std::size_t json_object_length(std::string_view text) {
  int depth = 0;
  bool in_string = false, escaped = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (escaped)
        escaped = false;
      else if (c == '\\')
        escaped = true;
      else if (c == '"')
        in_string = false;
      continue;
    }
    if (c == '"')
      in_string = true;
    else if (c == '{' || c == '[')
      ++depth;
    else if (c == '}' || c == ']') {
      if (--depth == 0) return i + 1;
    }
  }
  return 0;
}

std::size_t partial_marker_suffix(std::string_view text, std::string_view marker) {
  const std::size_t max = std::min(text.size(), marker.size() - 1);
  for (std::size_t n = max; n > 0; --n)
    if (text.substr(text.size() - n) == marker.substr(0, n)) return n;
  return 0;
}

}  // namespace agentrt::chat::detail
