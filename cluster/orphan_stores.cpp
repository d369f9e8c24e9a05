// OrphanStores (orphan_stores.h): dead nodes' KV stores, open read-only while leased.
#include "cluster/orphan_stores.h"

#include "storage/db.h"
#include "storage/kv_store.h"

namespace agentrt::cluster {

OrphanStores::Lease::Lease(Lease&& other) noexcept
    : owner_(std::move(other.owner_)),
      path_(std::move(other.path_)),
      read_(std::move(other.read_)) {}

OrphanStores::Lease& OrphanStores::Lease::operator=(Lease&& other) noexcept {
  if (this != &other) {
    if (owner_) owner_->release(path_);
    owner_ = std::move(other.owner_);
    path_ = std::move(other.path_);
    read_ = std::move(other.read_);
  }
  return *this;
}

OrphanStores::Lease::~Lease() {
  if (owner_) owner_->release(path_);
}

std::int64_t OrphanStores::Lease::blocks_read() const {
  return read_ ? read_->load(std::memory_order_relaxed) : 0;
}

Result<OrphanStores::Lease> OrphanStores::lease(const std::shared_ptr<OrphanStores>& self,
                                                const std::string& path) {
  if (path.empty() || path.front() != '/')
    return make_error(ErrorCode::invalid_argument, "KV store '" + path + "': not an absolute path");
  std::unique_lock lock(self->mu_);
  auto it = self->stores_.find(path);
  if (it == self->stores_.end()) {
    // Opening replays the store's WAL (the caller runs off the node actor's thread), so it
    // runs unlocked: the engine's reads through the stores already open go on meanwhile.
    lock.unlock();
    auto db = storage::Db::open_read_only(path);
    if (!db.ok()) return db.error();
    lock.lock();
    it = self->stores_.find(path);
    if (it == self->stores_.end()) {  // else another lease opened it meanwhile: share that one
      Open o;
      o.db = std::move(*db);
      o.blocks_read = std::make_shared<std::atomic<std::int64_t>>(0);
      it = self->stores_.emplace(path, std::move(o)).first;
      self->open_.fetch_add(1, std::memory_order_acq_rel);
    }
  }
  ++it->second.leases;
  Lease l;
  l.owner_ = self;
  l.path_ = path;
  l.read_ = it->second.blocks_read;
  return l;
}

void OrphanStores::release(const std::string& path) {
  std::shared_ptr<storage::Db> closing;  // closed outside the lock
  std::lock_guard lock(mu_);
  auto it = stores_.find(path);
  if (it == stores_.end() || --it->second.leases > 0) return;
  closing = std::move(it->second.db);
  stores_.erase(it);
  open_.fetch_sub(1, std::memory_order_acq_rel);
}

std::vector<kv::KvTier::Value> OrphanStores::read(const std::string& model_fingerprint,
                                                  std::span<const kv::BlockKey> keys) {
  std::vector<std::pair<std::shared_ptr<storage::Db>, std::shared_ptr<std::atomic<std::int64_t>>>>
      dbs;
  {
    std::lock_guard lock(mu_);
    for (const auto& [path, o] : stores_)
      dbs.emplace_back(o.db, o.blocks_read);
  }
  for (const auto& [db, counter] : dbs) {
    auto got = storage::read_kv_chain(*db, model_fingerprint, keys);
    if (!got.ok() || got->empty()) continue;
    counter->fetch_add(static_cast<std::int64_t>(got->size()), std::memory_order_relaxed);
    return std::move(*got);
  }
  return {};
}

}  // namespace agentrt::cluster
