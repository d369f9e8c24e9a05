// Pattern: a compiled PCRE2 regex that extracts a field from an agent's output, e.g. the
// `answer` of a best-of step ('Answer: (-?\d+)') or a loop's stop condition.
// Thread-safe to share once compiled; each call uses its own match data.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "engine/common/result.h"

namespace agentrt::workflows {

class Pattern {
 public:
  // Errors (parse): "bad regex: <PCRE2 message> at offset N".
  static Result<Pattern> compile(const std::string& pattern);

  // The last match in `text`: its first capture group if the pattern has one, else the
  // whole match. nullopt when nothing matches.
  std::optional<std::string> extract_last(std::string_view text) const;
  bool matches(std::string_view text) const;
  const std::string& source() const { return source_; }

 private:
  struct Code;
  std::string source_;
  std::shared_ptr<const Code> code_;
};

}  // namespace agentrt::workflows
