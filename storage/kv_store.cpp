#include "storage/kv_store.h"

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstring>
#include <mutex>
#include <optional>
#include <tuple>

#include "engine/kv/dropped_keys.h"
#include "storage/kv_store_lru.h"

namespace agentrt::storage {

namespace {

// kv_meta rows "use:" + row key -> {last use tick, bytes} (u64 little-endian each): the
// recency and size of every block row, written with it, so that open rebuilds the LRU
// without reading the blocks.
constexpr std::string_view kUsePrefix = "use:";

std::string use_key(const std::string& row) {
  return std::string(kUsePrefix) + row;
}

std::string use_value(std::uint64_t tick, std::uint64_t bytes) {
  std::string v(16, '\0');
  for (int i = 0; i < 8; ++i) {
    v[static_cast<std::size_t>(i)] = static_cast<char>((tick >> (8 * i)) & 0xff);
    v[static_cast<std::size_t>(8 + i)] = static_cast<char>((bytes >> (8 * i)) & 0xff);
  }
  return v;
}

std::uint64_t le64(const char* p) {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i)
    v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

}  // namespace

namespace {
// The block key of a row (the model's key, then the block's); nullopt for another shape.
std::optional<kv::BlockKey> block_key_of_row(const std::string& row) {
  constexpr std::size_t kKey = 16;  // BlockKey::bytes()
  if (row.size() != 2 * kKey) return std::nullopt;
  std::array<std::byte, kKey> b{};
  std::memcpy(b.data(), row.data() + kKey, kKey);
  return kv::BlockKey::from_bytes(b);
}
}  // namespace

struct KvStore::Impl {
  std::shared_ptr<Db> db;
  kv::BlockKey model;
  KvStoreOptions options;
  std::atomic<std::int64_t> corrupt_dropped{0};
  std::atomic<std::int64_t> lru_deleted{0};

  std::mutex mu;  // guards lru, tick and dropped, and orders the writes that change them
  KvStoreLru lru;
  std::uint64_t tick = 0;
  kv::DroppedKeys dropped;  // rows deleted past max_bytes, as block keys

  rocksdb::DB* raw() const { return db->raw(); }
  rocksdb::ColumnFamilyHandle* blocks() const { return db->cf(Cf::kv_blocks); }
  rocksdb::ColumnFamilyHandle* meta() const { return db->cf(Cf::kv_meta); }

  std::string row_key(const kv::BlockKey& key) const {
    std::string k;
    append_key(k, model);
    append_key(k, key);
    return k;
  }

  Status check_format();
  Status load_recency();
  struct Write {
    const kv::BlockKey* key;
    std::span<const std::byte> bytes;
  };
  Status write(std::span<const Write> writes);
  void record_reads(const std::vector<std::pair<std::string, std::uint64_t>>& hits,
                    const std::vector<std::string>& missing,
                    const std::vector<std::string>& corrupt);
};

KvStore::KvStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
KvStore::~KvStore() = default;

std::string KvStore::format_tag() {
  return "agentrt kv block v" + std::to_string(kKvBlockFormatVersion) +
         "; key = model(16) block(16)";
}

// Drops every block (and its recency) when the store records another format version.
Status KvStore::Impl::check_format() {
  std::string recorded;
  auto s = raw()->Get({}, meta(), "format", &recorded);
  if (!s.ok() && !s.IsNotFound()) return rocksdb_error("kv store", "read kv_meta", s);
  if (s.ok() && recorded != format_tag()) {
    // Row keys are 32 bytes, all in ["\0", 33 bytes of 0xff); Db's sentinel "" stays.
    rocksdb::WriteBatch batch;
    s = batch.DeleteRange(blocks(), std::string(1, '\0'), std::string(33, '\xff'));
    if (s.ok()) s = batch.DeleteRange(meta(), "use:", "use;");
    if (s.ok()) s = raw()->Write({}, &batch);
    if (!s.ok())
      return rocksdb_error("kv store", "drop blocks of format '" + recorded.substr(0, 200) + "'",
                           s);
  }
  s = raw()->Put({}, meta(), "format", format_tag());
  if (!s.ok()) return rocksdb_error("kv store", "write kv_meta", s);
  return ok_status();
}

// Rebuilds sizes and recency of this model's rows from kv_meta.
Status KvStore::Impl::load_recency() {
  const std::string prefix = use_key(row_key(kv::BlockKey{}).substr(0, 16));
  std::vector<std::tuple<std::uint64_t, std::string, std::uint64_t>> rows;
  rocksdb::WriteBatch bad;
  std::unique_ptr<rocksdb::Iterator> it(raw()->NewIterator({}, meta()));
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    const auto k = it->key();
    const auto v = it->value();
    if (k.size() != prefix.size() + 16 || v.size() != 16) {
      bad.Delete(meta(), k).PermitUncheckedError();
      continue;
    }
    rows.emplace_back(le64(v.data()), k.ToString().substr(kUsePrefix.size()), le64(v.data() + 8));
  }
  if (!it->status().ok()) return rocksdb_error("kv store", "read kv_meta", it->status());
  std::sort(rows.begin(), rows.end());
  for (const auto& [t, row, bytes] : rows) {
    lru.touch(row, bytes);
    tick = std::max(tick, t);
  }
  if (bad.Count() > 0) raw()->Write({}, &bad).PermitUncheckedError();
  return ok_status();
}

