// AnchorBook: the policy and bookkeeping of an anchor pool for KvReuse::blend (KVCOMM's
// anchors, issue 21), and the words pools share. kv::SegmentAnchors (segment_anchors.h:
// what an anchor is and how a placement is predicted, in host memory) and the CUDA backend's
// device pool (kernels/device_anchor_pool.h) each keep one, so that both decide alike which
// placements are predicted or recorded, within which caps, and which anchor goes first.
// Engine thread only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>

namespace agentrt::kv {

struct AnchorOptions {
  std::size_t capacity_bytes = std::size_t{32} << 20;
  std::size_t max_tokens = 2048;  // anchor tokens held (bounds a prediction's cost)
  int neighbours = 8;             // k of the k nearest anchor tokens
  int min_anchors = 3;            // below this, every whole placement becomes an anchor
  float novelty = 0.1f;           // above this, a placement becomes an anchor
  // Device pools: f32 distance products and offsets rows, the host pool's math exactly (tests
  // compare the two); else TF32 products and bf16 offsets rows of the layers after the probe
  // layer (fewer bytes held and read), whose rounding can swap near-tied neighbours.
  bool exact_math = false;
};

// What predict() did with a placement.
enum class AnchorPrediction {
  predicted,  // its offsets are in `out`
  record,     // compute it in full and record() it: too few anchors, or novel
  none,       // neither: it would become an anchor but can never be held (over a cap)
};

struct AnchorStats {
  std::int64_t anchors = 0;  // held now
  std::int64_t tokens = 0;   // held now
  std::int64_t bytes = 0;    // held now
  std::int64_t recorded = 0;
  std::int64_t evicted = 0;
  std::int64_t predicted_segments = 0;
  std::int64_t predicted_tokens = 0;
};

// Which placements are predicted or recorded, the caps, the oldest-first eviction and the
// counters. It holds no KV.
class AnchorBook {
 public:
  // `token_bytes`: what one anchor token takes in the pool that keeps the book; 0: the host
  // pool's (first-context KV and offsets, f32, every layer).
  AnchorBook(int layers, std::size_t dim, const AnchorOptions& options,
             std::size_t token_bytes = 0);

  // Whether a placement of n tokens could be held: within max_tokens and capacity_bytes.
  bool fits(std::size_t n) const;
  // predict()'s answer for a placement of n tokens before its probe is looked at: `record`
  // (or `none` over the caps) while the pool is empty, or holds fewer than min_anchors and
  // has room; `predicted` for no tokens; nullopt: decide by its novelty (after_probe()).
  std::optional<AnchorPrediction> before_probe(std::size_t n) const;
  // predict()'s answer from the placement's novelty: above the threshold `record` (or
  // `none`), else `predicted` (counted).
  AnchorPrediction after_probe(double novelty, std::size_t n);
  // Before adding an anchor of n tokens (fits(n)): drops the oldest anchors until it fits
  // and returns how many tokens they held (the first ones of the pool's order).
  std::size_t evict_for(std::size_t n);
  // After adding an anchor of n tokens at the end of the pool's order.
  void added(std::size_t n);

  const AnchorStats& stats() const { return stats_; }
  const AnchorOptions& options() const { return opt_; }
  int layers() const { return layers_; }
  std::size_t dim() const { return dim_; }
  // Bytes one anchor token takes (the caps and AnchorStats::bytes count these).
  std::size_t token_bytes() const { return token_bytes_; }

 private:
  int layers_;
  std::size_t dim_;
  AnchorOptions opt_;
  std::size_t token_bytes_;
  std::deque<std::size_t> sizes_;  // tokens of each anchor, oldest first
  AnchorStats stats_;
};

}  // namespace agentrt::kv
