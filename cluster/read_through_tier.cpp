// ReadThroughTier (read_through_tier.h): the node's tier, falling back to dead nodes' stores.
#include "cluster/read_through_tier.h"

#include <utility>

namespace agentrt::cluster {

ReadThroughTier::ReadThroughTier(std::shared_ptr<kv::KvTier> own,
                                 std::shared_ptr<OrphanStores> orphans,
                                 std::string model_fingerprint)
    : own_(std::move(own)),
      orphans_(std::move(orphans)),
      fingerprint_(std::move(model_fingerprint)) {}

Result<std::optional<kv::KvTier::Value>> ReadThroughTier::get(const kv::BlockKey& key) {
  auto got = own_->get(key);
  if (!got.ok() || got->has_value() || !orphans_->any()) return got;
  auto chain = orphans_->read(fingerprint_, std::span(&key, 1));
  if (chain.empty()) return got;
  return std::optional<Value>(std::move(chain.front()));
}

Result<std::vector<std::optional<kv::KvTier::Value>>> ReadThroughTier::get_many(
    std::span<const kv::BlockKey> keys) {
  auto got = own_->get_many(keys);
  if (!got.ok() || !orphans_->any() || got->size() != keys.size()) return got;
  // A prefix is a chain: fill each run the own tier lacks with what an orphan store holds,
  // until neither holds the next block.
  std::size_t i = 0;
  while (i < keys.size()) {
    if ((*got)[i].has_value()) {
      ++i;
      continue;
    }
    auto chain = orphans_->read(fingerprint_, keys.subspan(i));
    if (chain.empty()) break;
    for (auto& value : chain) {
      if (!(*got)[i].has_value()) (*got)[i] = std::move(value);
      ++i;
    }
  }
  return got;
}

}  // namespace agentrt::cluster
