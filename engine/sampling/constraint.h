// Constraint: restricts which tokens a sequence may sample next, e.g. to JSON of a schema
// (engine/grammar/json_schema_constraint.h). A Constraint is immutable and may be shared by
// any number of requests and threads; each sequence walks it with its own ConstraintState,
// which is not thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <span>

#include "engine/sampling/token_mask.h"

namespace agentrt::sampling {

class ConstraintState {
 public:
  virtual ~ConstraintState() = default;
  // Sets in `mask` (sized and cleared by the caller) every token after which the output is
  // still a prefix of a valid one; the constraint's end tokens only when complete().
  virtual void allowed(TokenMask& mask) const = 0;
  // The one mutating call: moves past `token`. Returns false, state unchanged, when `token`
  // was not allowed.
  virtual bool accept(std::int32_t token) = 0;
  // Whether the output so far is complete (an end token may follow).
  virtual bool complete() const = 0;
  virtual std::unique_ptr<ConstraintState> clone() const = 0;
};

class Constraint {
 public:
  virtual ~Constraint() = default;
  // The state before the first output token.
  virtual std::unique_ptr<ConstraintState> start() const = 0;
  // Tokens that end the output (the model's EOS ids); allowed only when complete.
  virtual std::span<const std::int32_t> end_tokens() const = 0;
};

}  // namespace agentrt::sampling