// Stores `writes` in one batch with their recency, deleting the least recently used rows
// past max_bytes in the same batch. An empty batch only trims.
Status KvStore::Impl::write(std::span<const Write> writes) {
  std::lock_guard lock(mu);
  rocksdb::WriteBatch batch;
  std::map<std::string, std::uint64_t> incoming;
  std::vector<std::pair<std::string, std::uint64_t>> order;
  for (const Write& w : writes) {
    std::string row = row_key(*w.key);
    const std::string value = encode_kv_block(model, *w.key, w.bytes);
    const std::uint64_t bytes = row.size() + value.size();
    auto s = batch.Put(blocks(), row, value);
    if (s.ok()) s = batch.Put(meta(), use_key(row), use_value(tick + order.size() + 1, bytes));
    if (!s.ok()) return rocksdb_error("kv store", "put " + w.key->hex(), s);
    incoming[row] = bytes;
    order.emplace_back(std::move(row), bytes);
  }
  std::vector<std::string> victims;
  if (options.max_bytes != 0) {
    auto v = lru.victims(incoming, options.max_bytes);
    if (!v) {
      std::uint64_t total = 0;
      for (const auto& [row, bytes] : incoming)
        total += bytes;
      return make_error(ErrorCode::out_of_memory, "kv store: a write of " + std::to_string(total) +
                                                      " bytes exceeds max_bytes " +
                                                      std::to_string(options.max_bytes));
    }
    victims = std::move(*v);
  }
  for (const auto& row : victims) {
    batch.Delete(blocks(), row).PermitUncheckedError();
    batch.Delete(meta(), use_key(row)).PermitUncheckedError();
  }
  if (batch.Count() == 0) return ok_status();
  auto s = raw()->Write({}, &batch);
  if (!s.ok()) {
    return rocksdb_error("kv store",
                         order.size() == 1 ? "put " + writes[0].key->hex()
                                           : "put " + std::to_string(order.size()) + " blocks",
                         s);
  }
  for (const auto& [row, bytes] : order) {
    ++tick;
    lru.touch(row, bytes);
  }
  for (const auto& row : victims) {
    lru.remove(row);
    if (auto key = block_key_of_row(row)) dropped.add(*key);
  }
  lru_deleted += static_cast<std::int64_t>(victims.size());
  return ok_status();
}

