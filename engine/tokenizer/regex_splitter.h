// The "Split" pre-tokenizer: a PCRE2 regex (UTF + UCP, JIT when available) whose matches and
// the gaps between them become pieces, joined as the split behavior says.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/common/result.h"

namespace agentrt::tokenizer {

// HF SplitDelimiterBehavior: what happens to each match.
enum class SplitBehavior { isolated, removed, merged_with_previous, merged_with_next, contiguous };

class RegexSplitter {
 public:
  // Compiles pattern. On failure the error carries PCRE2's message and the offset.
  static Result<RegexSplitter> compile(const std::string& pattern);

  // Appends to out the pieces of text, in order, covering text exactly: every match and
  // every non-empty gap between matches. Invalid UTF-8 never matches (it lands in gaps).
  // Thread-safe.
  void split(std::string_view text, std::vector<std::string_view>& out) const;
  // The same with another behavior: removed drops matches; merged_with_previous (next) joins
  // a match to the piece before (after) it unless that piece is a match too; contiguous
  // joins runs of adjacent matches. Thread-safe.
  void split(std::string_view text, SplitBehavior behavior,
             std::vector<std::string_view>& out) const;

  const std::string& pattern() const { return pattern_; }

 private:
  struct Code;
  std::string pattern_;
  std::shared_ptr<const Code> code_;
};

}  // namespace agentrt::tokenizer
