#include "engine/cpu/kv_cache.h"

#include <algorithm>
#include <cstring>

namespace agentrt::cpu {

CpuKvCache::CpuKvCache(const KvGeometry& geometry)
    : geo_(geometry),
      token_floats_(static_cast<std::size_t>(geometry.num_kv_heads) * geometry.head_dim) {
  const std::size_t total =
      static_cast<std::size_t>(geo_.num_layers) * geo_.num_blocks * geo_.block_size * token_floats_;
  k_.assign(total, 0.0f);
  v_.assign(total, 0.0f);
}

void CpuKvCache::copy_block(std::int32_t src, std::int32_t dst) {
  if (src == dst) return;
  const std::size_t n = static_cast<std::size_t>(geo_.block_size) * token_floats_;
  for (int layer = 0; layer < geo_.num_layers; ++layer) {
    std::copy_n(k(layer, src, 0), n, k(layer, dst, 0));
    std::copy_n(v(layer, src, 0), n, v(layer, dst, 0));
  }
}

void CpuKvCache::read_block(std::int32_t id, std::span<std::byte> out) const {
  const std::size_t n = static_cast<std::size_t>(geo_.block_size) * token_floats_ * sizeof(float);
  std::byte* dst = out.data();
  for (int layer = 0; layer < geo_.num_layers; ++layer) {
    std::memcpy(dst, k(layer, id, 0), n);
    std::memcpy(dst + n, v(layer, id, 0), n);
    dst += 2 * n;
  }
}

void CpuKvCache::write_block(std::int32_t id, std::span<const std::byte> in) {
  const std::size_t n = static_cast<std::size_t>(geo_.block_size) * token_floats_ * sizeof(float);
  const std::byte* src = in.data();
  for (int layer = 0; layer < geo_.num_layers; ++layer) {
    std::memcpy(k(layer, id, 0), src, n);
    std::memcpy(v(layer, id, 0), src + n, n);
    src += 2 * n;
  }
}

}  // namespace agentrt::cpu
