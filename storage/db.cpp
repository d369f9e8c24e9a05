#include "storage/db.h"

#include <rocksdb/cache.h>
#include <rocksdb/db.h>
#include <rocksdb/table.h>

#include <algorithm>
#include <array>
#include <system_error>

#include "storage/db_repair.h"

namespace agentrt::storage {

namespace {

constexpr std::array<const char*, kCfCount> kCfNames{"kv_blocks", "kv_meta", "jobs", "events",
                                                     "checkpoints"};
// Column families scanned in full on open, so that damage surfaces (and is repaired) at
// start rather than mid-job. kv_blocks is too large to read at every start; its values
// carry their own checksums and a bad one is recomputed.
constexpr std::array<Cf, 4> kVerifiedOnOpen{Cf::kv_meta, Cf::jobs, Cf::events, Cf::checkpoints};

Error io_error(const std::filesystem::path& dir, const std::string& what,
               const rocksdb::Status& s) {
  return make_error(ErrorCode::io, "db " + dir.string() + ": " + what + ": " + s.ToString());
}

// Damage that repair may fix, as opposed to a refused read or write.
bool is_damage(const rocksdb::Status& s) {
  return s.IsCorruption() || s.IsPathNotFound();
}

}  // namespace

Error rocksdb_error(std::string_view store, const std::string& what, const rocksdb::Status& s) {
  return make_error(ErrorCode::io, std::string(store) + ": " + what + ": " + s.ToString());
}

const char* cf_name(Cf which) {
  return kCfNames[static_cast<std::size_t>(which)];
}

struct Db::Impl {
  std::filesystem::path dir;
  rocksdb::DBOptions options;
  std::shared_ptr<rocksdb::Cache> cache;
  std::unique_ptr<rocksdb::DB> db;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;  // every open column family
  std::array<rocksdb::ColumnFamilyHandle*, kCfCount> ours{};
  std::vector<std::string> problems;
  std::vector<LostKey> lost;

  ~Impl() { close(); }

  rocksdb::ColumnFamilyOptions cf_options(const std::string& name) const {
    rocksdb::ColumnFamilyOptions o;
    rocksdb::BlockBasedTableOptions table;
    table.block_cache = cache;
    o.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
    // KV tensors do not compress, and job records are small; uncompressed, a damaged table
    // file still shows repair the keys of the records it loses.
    o.compression = rocksdb::kNoCompression;
    if (name == cf_name(Cf::kv_blocks)) {
      // Repair puts every table file in level 0; a large KV store would then stop all
      // writes (jobs too: the write controller is shared) until compaction caught up.
      o.level0_slowdown_writes_trigger = 256;
      o.level0_stop_writes_trigger = 1024;
    } else {
      o.write_buffer_size = 8ull << 20;  // small records
    }
    return o;
  }

  // Every column family the store has, plus ours.
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors() const {
    std::vector<std::string> names;
    if (!rocksdb::DB::ListColumnFamilies(options, dir.string(), &names).ok()) names.clear();
    if (names.empty()) names.push_back(rocksdb::kDefaultColumnFamilyName);
    for (const char* n : kCfNames) {
      if (std::find(names.begin(), names.end(), n) == names.end()) names.emplace_back(n);
    }
    std::vector<rocksdb::ColumnFamilyDescriptor> out;
    for (const auto& n : names)
      out.emplace_back(n, cf_options(n));
    return out;
  }

  rocksdb::Status open_once() {
    const auto cfs = descriptors();
    rocksdb::DB* raw = nullptr;
    auto s = rocksdb::DB::Open(options, dir.string(), cfs, &handles, &raw);
    if (!s.ok()) return s;
    db.reset(raw);
    for (std::size_t i = 0; i < cfs.size(); ++i) {
      for (std::size_t c = 0; c < kCfCount; ++c) {
        if (cfs[i].name == kCfNames[c]) ours[c] = handles[i];
      }
    }
    return s;
  }

  void close() {
    if (!db) return;
    for (auto* h : handles)
      db->DestroyColumnFamilyHandle(h).PermitUncheckedError();
    handles.clear();
    ours = {};
    db->Close().PermitUncheckedError();
    db.reset();
  }

  // Reads every record of the small column families with checksums verified.
  rocksdb::Status verify() {
    rocksdb::ReadOptions ro;
    ro.verify_checksums = true;
    ro.fill_cache = false;
    for (Cf c : kVerifiedOnOpen) {
      std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(ro, ours[static_cast<int>(c)]));
      for (it->SeekToFirst(); it->Valid(); it->Next()) {
      }
      if (!it->status().ok()) return it->status();
    }
    return rocksdb::Status::OK();
  }

  // Gives each column family without a table file one holding kSentinelKey.
  rocksdb::Status place_sentinels() {
    std::vector<rocksdb::ColumnFamilyHandle*> to_flush;
    for (auto* h : ours) {
      rocksdb::ColumnFamilyMetaData meta;
      db->GetColumnFamilyMetaData(h, &meta);
      if (meta.file_count != 0) continue;
      auto s = db->Put({}, h, kSentinelKey, "");
      if (!s.ok()) return s;
      to_flush.push_back(h);
    }
    if (to_flush.empty()) return rocksdb::Status::OK();
    return db->Flush({}, to_flush);
  }
};

