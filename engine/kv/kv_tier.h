// KvTier: a store of KV block contents below the device pool (host RAM, RocksDB), addressed
// by BlockKey. The engine reaches persistent storage only through this interface (storage/
// implements it), so engine/ never links RocksDB. Engine thread only unless thread_safe()
// says otherwise.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "engine/common/result.h"
#include "engine/kv/block_key.h"

namespace agentrt::kv {

class KvTier {
 public:
  using Value = std::vector<std::byte>;
  using Item = std::pair<BlockKey, Value>;

  virtual ~KvTier() = default;
  virtual std::string name() const = 0;
  // Stores `bytes` under `key`, replacing any value. Errors: the tier refused the write
  // (the block is then simply not cached there).
  virtual Status put(const BlockKey& key, std::span<const std::byte> bytes) = 0;
  // The value under `key`, or nullopt when absent. A value that fails its integrity check
  // is dropped and reported absent, never returned. Errors: an I/O failure.
  virtual Result<std::optional<Value>> get(const BlockKey& key) = 0;
  // Removes `key` if present.
  virtual Status erase(const BlockKey& key) = 0;
  // Whether a get() would promote rather than copy: a promoted value is erased from a tier
  // that returns true (host RAM), kept in one that returns false (persistent store).
  virtual bool move_on_promote() const = 0;

  // Stores every item (as put() does for each; a batching tier writes them atomically).
  // Errors: the first refused write (items before it may be stored; the default loops).
  virtual Status put_many(std::span<const Item> items) {
    for (const Item& item : items) {
      Status s = put(item.first, item.second);
      if (!s.ok()) return s;
    }
    return ok_status();
  }
  // One entry per key, in order: the value, or nullopt when absent (as get()). Errors: an
  // I/O failure (the default stops at the first).
  virtual Result<std::vector<std::optional<Value>>> get_many(std::span<const BlockKey> keys) {
    std::vector<std::optional<Value>> out;
    out.reserve(keys.size());
    for (const BlockKey& key : keys) {
      auto v = get(key);
      if (!v.ok()) return v.error();
      out.push_back(std::move(*v));
    }
    return out;
  }
  // Whether put/get/put_many/get_many may be called from a thread other than the engine
  // thread, concurrently with the engine's own calls (KvStore: true).
  virtual bool thread_safe() const { return false; }
  // Bytes the tier holds now (metrics); -1 when it does not keep count.
  virtual std::int64_t stored_bytes() const { return -1; }
};

}  // namespace agentrt::kv
