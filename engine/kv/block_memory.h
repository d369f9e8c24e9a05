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
  // Reads block ids[i] into out[i] for every i, overlapped where the memory can (one wait).
  // Errors: as read(); blocks before the bad one may have been read. The default loops.
  virtual Status read_many(std::span<const std::int32_t> ids,
                           std::span<const std::span<std::byte>> out) {
    if (ids.size() != out.size()) return size_mismatch();
    for (std::size_t i = 0; i < ids.size(); ++i)
      AGENTRT_TRY(read(ids[i], out[i]));
    return ok_status();
  }
  // Overwrites block ids[i] from in[i] for every i, overlapped where the memory can (one
  // wait). Errors: as write(); blocks before the bad one may have been written.
  virtual Status write_many(std::span<const std::int32_t> ids,
                            std::span<const std::span<const std::byte>> in) {
    if (ids.size() != in.size()) return size_mismatch();
    for (std::size_t i = 0; i < ids.size(); ++i)
      AGENTRT_TRY(write(ids[i], in[i]));
    return ok_status();
  }
  // read_many(read_ids, out) then write_many(write_ids, in), overlapped where the memory
  // can (a write waits only for the read of its own block). Errors: either's; on error some
  // of either may have been copied.
  virtual Status swap_many(std::span<const std::int32_t> read_ids,
                           std::span<const std::span<std::byte>> out,
                           std::span<const std::int32_t> write_ids,
                           std::span<const std::span<const std::byte>> in) {
    AGENTRT_TRY(read_many(read_ids, out));
    return write_many(write_ids, in);
  }

 private:
  static Status size_mismatch() {
    return make_error(ErrorCode::invalid_argument, "block memory: as many ids as spans needed");
  }
};

}  // namespace agentrt::kv
