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
  // Appends the keys it holds, at most `max` of them, most recently used first where it
  // keeps an order (KvManager::held_blocks: a cluster node's snapshot). A tier that cannot
  // list its keys (a RocksDB store) appends none. O(keys appended).
  virtual void list_keys(std::vector<BlockKey>& out, std::size_t max) const {
    (void)out;
    (void)max;
  }
  // Appends the keys the tier dropped on its own since the last call (least recently used
  // past its bound; not erase() calls, not take()) and forgets them. A tier records at most
  // kMaxDroppedKeys between calls (past that, the oldest are lost); one that does not record
  // them appends none. KvManager reports them as evicted events (kv_events.h).
  virtual void take_dropped(std::vector<BlockKey>& out) { (void)out; }
  static constexpr std::size_t kMaxDroppedKeys = 65536;

  // --- zero-copy access (host RAM); a tier without it returns false / nullopt ---
  // Whether peek(), take() and reserve() are supported.
  virtual bool zero_copy() const { return false; }
  // The bytes under `key` in place (counts as a read for LRU), or nullopt when absent.
  // Valid until the tier's next put, erase, take or reserve.
  virtual std::optional<std::span<const std::byte>> peek(const BlockKey& key) {
    (void)key;
    return std::nullopt;
  }
  // Removes `key` (get() misses it from now on) but keeps its bytes readable, and their
  // memory unused by later puts, until release_taken(). nullopt when absent.
  virtual std::optional<std::span<const std::byte>> take(const BlockKey& key) {
    (void)key;
    return std::nullopt;
  }
  // Frees the memory of every value take() returned.
  virtual void release_taken() {}
  // A slot of `bytes` for `key` (replacing any value under it), to be filled by the caller
  // and then published by commit(key) or dropped by cancel(key); invisible to get() and
  // never demoted until then. nullopt when the tier cannot hold it (no room, other size).
  virtual std::optional<std::span<std::byte>> reserve(const BlockKey& key, std::size_t bytes) {
    (void)key;
    (void)bytes;
    return std::nullopt;
  }
  // Publishes a reserve()d slot as the value of `key`, most recently used. No-op if none.
  virtual void commit(const BlockKey& key) { (void)key; }
  // Frees a reserve()d slot. No-op if none.
  virtual void cancel(const BlockKey& key) { (void)key; }
};

}  // namespace agentrt::kv
