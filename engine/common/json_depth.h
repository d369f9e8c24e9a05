// Nesting depth of JSON text, checked before a parser builds it or a writer recurses on it.
// nlohmann's parser is iterative, but copying, comparing and dumping a parsed value recurse
// once per level: text nested tens of thousands deep would overflow the stack there. Every
// place that parses untrusted JSON (chat JSON, tool-call arguments, list values of
// workflows) scans it first with check_json_depth.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "engine/common/result.h"

namespace agentrt {

// Deepest nesting of [ and { accepted in untrusted JSON (docs/limits.md). Real requests
// nest a few levels; JSON schemas of tools rarely pass ten.
inline constexpr int kMaxJsonDepth = 128;

struct JsonDepthExcess {
  std::size_t offset = 0;  // byte of the bracket that opens level max_depth + 1
  int line = 1;            // 1-based place of that byte
  int col = 1;
  std::string pointer;  // JSON pointer of the value that bracket opens (at most ~200 bytes)
};

// Scans text iteratively (strings and their escapes skipped) and returns where the nesting
// of [ and { first goes past max_depth, or nullopt. Any text may be scanned: for valid JSON
// the depth is exact, for invalid text it counts every bracket outside strings, so nullopt
// bounds the depth of whatever a parser builds from it.
std::optional<JsonDepthExcess> find_json_depth_excess(std::string_view text,
                                                      int max_depth = kMaxJsonDepth);

// invalid_argument "WHERE: JSON nested deeper than 128 levels at /a/0/b (line 1, col 9)"
// when text nests deeper than max_depth; ok otherwise.
Status check_json_depth(std::string_view text, std::string_view where,
                        int max_depth = kMaxJsonDepth);

}  // namespace agentrt