// After a read: hits become the most recently used; rows found missing leave the LRU; corrupt
// rows are deleted. Best effort: recency is advisory, so a failed write is ignored. The read
// ran outside the lock, so a write may have come between; both cases are checked against
// the table under the lock. A hit whose row a write has since evicted is not tracked again
// (an untracked hit still stored is), and a row found missing that a write has since stored
// stays tracked: else the LRU would lose a stored row and the store outgrow max_bytes.
void KvStore::Impl::record_reads(const std::vector<std::pair<std::string, std::uint64_t>>& hits,
                                 const std::vector<std::string>& missing,
                                 const std::vector<std::string>& corrupt) {
  if (hits.empty() && corrupt.empty() && missing.empty()) return;
  std::lock_guard lock(mu);
  rocksdb::WriteBatch batch;
  std::string value;
  for (const auto& [row, bytes] : hits) {
    if (!lru.contains(row) && !raw()->Get({}, blocks(), row, &value).ok()) continue;
    lru.touch(row, bytes);
    batch.Put(meta(), use_key(row), use_value(++tick, bytes)).PermitUncheckedError();
  }
  for (const auto& row : missing) {
    if (!lru.contains(row)) continue;
    const auto now = raw()->Get({}, blocks(), row, &value);
    if (!now.IsNotFound()) continue;  // stored since the read (or unreadable: keep it)
    lru.remove(row);
    batch.Delete(meta(), use_key(row)).PermitUncheckedError();
  }
  for (const auto& row : corrupt) {
    lru.remove(row);
    batch.Delete(blocks(), row).PermitUncheckedError();
    batch.Delete(meta(), use_key(row)).PermitUncheckedError();
  }
  if (batch.Count() > 0) raw()->Write({}, &batch).PermitUncheckedError();
}

Result<std::unique_ptr<KvStore>> KvStore::open(std::shared_ptr<Db> db,
                                               const std::string& model_fingerprint,
                                               const KvStoreOptions& options) {
  if (!db) return make_error(ErrorCode::invalid_argument, "kv store: no database");
  auto impl = std::make_unique<Impl>();
  impl->db = std::move(db);
  impl->model = kv::root_key(model_fingerprint);
  impl->options = options;
  AGENTRT_TRY(impl->check_format());
  auto s = impl->raw()->Put({}, impl->meta(), "model:" + impl->model.hex(), model_fingerprint);
  if (!s.ok()) return rocksdb_error("kv store", "write kv_meta", s);
  AGENTRT_TRY(impl->load_recency());
  if (options.max_bytes != 0) AGENTRT_TRY(impl->write({}));  // a smaller bound than before
  return std::unique_ptr<KvStore>(new KvStore(std::move(impl)));
}

Result<std::unique_ptr<KvStore>> KvStore::open(const std::filesystem::path& dir,
                                               const std::string& model_fingerprint,
                                               const KvStoreOptions& options) {
  DbOptions db_options;
  db_options.env = options.env;
  auto db = Db::open(dir, db_options);
  if (!db.ok()) return db.error();
  return open(std::move(*db), model_fingerprint, options);
}

std::string KvStore::row_key(const kv::BlockKey& key) const {
  return impl_->row_key(key);
}

std::int64_t KvStore::corrupt_dropped() const {
  return impl_->corrupt_dropped.load();
}

void KvStore::list_keys(std::vector<kv::BlockKey>& out, std::size_t max) const {
  std::lock_guard lock(impl_->mu);
  std::size_t added = 0;
  impl_->lru.for_each_recent([&](const std::string& row) {
    if (added >= max) return false;
    if (auto key = block_key_of_row(row)) {
      out.push_back(*key);
      ++added;
    }
    return true;
  });
}

void KvStore::take_dropped(std::vector<kv::BlockKey>& out) {
  std::lock_guard lock(impl_->mu);
  impl_->dropped.take(out);
}

std::int64_t KvStore::lru_deleted() const {
  return impl_->lru_deleted.load();
}

std::uint64_t KvStore::bytes_used() const {
  std::lock_guard lock(impl_->mu);
  return impl_->lru.total_bytes();
}

Status KvStore::put(const kv::BlockKey& key, std::span<const std::byte> bytes) {
  const Impl::Write w{&key, bytes};
  return impl_->write(std::span(&w, 1));
}

