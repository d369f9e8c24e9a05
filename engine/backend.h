// Backend: the device-specific half of the engine. It owns the KV block memory and runs
// forward steps; the scheduler, KV manager and sampling are shared by every backend.
// One thread drives a Backend at a time (the engine's step loop).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>

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

  // Greedy decoding without the logits leaving the device: runs the step as forward() and
  // sets tokens[i] to the argmax of plan.seqs[i]'s logits row (lowest id on ties, as
  // sampling::Sampler at temperature 0). Needs one row per sequence (no all_logits). Errors:
  // those of forward(); unsupported where greedy_on_device() is false.
  virtual bool greedy_on_device() const { return false; }
  virtual Status forward_greedy(const BatchPlan& plan, std::vector<std::int32_t>& tokens) {
    (void)plan;
    (void)tokens;
    return make_error(ErrorCode::unsupported, name() + ": forward_greedy is not supported");
  }

  // Copies whole blocks (every layer, K and V): pairs of (src, dst). Used for
  // copy-on-write of a shared partial block.
  virtual Status copy_blocks(std::span<const std::pair<std::int32_t, std::int32_t>> pairs) = 0;

  // Block swap, for the host and persistent KV tiers and for preemption by swapping.
  // Bytes of one block in the layout read_block()/write_block() use (every layer, K and V);
  // 0 when the backend cannot swap.
  virtual std::size_t block_bytes() const { return 0; }
  // Copies block `id` to `out` (block_bytes() long). Errors: a bad id or size, or
  // unsupported by this backend.
  virtual Status read_block(std::int32_t id, std::span<std::byte> out) {
    (void)id;
    (void)out;
    return make_error(ErrorCode::unsupported, name() + ": read_block is not supported");
  }
  // Overwrites block `id` from `in` (block_bytes() long). Errors as read_block().
  virtual Status write_block(std::int32_t id, std::span<const std::byte> in) {
    (void)id;
    (void)in;
    return make_error(ErrorCode::unsupported, name() + ": write_block is not supported");
  }
};

}  // namespace agentrt
