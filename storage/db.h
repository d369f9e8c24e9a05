// Db: the one RocksDB directory behind agentrt's persistent stores, with a column family per
// kind of record: kv_blocks and kv_meta (KvStore), jobs, events and checkpoints (JobStore).
// A store RocksDB finds damaged is repaired on open and says what it lost. Thread-safe.
#pragma once

#include <cstddef>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/common/result.h"

namespace rocksdb {
class ColumnFamilyHandle;
class DB;
class Env;
class Status;
}  // namespace rocksdb

namespace agentrt::storage {

enum class Cf { kv_blocks, kv_meta, jobs, events, checkpoints };
inline constexpr int kCfCount = 5;
// The column family's name in RocksDB ("kv_blocks", ...).
const char* cf_name(Cf which);

// Every column family holds this key (an empty one) in a table file, so that RocksDB's
// repair, which learns column families from table files, keeps unflushed records of each.
// Stores skip it.
inline constexpr const char* kSentinelKey = "";

struct DbOptions {
  rocksdb::Env* env = nullptr;                  // null: RocksDB's default (tests inject faults)
  std::size_t block_cache_bytes = 64ull << 20;  // shared by every column family
  int max_open_files = 256;                     // table files kept open at once
};

// A record's key read back from a table file that repair had to set aside.
struct LostKey {
  Cf cf;
  std::string key;
};

// An io error for a failed RocksDB call: "STORE: WHAT: RocksDB's message".
Error rocksdb_error(std::string_view store, const std::string& what, const rocksdb::Status& s);

class Db {
 public:
  // Opens or creates the database in `dir`. A store that RocksDB reports damaged (corrupt
  // files, a missing CURRENT or table file, an unreadable record in the job column families)
  // is repaired with RocksDB's RepairDB and reopened; what was done and lost is then in
  // recovered_problems(). Errors: io (RocksDB's message, naming `dir`), also when repair fails.
  static Result<std::shared_ptr<Db>> open(const std::filesystem::path& dir,
                                          const DbOptions& options = {});
  // Opens the database in `dir` read-only (RocksDB's OpenForReadOnly: no lock taken, nothing
  // written, the WAL replayed in memory), e.g. the store of a process that died or that still
  // runs. No repair; cf() is null for a column family the store does not have. Errors: io.
  static Result<std::shared_ptr<Db>> open_read_only(const std::filesystem::path& dir,
                                                    const DbOptions& options = {});
  ~Db();
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  rocksdb::DB* raw() const;
  rocksdb::ColumnFamilyHandle* cf(Cf which) const;
  const std::filesystem::path& dir() const;
  // What the repair on open found and lost, one line each (empty when none ran), e.g.
  // "table file 000012.sst (column family jobs, 40 records readable) was unreadable and
  // moved to lost/", or RepairDB's own warnings ("Log #18: dropping 2600 bytes; ...").
  const std::vector<std::string>& recovered_problems() const;
  // The keys of records in the table files that repair set aside (read with checksums off,
  // so best effort: a damaged block's keys may be missing), for every column family but
  // kv_blocks. A key may still be in the store (a newer version elsewhere).
  const std::vector<LostKey>& lost_keys() const;
  // Writes memtables to table files and syncs the WAL (shutdown). Errors: io.
  Status flush();

 private:
  struct Impl;
  explicit Db(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace agentrt::storage
