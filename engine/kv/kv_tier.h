// KvTier: a store of KV block contents below the device pool (host RAM, RocksDB), addressed
// by BlockKey. The engine reaches persistent storage only through this interface (storage/
// implements it), so engine/ never links RocksDB. Engine thread only unless an
// implementation says otherwise.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "engine/common/result.h"
#include "engine/kv/block_key.h"

namespace agentrt::kv {

class KvTier {
 public:
  virtual ~KvTier() = default;
  virtual std::string name() const = 0;
  // Stores `bytes` under `key`, replacing any value. Errors: the tier refused the write
  // (the block is then simply not cached there).
  virtual Status put(const BlockKey& key, std::span<const std::byte> bytes) = 0;
  // The value under `key`, or nullopt when absent. A value that fails its integrity check
  // is dropped and reported absent, never returned. Errors: an I/O failure.
  virtual Result<std::optional<std::vector<std::byte>>> get(const BlockKey& key) = 0;
  // Removes `key` if present.
  virtual Status erase(const BlockKey& key) = 0;
  // Whether a get() would promote rather than copy: a promoted value is erased from a tier
  // that returns true (host RAM), kept in one that returns false (persistent store).
  virtual bool move_on_promote() const = 0;
};

}  // namespace agentrt::kv
