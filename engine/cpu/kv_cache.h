// CpuKvCache: the paged f32 KV memory of the CPU backend. Per layer, K and V are each laid
// out [num_blocks][block_size][num_kv_heads][head_dim]; position p of a sequence lives in
// block block_table[p / block_size], slot p % block_size.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "engine/backend.h"

namespace agentrt::cpu {

class CpuKvCache {
 public:
  explicit CpuKvCache(const KvGeometry& geometry);

  const KvGeometry& geometry() const { return geo_; }
  // The num_kv_heads * head_dim floats of one token slot.
  float* k(int layer, std::int32_t block, int slot) {
    return k_.data() + offset(layer, block, slot);
  }
  float* v(int layer, std::int32_t block, int slot) {
    return v_.data() + offset(layer, block, slot);
  }
  const float* k(int layer, std::int32_t block, int slot) const {
    return k_.data() + offset(layer, block, slot);
  }
  const float* v(int layer, std::int32_t block, int slot) const {
    return v_.data() + offset(layer, block, slot);
  }
  // Floats from one token slot to the next within a block (num_kv_heads * head_dim).
  std::size_t token_floats() const { return token_floats_; }
  // Copies every layer's K and V of block src into block dst (ids already checked).
  void copy_block(std::int32_t src, std::int32_t dst);
  // Block contents as f32 bytes, K then V of each layer (id and size already checked).
  void read_block(std::int32_t id, std::span<std::byte> out) const;
  void write_block(std::int32_t id, std::span<const std::byte> in);

 private:
  std::size_t offset(int layer, std::int32_t block, int slot) const {
    return ((static_cast<std::size_t>(layer) * geo_.num_blocks + static_cast<std::size_t>(block)) *
                geo_.block_size +
            static_cast<std::size_t>(slot)) *
           token_floats_;
  }

  KvGeometry geo_;
  std::size_t token_floats_;
  std::vector<float> k_;
  std::vector<float> v_;
};

}  // namespace agentrt::cpu
