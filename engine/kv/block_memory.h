// BlockMemory: the physical KV memory behind the KV manager's block ids (a Backend's pool,
// seen through an adapter, so engine/kv does not depend on the backend). Engine thread only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <utility>

#include "engine/common/result.h"

namespace agentrt::kv {

class BlockMemory {
 public:
  virtual ~BlockMemory() = default;
  // Bytes of one block (every layer, K and V); the size read() and write() move.
  virtual std::size_t block_bytes() const = 0;
  // Copies whole blocks, pairs of (src, dst). Errors copy nothing.
  virtual Status copy(std::span<const std::pair<std::int32_t, std::int32_t>> pairs) = 0;
  // Reads block `id` into `out` (block_bytes() long). Errors: bad id or size.
  virtual Status read(std::int32_t id, std::span<std::byte> out) = 0;
  // Overwrites block `id` from `in` (block_bytes() long). Errors: bad id or size.
  virtual Status write(std::int32_t id, std::span<const std::byte> in) = 0;
};

}  // namespace agentrt::kv