Status KvStore::put_many(std::span<const Item> items) {
  std::vector<Impl::Write> writes;
  writes.reserve(items.size());
  for (const Item& item : items)
    writes.push_back({&item.first, item.second});
  return impl_->write(writes);
}

Result<std::optional<KvStore::Value>> KvStore::get(const kv::BlockKey& key) {
  auto got = get_many(std::span(&key, 1));
  if (!got.ok()) return got.error();
  return std::move((*got)[0]);
}

Result<std::vector<std::optional<KvStore::Value>>> KvStore::get_many(
    std::span<const kv::BlockKey> keys) {
  const std::size_t n = keys.size();
  std::vector<std::string> rows;
  std::vector<rocksdb::Slice> slices;
  rows.reserve(n);
  slices.reserve(n);
  for (const auto& key : keys) {
    rows.push_back(row_key(key));
    slices.emplace_back(rows.back());
  }
  std::vector<rocksdb::PinnableSlice> values(n);
  std::vector<rocksdb::Status> statuses(n);
  impl_->raw()->MultiGet({}, impl_->blocks(), n, slices.data(), values.data(), statuses.data());
  std::vector<std::optional<Value>> out(n);
  std::vector<std::pair<std::string, std::uint64_t>> hits;
  std::vector<std::string> missing, corrupt;
  for (std::size_t i = 0; i < n; ++i) {
    if (statuses[i].IsNotFound()) {
      missing.push_back(rows[i]);
      continue;
    }
    // A damaged table block (RocksDB's own checksum) is corrupt KV like a bad value: the
    // row is deleted (its tombstone shadows the damage) and the block recomputed.
    if (statuses[i].IsCorruption()) {
      ++impl_->corrupt_dropped;
      corrupt.push_back(rows[i]);
      continue;
    }
    if (!statuses[i].ok()) return rocksdb_error("kv store", "get " + keys[i].hex(), statuses[i]);
    out[i] = decode_kv_block(impl_->model, keys[i], values[i].ToStringView());
    if (out[i]) {
      hits.emplace_back(rows[i], rows[i].size() + values[i].size());
    } else {
      ++impl_->corrupt_dropped;
      corrupt.push_back(rows[i]);
    }
  }
  impl_->record_reads(hits, missing, corrupt);
  return out;
}

Status KvStore::erase(const kv::BlockKey& key) {
  const std::string row = row_key(key);
  std::lock_guard lock(impl_->mu);
  rocksdb::WriteBatch batch;
  auto s = batch.Delete(impl_->blocks(), row);
  if (s.ok()) s = batch.Delete(impl_->meta(), use_key(row));
  if (s.ok()) s = impl_->raw()->Write({}, &batch);
  if (!s.ok()) return rocksdb_error("kv store", "delete " + key.hex(), s);
  impl_->lru.remove(row);
  return ok_status();
}

Result<std::vector<kv::KvTier::Value>> read_kv_chain(const Db& db,
                                                     const std::string& model_fingerprint,
                                                     std::span<const kv::BlockKey> keys) {
  std::vector<kv::KvTier::Value> out;
  auto* blocks = db.cf(Cf::kv_blocks);
  if (blocks == nullptr) return out;  // a store that never held KV
  const kv::BlockKey model = kv::root_key(model_fingerprint);
  rocksdb::ReadOptions ro;
  ro.fill_cache = false;  // read once, for another process's engine
  for (const auto& key : keys) {
    std::string row, value;
    append_key(row, model);
    append_key(row, key);
    auto s = db.raw()->Get(ro, blocks, row, &value);
    if (s.IsNotFound() || s.IsCorruption()) break;
    if (!s.ok()) return rocksdb_error("kv store", "get " + key.hex(), s);
    auto payload = decode_kv_block(model, key, value);
    if (!payload) break;
    out.push_back(std::move(*payload));
  }
  return out;
}

}  // namespace agentrt::storage
