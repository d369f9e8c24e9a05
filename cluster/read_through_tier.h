// ReadThroughTier: a worker node's KV snapshot tier (its NodeKvStore or storage::KvStore) as
// its engine sees it: every call goes to that tier, and a block it lacks is looked up in the
// dead nodes' stores the node has open (OrphanStores), so that a job moved off a dead node
// finds the KV that node wrote behind (every prompt of the rerun, not only the first). Values
// read there are served, not copied in: the engine's write-behind stores the turns it runs
// here. Thread-safe when the wrapped tier is.
#pragma once

#include <memory>
#include <string>

#include "cluster/orphan_stores.h"
#include "engine/kv/kv_tier.h"

namespace agentrt::cluster {

class ReadThroughTier final : public kv::KvTier {
 public:
  // `own`: the node's tier for model `model_fingerprint` (the dead nodes' rows are per model).
  ReadThroughTier(std::shared_ptr<kv::KvTier> own, std::shared_ptr<OrphanStores> orphans,
                  std::string model_fingerprint);

  std::string name() const override { return own_->name(); }
  Status put(const kv::BlockKey& key, std::span<const std::byte> bytes) override {
    return own_->put(key, bytes);
  }
  // The own tier's value, else the first open orphan store's.
  Result<std::optional<Value>> get(const kv::BlockKey& key) override;
  Status erase(const kv::BlockKey& key) override { return own_->erase(key); }
  bool move_on_promote() const override { return own_->move_on_promote(); }
  Status put_many(std::span<const Item> items) override { return own_->put_many(items); }
  // The own tier's values; from the first key it lacks, the chain the orphan stores hold.
  Result<std::vector<std::optional<Value>>> get_many(std::span<const kv::BlockKey> keys) override;
  bool thread_safe() const override { return own_->thread_safe(); }
  std::int64_t stored_bytes() const override { return own_->stored_bytes(); }
  void list_keys(std::vector<kv::BlockKey>& out, std::size_t max) const override {
    own_->list_keys(out, max);
  }
  void take_dropped(std::vector<kv::BlockKey>& out) override { own_->take_dropped(out); }

 private:
  std::shared_ptr<kv::KvTier> own_;
  std::shared_ptr<OrphanStores> orphans_;
  std::string fingerprint_;
};

}  // namespace agentrt::cluster
