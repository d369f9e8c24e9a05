// KvStore: the persistent KV tier, KV block contents in a Db (column families kv_blocks and
// kv_meta). A row's key is the model's root key (from its fingerprint) followed by the
// block key; its value is kv_block_value.h's checked form. A value that fails any check is
// deleted and reported absent, so corrupt KV is recomputed, never served. With a size bound
// the least recently used rows are deleted past it. Thread-safe.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "engine/common/result.h"
#include "engine/kv/kv_tier.h"
#include "storage/db.h"
#include "storage/kv_block_value.h"

namespace rocksdb {
class Env;
}

namespace agentrt::storage {

struct KvStoreOptions {
  rocksdb::Env* env = nullptr;  // the dir overload's Db (tests inject I/O faults here)
  // Bound on this model's rows (keys and values, bytes); past it the least recently used
  // rows (a get or put is a use) are deleted. 0: unbounded. A larger single write is refused.
  std::uint64_t max_bytes = 0;
};

class KvStore final : public kv::KvTier {
 public:
  // Opens the store of one model in `db`. Sizes and recency come back from kv_meta; a store
  // that records another format version loses its blocks (they could never be served), and
  // one past max_bytes is trimmed. Errors: io (RocksDB's message).
  static Result<std::unique_ptr<KvStore>> open(std::shared_ptr<Db> db,
                                               const std::string& model_fingerprint,
                                               const KvStoreOptions& options = {});
  // As above, on a Db of its own at `dir` (opened or created, repaired if damaged).
  static Result<std::unique_ptr<KvStore>> open(const std::filesystem::path& dir,
                                               const std::string& model_fingerprint,
                                               const KvStoreOptions& options = {});
  // For the runtime's persistent tier: opens one KvStore per fingerprint on `db`, once (the
  // same store is returned again). Thread-safe. Errors: as open.
  static std::function<Result<std::shared_ptr<kv::KvTier>>(const std::string& fingerprint)>
  tier_factory(std::shared_ptr<Db> db, KvStoreOptions options);
  // What the store records as its format in column family kv_meta under "format".
  static std::string format_tag();
  ~KvStore() override;
  KvStore(const KvStore&) = delete;
  KvStore& operator=(const KvStore&) = delete;

  std::string name() const override { return "rocksdb"; }
  Status put(const kv::BlockKey& key, std::span<const std::byte> bytes) override;
  Result<std::optional<Value>> get(const kv::BlockKey& key) override;
  Status erase(const kv::BlockKey& key) override;
  bool move_on_promote() const override { return false; }
  // One WriteBatch: every item is stored, or none is.
  Status put_many(std::span<const Item> items) override;
  // One MultiGet. Errors: the first I/O failure.
  Result<std::vector<std::optional<Value>>> get_many(std::span<const kv::BlockKey> keys) override;
  bool thread_safe() const override { return true; }
  // This model's block keys, most recently used first (from the in-memory recency, no read).
  void list_keys(std::vector<kv::BlockKey>& out, std::size_t max) const override;
  // The blocks it deleted past max_bytes (least recently used first out).
  void take_dropped(std::vector<kv::BlockKey>& out) override;
  std::int64_t stored_bytes() const override { return static_cast<std::int64_t>(bytes_used()); }

  // Values dropped for failing a check since open.
  std::int64_t corrupt_dropped() const;
  // Rows deleted for max_bytes since open.
  std::int64_t lru_deleted() const;
  // Bytes (keys and values) of the rows the store tracks.
  std::uint64_t bytes_used() const;
  // The RocksDB row key of `key` (tests use it to reach the raw value).
  std::string row_key(const kv::BlockKey& key) const;

 private:
  struct Impl;
  explicit KvStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Reads the blocks of `keys`, in order, up to the first one absent or failing a check, from
// the rows of model `model_fingerprint` in `db`, changing nothing (no recency, no deletes), so
// `db` may be read-only: the store of a cluster node that died. Errors: io.
Result<std::vector<kv::KvTier::Value>> read_kv_chain(const Db& db,
                                                     const std::string& model_fingerprint,
                                                     std::span<const kv::BlockKey> keys);

}  // namespace agentrt::storage
