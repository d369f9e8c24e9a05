// ConstraintCursor: one sequence's position in a Constraint, kept in step with the tokens the
// sequence actually holds, and the masking of its logits. Copies are independent (a fork
// continues from the parent's position). Not thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "engine/sampling/constraint.h"

namespace agentrt::sampling {

class ConstraintCursor {
 public:
  explicit ConstraintCursor(std::shared_ptr<const Constraint> constraint);
  ConstraintCursor(const ConstraintCursor& other);
  ConstraintCursor& operator=(const ConstraintCursor& other);
  ConstraintCursor(ConstraintCursor&&) noexcept = default;
  ConstraintCursor& operator=(ConstraintCursor&&) noexcept = default;
  ~ConstraintCursor() = default;

  // Brings the state to `output`, the tokens generated so far in this turn: feeds the new
  // ones, or restarts and replays them all when `output` does not continue what it saw (a
  // new turn). A token the constraint refuses marks the output broken: from then on only
  // end tokens are allowed.
  void sync(std::span<const std::int32_t> output);

  // Sets the logits of disallowed tokens to -inf. `extra_end` (the request's stop token
  // ids) count as end tokens. Returns false, logits untouched, when no token is allowed.
  bool mask_logits(std::span<float> logits, std::span<const std::int32_t> extra_end);

  // The mask mask_logits() applies, over `vocab` ids, in last_mask(). Returns false when no
  // token is allowed.
  bool compute_mask(std::size_t vocab, std::span<const std::int32_t> extra_end);

  // The token to emit when mask_logits() found none allowed: the first end token, or -1.
  std::int32_t fallback_token(std::span<const std::int32_t> extra_end) const;

  bool broken() const { return broken_; }
  const TokenMask& last_mask() const { return mask_; }

 private:
  std::shared_ptr<const Constraint> constraint_;
  std::unique_ptr<ConstraintState> state_;
  std::size_t fed_ = 0;
  std::int32_t last_ = -1;
  bool broken_ = false;
  TokenMask mask_;
};

}  // namespace agentrt::sampling
