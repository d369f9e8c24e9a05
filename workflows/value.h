// Value: what a template expression evaluates to. Either text or a list of texts (a list
// input, or the outputs of a map step). Numbers and booleans travel as their text.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "engine/common/result.h"

namespace agentrt::workflows {

// Caps on a list value: a list input (given or default) and what a map step maps over
// (docs/limits.md). Bytes count the list's items, or the text it is read from.
inline constexpr std::size_t kMaxListItems = 10000;
inline constexpr std::size_t kMaxListBytes = 8u << 20;

class Value {
 public:
  Value() = default;
  Value(std::string s) : v_(std::move(s)) {}               // NOLINT(google-explicit-constructor)
  Value(const char* s) : v_(std::string(s)) {}             // NOLINT(google-explicit-constructor)
  Value(std::vector<std::string> l) : v_(std::move(l)) {}  // NOLINT(google-explicit-constructor)

  bool is_list() const { return v_.index() == 1; }
  const std::string& text() const { return std::get<0>(v_); }
  const std::vector<std::string>& list() const { return std::get<1>(v_); }
  // Text as is; a list joined with newlines.
  std::string to_text() const;
  // A list as is; text as its non-empty lines (a JSON array of strings is read as a list;
  // other elements as their JSON text). Never fails and never recurses on the text's depth:
  // text that is not JSON, or nests deeper than kMaxJsonDepth, is read as lines.
  std::vector<std::string> to_list() const;
  // to_list, checked where a list is consumed (list inputs, map.over, list filters): errors
  // (invalid_argument, naming `what`) for more than kMaxListItems items, more than
  // kMaxListBytes bytes, or a JSON array nested deeper than kMaxJsonDepth.
  Result<std::vector<std::string>> to_items(std::string_view what) const;

  friend bool operator==(const Value&, const Value&) = default;

 private:
  std::variant<std::string, std::vector<std::string>> v_;
};

}  // namespace agentrt::workflows
