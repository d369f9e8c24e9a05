// DeviceAnchorPool: the CUDA backend's AnchorPool (engine/anchor_pool.h; issue 21). The
// same policy and math as kv::SegmentAnchors (its AnchorBook decides), with the anchors, each
// placement's offsets and the prediction on the GPU: a placement reads the segment's device
// copy (DeviceSegmentCache) and writes the predicted offsets into the KV pool; only n floats
// of novelty come back to the host. The host pool instead copies about 2 x 254 KB per token
// at the 8B shape each way. The products run on TF32 tensor cores and the offsets rows of the
// layers after the probe layer are bf16, unless AnchorOptions::exact_math (f32 throughout).
//
// Memory: the pool's rows up to AnchorOptions' caps and at most half the device memory free
// at create(), allocated at the first record: a token's probe-layer offsets (f32), and for
// each later layer its first-context KV (f32) and offsets (bf16 or f32), with squared norms;
// scratch of a placement's n x span x dim f32 twice, its n x M probe distances, and the KV
// term's products (all layers' up to kKvTermBytes, so that placements of one segment share
// them; else one layer's). Engine thread only.
#pragma once

#include <memory>
#include <vector>

#include "engine/anchor_pool.h"
#include "kernels/device_buffer.h"
#include "kernels/ops.h"

namespace agentrt::kernels {

class CudaBackend;

class DeviceAnchorPool final : public AnchorPool {
 public:
  // Null when `options` ask for more neighbours than the kernel takes (kMaxAnchorNeighbours)
  // or the model has fewer than two layers from the probe layer on.
  static std::unique_ptr<DeviceAnchorPool> create(CudaBackend& backend, int probe_layer,
                                                  const kv::AnchorOptions& options);

  Result<kv::AnchorPrediction> predict(const SegmentPlacement& p) override;
  Status record(const SegmentPlacement& p) override;
  bool fits(std::size_t n) const override { return book_.fits(n); }
  kv::AnchorStats stats() const override { return book_.stats(); }

 private:
  DeviceAnchorPool(CudaBackend& backend, int probe_layer, int span, std::size_t dim,
                   const kv::AnchorOptions& options);
  // The placement's token KV on the device (the segment cache's copy, else staged here),
  // with its block table uploaded (its sizes and positions already checked).
  Result<const void*> stage(const SegmentPlacement& p);
  // The pool's rows, at the first record.
  Status allocate();
  // Moves every layer's rows [old, held_) to [0, held_ - old) in each pool buffer.
  Status drop_oldest(std::size_t old);
  // Bytes one anchor token takes here.
  static std::size_t token_bytes(int span, std::size_t dim, bool exact);
  // Columns of the distance products: the rows held, rounded up (fewer cuBLASLt plans).
  int columns() const;

  CudaBackend& be_;
  int probe_;
  int span_;  // layers [probe_, probe_ + span_)
  std::size_t dim_;
  kv::AnchorBook book_;
  std::size_t cap_ = 0;   // rows a layer holds
  std::size_t held_ = 0;  // rows in use, oldest anchor's first
  // The probe layer's offsets [cap][dim] and squared norms [cap]; for each later layer
  // [span - 1][cap][dim] first-context KV (f32) and offsets (offsets_dt_), and the KV's
  // squared norms [span - 1][cap].
  DeviceBuffer probe_off_, probe_norms_, first_, first_norms_, offsets_;
  Dtype offsets_dt_;
  // A placement's scratch: staged token KV, un-rotated first-context KV, offsets, the KV
  // term's products and row norms (every layer's while kv_term_ names them, else one
  // layer's), probe distances and row norms, row minima.
  DeviceBuffer staged_, un_, off_, dot_, xn_, probe_d_, probe_xn_, mins_;
  // What dot_ and xn_ hold for every layer: a whole segment's KV term against the pool as
  // it was at `generation` (bumped by each record).
  struct KvTermKey {
    std::uint64_t segment = 0;  // 0: nothing
    std::uint64_t generation = 0;
    std::size_t tokens = 0;
    int columns = 0;
    bool operator==(const KvTermKey&) const = default;
  };
  static constexpr std::size_t kKvTermBytes = std::size_t{256} << 20;
  KvTermKey kv_term_;
  std::uint64_t generation_ = 0;
  std::vector<float> host_mins_, host_norms_;
};

}  // namespace agentrt::kernels
