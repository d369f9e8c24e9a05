// Repair of a damaged Db directory (used by db.cpp only): runs RocksDB's RepairDB and says
// what it did and what was lost, in lines for Db::recovered_problems().
#pragma once

#include <rocksdb/db.h>

#include <filesystem>
#include <string>
#include <vector>

namespace agentrt::storage::detail {

// Whether `dir` holds store files but no CURRENT: RocksDB would start an empty store over
// them and delete them as obsolete, so it must be repaired instead.
bool lost_current(const std::filesystem::path& dir);

// A key read from a table file that repair moved to lost/.
struct LostKey {
  std::string cf;  // column family name
  std::string key;
};

// Runs RepairDB on `dir` with `cfs` (unknown column families get default options) and
// appends to `problems` what it reported (its warnings and errors) and each table file it
// moved to lost/ with its column family. The keys still readable in those files (checksums
// off), except those of `skip_cf`, go to `lost`. Returns RepairDB's status.
rocksdb::Status repair(const std::filesystem::path& dir, rocksdb::DBOptions options,
                       const std::vector<rocksdb::ColumnFamilyDescriptor>& cfs,
                       const std::string& skip_cf, std::vector<std::string>& problems,
                       std::vector<LostKey>& lost);

}  // namespace agentrt::storage::detail