Db::Db(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Db::~Db() = default;

Result<std::shared_ptr<Db>> Db::open(const std::filesystem::path& dir, const DbOptions& options) {
  auto impl = std::make_unique<Impl>();
  impl->dir = dir;
  impl->cache = rocksdb::NewLRUCache(options.block_cache_bytes);
  auto& o = impl->options;
  if (options.env != nullptr) o.env = options.env;
  o.create_if_missing = true;
  o.create_missing_column_families = true;
  o.max_open_files = options.max_open_files;
  o.keep_log_file_num = 4;
  // A damaged WAL record fails the open, and repair then keeps every other record; the
  // default (point in time) would silently drop every record after it. A record torn at the
  // tail by a crash mid-write (never acknowledged: a synced write returns only once whole)
  // is tolerated: kAbsoluteConsistency refused it too, so every kill -9 during a write
  // forced a repair (seen in JobStoreCrash under CI).
  o.wal_recovery_mode = rocksdb::WALRecoveryMode::kTolerateCorruptedTailRecords;

  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    return make_error(ErrorCode::io, "db " + dir.string() + ": create: " + ec.message());
  }

  std::string damage;
  if (detail::lost_current(dir)) {
    damage = "CURRENT is missing";
  } else {
    auto s = impl->open_once();
    if (s.ok()) {
      s = impl->verify();
      if (!s.ok()) impl->close();
    }
    if (!s.ok() && !is_damage(s)) return io_error(dir, "open", s);
    if (!s.ok()) damage = s.ToString();
  }
  if (!damage.empty()) {
    impl->problems.push_back(dir.string() + ": " + damage + "; repaired with RocksDB RepairDB");
    std::vector<detail::LostKey> lost;
    auto s =
        detail::repair(dir, o, impl->descriptors(), cf_name(Cf::kv_blocks), impl->problems, lost);
    for (auto& k : lost) {
      for (std::size_t c = 0; c < kCfCount; ++c) {
        if (k.cf == kCfNames[c]) impl->lost.push_back({static_cast<Cf>(c), std::move(k.key)});
      }
    }
    if (!s.ok()) return io_error(dir, "repair after '" + damage + "'", s);
    s = impl->open_once();
    if (s.ok()) s = impl->verify();
    if (!s.ok()) return io_error(dir, "open after repair", s);
  }
  auto s = impl->place_sentinels();
  if (!s.ok()) return io_error(dir, "write", s);
  return std::shared_ptr<Db>(new Db(std::move(impl)));
}

Result<std::shared_ptr<Db>> Db::open_read_only(const std::filesystem::path& dir,
                                               const DbOptions& options) {
  auto impl = std::make_unique<Impl>();
  impl->dir = dir;
  impl->cache = rocksdb::NewLRUCache(options.block_cache_bytes);
  auto& o = impl->options;
  if (options.env != nullptr) o.env = options.env;
  o.max_open_files = options.max_open_files;
  o.wal_recovery_mode = rocksdb::WALRecoveryMode::kTolerateCorruptedTailRecords;
  std::vector<std::string> names;
  auto s = rocksdb::DB::ListColumnFamilies(o, dir.string(), &names);
  if (!s.ok()) return io_error(dir, "open read-only", s);
  std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
  for (const auto& n : names)
    cfs.emplace_back(n, impl->cf_options(n));
  rocksdb::DB* raw = nullptr;
  s = rocksdb::DB::OpenForReadOnly(o, dir.string(), cfs, &impl->handles, &raw);
  if (!s.ok()) return io_error(dir, "open read-only", s);
  impl->db.reset(raw);
  for (std::size_t i = 0; i < cfs.size(); ++i)
    for (std::size_t c = 0; c < kCfCount; ++c)
      if (cfs[i].name == kCfNames[c]) impl->ours[c] = impl->handles[i];
  return std::shared_ptr<Db>(new Db(std::move(impl)));
}

rocksdb::DB* Db::raw() const {
  return impl_->db.get();
}

rocksdb::ColumnFamilyHandle* Db::cf(Cf which) const {
  return impl_->ours[static_cast<std::size_t>(which)];
}

const std::filesystem::path& Db::dir() const {
  return impl_->dir;
}

const std::vector<std::string>& Db::recovered_problems() const {
  return impl_->problems;
}

const std::vector<LostKey>& Db::lost_keys() const {
  return impl_->lost;
}

Status Db::flush() {
  auto s = impl_->db->FlushWAL(true);
  if (s.ok()) {
    std::vector<rocksdb::ColumnFamilyHandle*> all(impl_->ours.begin(), impl_->ours.end());
    s = impl_->db->Flush({}, all);
  }
  if (!s.ok()) return io_error(impl_->dir, "flush", s);
  return ok_status();
}

}  // namespace agentrt::storage
