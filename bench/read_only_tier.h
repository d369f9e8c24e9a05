// ReadOnlyTier: a view of a KvTier that passes reads through and drops writes (reporting
// success), for a benchmark whose engines must find the same stored blocks every run.
// Thread-safe when the wrapped tier is.
#pragma once

#include <string>

#include "engine/kv/kv_tier.h"

namespace agentrt::bench {

class ReadOnlyTier final : public kv::KvTier {
 public:
  explicit ReadOnlyTier(kv::KvTier* inner) : inner_(inner) {}
  std::string name() const override { return inner_->name(); }
  Status put(const kv::BlockKey&, std::span<const std::byte>) override { return ok_status(); }
  Status put_many(std::span<const Item>) override { return ok_status(); }
  Result<std::optional<Value>> get(const kv::BlockKey& key) override { return inner_->get(key); }
  Result<std::vector<std::optional<Value>>> get_many(std::span<const kv::BlockKey> keys) override {
    return inner_->get_many(keys);
  }
  Status erase(const kv::BlockKey& key) override { return inner_->erase(key); }
  bool move_on_promote() const override { return inner_->move_on_promote(); }
  bool thread_safe() const override { return inner_->thread_safe(); }

 private:
  kv::KvTier* inner_;
};

}  // namespace agentrt::bench
