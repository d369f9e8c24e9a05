// Value: what a template expression evaluates to. Either text or a list of texts (a list
// input, or the outputs of a map step). Numbers and booleans travel as their text.
#pragma once

#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace agentrt::workflows {

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
  // A list as is; text as its non-empty lines (a JSON array of strings is read as a list).
  std::vector<std::string> to_list() const;

  friend bool operator==(const Value&, const Value&) = default;

 private:
  std::variant<std::string, std::vector<std::string>> v_;
};

}  // namespace agentrt::workflows
