// Test helper for the cluster tests that kill a node with an on-disk KV store
// (--kv-store): what a reader of that store sees, so a test kills the node once the blocks
// it means to read back are stored instead of after a guessed delay.
#pragma once

#include <rocksdb/db.h>

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include "cluster/cluster_test_process.h"
#include "storage/db.h"

namespace agentrt::cluster::test_store {

// The KV blocks that a reader of the RocksDB store under `dir` sees now, opened read-only as
// the node that takes over a dead node's work opens it (no lock, the WAL replayed): only
// whole write batches count, and the engine writes a paused turn's blocks in one batch
// (KvPersister). 0 while the store cannot be opened.
inline std::size_t stored_blocks(const std::string& dir) {
  auto db = storage::Db::open_read_only(dir);
  if (!db.ok() || (*db)->cf(storage::Cf::kv_blocks) == nullptr) return 0;
  std::unique_ptr<rocksdb::Iterator> it(
      (*db)->raw()->NewIterator(rocksdb::ReadOptions(), (*db)->cf(storage::Cf::kv_blocks)));
  std::size_t n = 0;
  for (it->SeekToFirst(); it->Valid(); it->Next())
    ++n;
  return n;
}

// Whether the store under `dir` shows at least `blocks` blocks within `limit`.
inline bool wait_for_blocks(const std::string& dir, std::size_t blocks,
                            std::chrono::milliseconds limit) {
  return test_process::eventually([&] { return stored_blocks(dir) >= blocks; }, limit);
}

}  // namespace agentrt::cluster::test_store
