// Backend: the device-specific half of the engine. It owns the KV block memory and runs
// forward steps; the scheduler, KV manager and sampling are shared by every backend.
// One thread drives a Backend at a time (the engine's step loop).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <utility>

#include "engine/batch_plan.h"
#include "engine/common/result.h"

namespace agentrt {

struct KvGeometry {
  int num_blocks = 0;   // physical blocks in the pool
  int block_size = 16;  // tokens per block
  int num_layers = 0;
  int num_kv_heads = 0;
  int head_dim = 0;
  // Bytes of one block across all layers, K and V.
  std::size_t block_bytes(std::size_t element_size) const {
    return element_size * 2u * num_layers * block_size * num_kv_heads * head_dim;
  }
};

class Backend {
 public:
  virtual ~Backend() = default;

  virtual std::string name() const = 0;
  virtual const KvGeometry& kv_geometry() const = 0;

  // Runs one step: writes K/V of every chunk's tokens into its blocks, then fills `out`
  // with the logits rows the plan asks for. Errors leave the KV of untouched blocks intact.
  virtual Status forward(const BatchPlan& plan, Logits& out) = 0;

  // Copies whole blocks (every layer, K and V): pairs of (src, dst). Used for
  // copy-on-write of a shared partial block.
  virtual Status copy_blocks(std::span<const std::pair<std::int32_t, std::int32_t>> pairs) = 0;
};

}  // namespace agentrt
