#include "engine/sampling/constraint_cursor.h"

#include <limits>

namespace agentrt::sampling {

ConstraintCursor::ConstraintCursor(std::shared_ptr<const Constraint> constraint)
    : constraint_(std::move(constraint)), state_(constraint_->start()) {}

ConstraintCursor::ConstraintCursor(const ConstraintCursor& other)
    : constraint_(other.constraint_),
      state_(other.state_->clone()),
      fed_(other.fed_),
      last_(other.last_),
      broken_(other.broken_) {}

ConstraintCursor& ConstraintCursor::operator=(const ConstraintCursor& other) {
  if (this != &other) *this = ConstraintCursor(other);
  return *this;
}

void ConstraintCursor::sync(std::span<const std::int32_t> output) {
  if (fed_ > output.size() || (fed_ > 0 && output[fed_ - 1] != last_)) {
    state_ = constraint_->start();
    fed_ = 0;
    broken_ = false;
  }
  for (; fed_ < output.size(); ++fed_) {
    last_ = output[fed_];
    if (!broken_ && !state_->accept(last_)) broken_ = true;
  }
}

bool ConstraintCursor::compute_mask(std::size_t vocab, std::span<const std::int32_t> extra_end) {
  mask_.reset(vocab);
  if (broken_) {
    for (std::int32_t t : constraint_->end_tokens())
      mask_.set(t);
  } else {
    state_->allowed(mask_);
  }
  if (broken_ || state_->complete()) {
    for (std::int32_t t : extra_end)
      mask_.set(t);
  }
  return mask_.any();
}

bool ConstraintCursor::mask_logits(std::span<float> logits,
                                   std::span<const std::int32_t> extra_end) {
  if (!compute_mask(logits.size(), extra_end)) return false;
  constexpr float kNegInf = -std::numeric_limits<float>::infinity();
  const auto& words = mask_.words();
  for (std::size_t w = 0; w < words.size(); ++w) {
    const std::uint64_t bits = words[w];
    if (bits == ~0ull) continue;
    const std::size_t base = w * 64;
    const std::size_t end = std::min(base + 64, logits.size());
    for (std::size_t i = base; i < end; ++i) {
      if (!((bits >> (i - base)) & 1u)) logits[i] = kNegInf;
    }
  }
  return true;
}

std::int32_t ConstraintCursor::fallback_token(std::span<const std::int32_t> extra_end) const {
  const auto ends = constraint_->end_tokens();
  if (!ends.empty()) return ends.front();
  if (!extra_end.empty()) return extra_end.front();
  return -1;
}

}  // namespace agentrt::sampling
