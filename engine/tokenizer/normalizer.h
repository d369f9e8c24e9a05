// The normalizer chain of a tokenizer.json ("normalizer"): NFC, Prepend and Replace (string
// pattern) steps, run in order on every piece of input between added tokens.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace agentrt::tokenizer {

class Normalizer {
 public:
  void add_nfc() { steps_.push_back({Kind::nfc, {}, {}}); }
  // Prepends text to a non-empty input (HF "Prepend").
  void add_prepend(std::string text) { steps_.push_back({Kind::prepend, {}, std::move(text)}); }
  // Replaces every non-overlapping occurrence of pattern (non-empty), left to right.
  void add_replace(std::string pattern, std::string content) {
    steps_.push_back({Kind::replace, std::move(pattern), std::move(content)});
  }

  bool empty() const { return steps_.empty(); }

  // Runs the chain on text. Returns false when text is unchanged (out untouched), else true
  // with the result in out.
  bool apply(std::string_view text, std::string& out) const;

 private:
  enum class Kind { nfc, prepend, replace };
  struct Step {
    Kind kind;
    std::string pattern;  // replace
    std::string content;  // prepend text, or replace content
  };
  std::vector<Step> steps_;
};

}  // namespace agentrt::tokenizer
