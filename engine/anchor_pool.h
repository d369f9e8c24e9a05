// AnchorPool: KVCOMM's anchors for KvReuse::blend as the Engine uses them (issue 21). The
// policy is kv::AnchorBook's and the math kv::SegmentAnchors' (kv/segment_anchors.h); a pool keeps
// the anchors where its backend's KV is. The host pool (host_anchor_pool.h) moves each placement's
// offsets through Backend::token_kv_offsets() into a kv::SegmentAnchors; the CUDA backend's
// (kernels/device_anchor_pool.h) keeps anchors and predictions on the GPU. Engine thread only.
#pragma once

#include <cstdint>
#include <span>

#include "engine/common/result.h"
#include "engine/kv/anchor_book.h"

namespace agentrt {

// A stored segment placed at positions begin, ... of a sequence's block table.
struct SegmentPlacement {
  std::span<const std::int32_t> block_table;
  std::int32_t begin = 0;
  std::span<const std::byte> kv;  // its KV as first computed (Backend::place_token_kv's layout)
  std::int32_t source_begin = 0;  // where it was first computed
  std::uint64_t segment_id = 0;   // kv::SegmentEntry::id (a backend may hold a device copy)
};

class AnchorPool {
 public:
  virtual ~AnchorPool() = default;
  // After the probe (the probe layer holds the new context's KV): predicts the placement's
  // offsets at the layers after the probe layer and adds them to its KV (`predicted`), or
  // says it should be computed in full and recorded (`record`), or neither (`none`), as
  // kv::SegmentAnchors::predict() decides. Errors: the backend's; `unsupported` when it has
  // no anchor offsets.
  virtual Result<kv::AnchorPrediction> predict(const SegmentPlacement& p) = 0;
  // After the placement was computed in full in its new context: adds it as an anchor.
  virtual Status record(const SegmentPlacement& p) = 0;
  // Whether a placement of n tokens could be held.
  virtual bool fits(std::size_t n) const = 0;
  virtual kv::AnchorStats stats() const = 0;
};

}  // namespace agentrt
