#include "engine/common/json_depth.h"

#include "engine/common/json_pointer.h"

#include <vector>

#include "engine/common/echo.h"

namespace agentrt {
namespace {

struct Frame {
  bool array = false;
  std::size_t index = 0;  // array: the current element
  std::string key;        // object: the current member's key (raw, without unescaping)
};

// "~" and "/" escaped as RFC 6901 says.
void append_token(std::string& out, std::string_view token) {
  out.push_back('/');
  out += json_pointer_token(token);
}

std::string pointer_of(const std::vector<Frame>& stack) {
  std::string out;
  for (const Frame& f : stack) {
    append_token(out, f.array ? std::to_string(f.index) : f.key);
    if (out.size() > kMaxEchoBytes) break;
  }
  return echo_value(out.empty() ? "/" : out);
}

}  // namespace

std::optional<JsonDepthExcess> find_json_depth_excess(std::string_view text, int max_depth) {
  constexpr std::size_t kMaxKeyBytes = 64;  // keys are kept only to name the place
  std::vector<Frame> stack;
  std::string last_string;
  bool in_string = false, escaped = false;
  int line = 1;
  std::size_t line_start = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\n') line += 1, line_start = i + 1;
    if (in_string) {
      if (escaped)
        escaped = false;
      else if (c == '\\')
        escaped = true;
      else if (c == '"')
        in_string = false;
      if (in_string && last_string.size() < kMaxKeyBytes) last_string.push_back(c);
      continue;
    }
    switch (c) {
      case '"':
        in_string = true;
        last_string.clear();
        break;
      case ':':
        if (!stack.empty() && !stack.back().array) stack.back().key = last_string;
        break;
      case ',':
        if (!stack.empty() && stack.back().array) ++stack.back().index;
        break;
      case '[':
      case '{':
        if (static_cast<int>(stack.size()) >= max_depth)
          return JsonDepthExcess{i, line, static_cast<int>(i - line_start) + 1, pointer_of(stack)};
        stack.push_back({c == '[', 0, {}});
        break;
      case ']':
      case '}':
        if (!stack.empty()) stack.pop_back();
        break;
      default:
        break;
    }
  }
  return std::nullopt;
}

Status check_json_depth(std::string_view text, std::string_view where, int max_depth) {
  const auto excess = find_json_depth_excess(text, max_depth);
  if (!excess) return ok_status();
  return make_error(ErrorCode::invalid_argument,
                    std::string(where) + ": JSON nested deeper than " + std::to_string(max_depth) +
                        " levels at " + excess->pointer + " (line " + std::to_string(excess->line) +
                        ", col " + std::to_string(excess->col) + ")");
}

}  // namespace agentrt
