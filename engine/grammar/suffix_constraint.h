// SuffixConstraint: the output of another constraint (e.g. JSON of a schema), then a fixed
// text, then an end token. A tool call in a format that closes its JSON with a marker is
// one: Qwen's `<tool_call>\n{...}` then "\n</tool_call>".
#pragma once

#include <memory>
#include <string>

#include "engine/grammar/token_vocabulary.h"
#include "engine/sampling/constraint.h"

namespace agentrt::grammar {

class SuffixConstraint final : public sampling::Constraint {
 public:
  // Once `inner` is complete, only tokens that spell the next bytes of `suffix` are allowed
  // (the inner output cannot go on), then only `vocab`'s end tokens. An empty suffix is
  // `inner` with its end tokens after completion.
  SuffixConstraint(std::shared_ptr<const sampling::Constraint> inner, std::string suffix,
                   std::shared_ptr<const TokenVocabulary> vocab);

  std::unique_ptr<sampling::ConstraintState> start() const override;
  std::span<const std::int32_t> end_tokens() const override { return vocab_->end_tokens(); }

 private:
  std::shared_ptr<const sampling::Constraint> inner_;
  std::string suffix_;
  std::shared_ptr<const TokenVocabulary> vocab_;
};

}  // namespace agentrt::grammar
