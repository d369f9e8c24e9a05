// The "Split" pre-tokenizer with behavior "Isolated": a PCRE2 regex (UTF + UCP, JIT when
// available) whose matches and the gaps between them become separate pieces.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/common/result.h"

namespace agentrt::tokenizer {

class RegexSplitter {
 public:
  // Compiles pattern. On failure the error carries PCRE2's message and the offset.
  static Result<RegexSplitter> compile(const std::string& pattern);

  // Appends to out the pieces of text, in order, covering text exactly: every match and
  // every non-empty gap between matches. Invalid UTF-8 never matches (it lands in gaps).
  // Thread-safe.
  void split(std::string_view text, std::vector<std::string_view>& out) const;

  const std::string& pattern() const { return pattern_; }

 private:
  struct Code;
  std::string pattern_;
  std::shared_ptr<const Code> code_;
};

}  // namespace agentrt::tokenizer
