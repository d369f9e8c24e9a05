#include "engine/kv/anchor_book.h"

#include <iterator>

namespace agentrt::kv {

AnchorBook::AnchorBook(int layers, std::size_t dim, const AnchorOptions& options,
                       std::size_t token_bytes)
    : layers_(layers),
      dim_(dim),
      opt_(options),
      token_bytes_(token_bytes != 0 ? token_bytes
                                    : 2 * static_cast<std::size_t>(layers) * dim * sizeof(float)) {}

bool AnchorBook::fits(std::size_t n) const {
  return n <= opt_.max_tokens && n * token_bytes() <= opt_.capacity_bytes;
}

std::optional<AnchorPrediction> AnchorBook::before_probe(std::size_t n) const {
  // Too few anchors: this one should become one, while the pool has room for it.
  if (sizes_.empty()) return fits(n) ? AnchorPrediction::record : AnchorPrediction::none;
  if (std::ssize(sizes_) < opt_.min_anchors &&
      static_cast<std::size_t>(stats_.tokens) + n <= opt_.max_tokens && fits(n))
    return AnchorPrediction::record;
  if (n == 0) return AnchorPrediction::predicted;
  return std::nullopt;
}

AnchorPrediction AnchorBook::after_probe(double novelty, std::size_t n) {
  if (novelty > opt_.novelty) return fits(n) ? AnchorPrediction::record : AnchorPrediction::none;
  ++stats_.predicted_segments;
  stats_.predicted_tokens += static_cast<std::int64_t>(n);
  return AnchorPrediction::predicted;
}

std::size_t AnchorBook::evict_for(std::size_t n) {
  std::size_t dropped = 0;
  while (!sizes_.empty() &&
         (static_cast<std::size_t>(stats_.bytes) + n * token_bytes() > opt_.capacity_bytes ||
          static_cast<std::size_t>(stats_.tokens) + n > opt_.max_tokens)) {
    const std::size_t old = sizes_.front();
    stats_.bytes -= static_cast<std::int64_t>(old * token_bytes());
    stats_.tokens -= static_cast<std::int64_t>(old);
    sizes_.pop_front();
    ++stats_.evicted;
    dropped += old;
  }
  stats_.anchors = std::ssize(sizes_);
  return dropped;
}

void AnchorBook::added(std::size_t n) {
  sizes_.push_back(n);
  stats_.bytes += static_cast<std::int64_t>(n * token_bytes());
  stats_.tokens += static_cast<std::int64_t>(n);
  ++stats_.recorded;
  stats_.anchors = std::ssize(sizes_);
}

}  // namespace agentrt::kv
