// OrphanStores: the on-disk KV stores of dead nodes (NodeHello::kv_store) that a worker node
// reads KV from while it runs a job moved off one of them (JobSpec::kv_store). Each store is
// opened read-only (storage::Db::open_read_only: no lock, so the dead node may come back on it)
// on the first lease and closed when the last lease of it goes. ReadThroughTier asks it for the
// blocks its own tier lacks. Thread-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "engine/common/result.h"
#include "engine/kv/kv_tier.h"

namespace agentrt::storage {
class Db;
}

namespace agentrt::cluster {

class OrphanStores {
 public:
  // Keeps one store open while it lives; the destructor gives it back.
  class Lease {
   public:
    Lease() = default;
    Lease(Lease&& other) noexcept;
    Lease& operator=(Lease&& other) noexcept;
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    ~Lease();
    // Blocks read from the store through any lease since it was opened.
    std::int64_t blocks_read() const;
    const std::string& path() const { return path_; }

   private:
    friend class OrphanStores;
    std::shared_ptr<OrphanStores> owner_;
    std::string path_;
    std::shared_ptr<const std::atomic<std::int64_t>> read_;
  };

  // Opens the store at `path` read-only, or shares the one already open. Errors:
  // invalid_argument (a path that is not absolute), io (RocksDB cannot open it: another
  // machine's path, no store there).
  static Result<Lease> lease(const std::shared_ptr<OrphanStores>& self, const std::string& path);

  // Whether any store is open (a cheap check before read()).
  bool any() const { return open_.load(std::memory_order_acquire) > 0; }
  // The blocks of `keys`, of model `model_fingerprint`, in order up to the first one that no
  // open store holds (each value checked against its model and key, storage::read_kv_chain),
  // from the first store that holds keys[0]. Empty when none does; an I/O error reads as a
  // miss.
  std::vector<kv::KvTier::Value> read(const std::string& model_fingerprint,
                                      std::span<const kv::BlockKey> keys);

 private:
  struct Open {
    std::shared_ptr<storage::Db> db;
    int leases = 0;
    std::shared_ptr<std::atomic<std::int64_t>> blocks_read;
  };
  void release(const std::string& path);

  mutable std::mutex mu_;
  std::map<std::string, Open> stores_;  // by path
  std::atomic<int> open_{0};
};

}  // namespace agentrt::cluster
