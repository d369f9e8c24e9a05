// KvStore::tier_factory: the runtime's persistent tier, one KvStore per model fingerprint on
// a shared Db.
#include <map>
#include <mutex>

#include "storage/kv_store.h"

namespace agentrt::storage {

std::function<Result<std::shared_ptr<kv::KvTier>>(const std::string& fingerprint)>
KvStore::tier_factory(std::shared_ptr<Db> db, KvStoreOptions options) {
  struct Stores {
    std::mutex mu;
    std::shared_ptr<Db> db;
    KvStoreOptions options;
    std::map<std::string, std::shared_ptr<KvStore>> open;
  };
  auto stores = std::make_shared<Stores>();
  stores->db = std::move(db);
  stores->options = options;
  return [stores](const std::string& fingerprint) -> Result<std::shared_ptr<kv::KvTier>> {
    std::lock_guard lock(stores->mu);
    auto it = stores->open.find(fingerprint);
    if (it != stores->open.end()) return std::shared_ptr<kv::KvTier>(it->second);
    auto store = KvStore::open(stores->db, fingerprint, stores->options);
    if (!store.ok()) return store.error();
    std::shared_ptr<KvStore> shared = std::move(*store);
    stores->open.emplace(fingerprint, shared);
    return std::shared_ptr<kv::KvTier>(shared);
  };
}

}  // namespace agentrt::storage
