// HostAnchorPool: the AnchorPool of backends without their own (the CPU's): the anchors in a
// kv::SegmentAnchors in host memory, each placement's offsets read through
// Backend::token_kv_offsets() and the predicted ones written back through
// add_token_kv_offsets(). Engine thread only.
#pragma once

#include "engine/anchor_pool.h"
#include "engine/backend.h"
#include "engine/kv/segment_anchors.h"

namespace agentrt {

class HostAnchorPool final : public AnchorPool {
 public:
  // Anchors cover [probe_layer, num_layers) of `backend`'s model.
  HostAnchorPool(Backend& backend, int probe_layer, int num_layers,
                 const kv::AnchorOptions& options);

  Result<kv::AnchorPrediction> predict(const SegmentPlacement& p) override;
  Status record(const SegmentPlacement& p) override;
  bool fits(std::size_t n) const override { return anchors_.fits(n); }
  kv::AnchorStats stats() const override { return anchors_.stats(); }

 private:
  // The placement's offsets and first-context KV over the anchors' layers (n x span x dim).
  Status read(const SegmentPlacement& p, std::vector<float>& offsets, std::vector<float>& first);

  Backend& backend_;
  int probe_layer_;
  kv::SegmentAnchors anchors_;
};

}  // namespace agentrt
