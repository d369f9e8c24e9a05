// KvStore: the persistent KV tier, KV block contents in RocksDB (column families kv_blocks
// and kv_meta). A row's key is the model's root key (from its fingerprint) followed by the
// block key; its value is a header {magic, format version, fingerprint key, block key,
// payload size, XXH3-64 checksum} and the payload. A value that fails any check is deleted
// and reported absent, so corrupt KV is recomputed, never served. Thread-safe (RocksDB is).
#pragma once

#include <atomic>
#include <filesystem>
#include <memory>
#include <string>

#include "engine/common/result.h"
#include "engine/kv/kv_tier.h"

namespace rocksdb {
class Env;
}

namespace agentrt::storage {

inline constexpr std::uint32_t kKvBlockMagic = 0x42564B41;  // "AKVB" little-endian
// The format of stored KV: the value layout here, and the keys that find values (block keys,
// engine/kv/block_key.h, and model fingerprints, engine/model/fingerprint.h, both pinned by
// test vectors). Bump it with any change to either: every value carries it and the store
// records it, so an old store's rows are dropped on open instead of silently missing.
inline constexpr std::uint16_t kKvBlockFormatVersion = 1;

struct KvStoreOptions {
  rocksdb::Env* env = nullptr;  // null: RocksDB's default (tests inject I/O faults here)
};

class KvStore final : public kv::KvTier {
 public:
  // Opens or creates the database in `dir` for one model. A store that records another
  // format version loses its blocks (they could never be served). Errors: io (RocksDB's
  // message).
  static Result<std::unique_ptr<KvStore>> open(const std::filesystem::path& dir,
                                               const std::string& model_fingerprint,
                                               const KvStoreOptions& options = {});
  // What the store records as its format in column family kv_meta under "format".
  static std::string format_tag();
  ~KvStore() override;
  KvStore(const KvStore&) = delete;
  KvStore& operator=(const KvStore&) = delete;

  std::string name() const override { return "rocksdb"; }
  Status put(const kv::BlockKey& key, std::span<const std::byte> bytes) override;
  Result<std::optional<std::vector<std::byte>>> get(const kv::BlockKey& key) override;
  Status erase(const kv::BlockKey& key) override;
  bool move_on_promote() const override { return false; }

  // Values dropped for failing a check since open.
  std::int64_t corrupt_dropped() const { return corrupt_dropped_.load(); }
  // The RocksDB row key of `key` (tests use it to reach the raw value).
  std::string row_key(const kv::BlockKey& key) const;

 private:
  struct Impl;
  explicit KvStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  std::atomic<std::int64_t> corrupt_dropped_{0};
};

}  // namespace agentrt::storage
