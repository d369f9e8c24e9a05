// Test support: a KvTier in a mutex-guarded map that counts its calls, standing in for the
// persistent store (storage::KvStore) in engine and runtime tests. thread_safe() is what
// the test asks for, so both write-behind paths (writer thread, engine thread) are covered.
#pragma once

#include <mutex>
#include <unordered_map>

#include "engine/kv/kv_tier.h"

namespace agentrt::kv::testing {

class MemoryTier final : public KvTier {
 public:
  explicit MemoryTier(bool thread_safe = true) : thread_safe_(thread_safe) {}

  std::string name() const override { return "memory"; }
  Status put(const BlockKey& key, std::span<const std::byte> bytes) override {
    std::lock_guard lock(mu_);
    ++puts_;
    if (fail_writes_) return make_error(ErrorCode::io, "memory tier: write refused (test)");
    values_[key] = Value(bytes.begin(), bytes.end());
    return ok_status();
  }
  Status put_many(std::span<const Item> items) override {
    {
      std::lock_guard lock(mu_);
      ++batches_;
    }
    return KvTier::put_many(items);
  }
  Result<std::vector<std::optional<Value>>> get_many(std::span<const BlockKey> keys) override {
    {
      std::lock_guard lock(mu_);
      ++get_batches_;
    }
    return KvTier::get_many(keys);
  }
  Result<std::optional<Value>> get(const BlockKey& key) override {
    std::lock_guard lock(mu_);
    ++gets_;
    auto it = values_.find(key);
    if (it == values_.end()) return std::optional<Value>();
    return std::optional<Value>(it->second);
  }
  Status erase(const BlockKey& key) override {
    std::lock_guard lock(mu_);
    values_.erase(key);
    return ok_status();
  }
  bool move_on_promote() const override { return false; }
  bool thread_safe() const override { return thread_safe_; }

  void fail_writes(bool fail) {
    std::lock_guard lock(mu_);
    fail_writes_ = fail;
  }
  std::size_t size() const {
    std::lock_guard lock(mu_);
    return values_.size();
  }
  std::int64_t puts() const {
    std::lock_guard lock(mu_);
    return puts_;
  }
  std::int64_t batches() const {
    std::lock_guard lock(mu_);
    return batches_;
  }
  std::int64_t get_batches() const {
    std::lock_guard lock(mu_);
    return get_batches_;
  }
  std::int64_t gets() const {
    std::lock_guard lock(mu_);
    return gets_;
  }
  std::optional<Value> value(const BlockKey& key) const {
    std::lock_guard lock(mu_);
    auto it = values_.find(key);
    if (it == values_.end()) return std::nullopt;
    return it->second;
  }

 private:
  bool thread_safe_;
  mutable std::mutex mu_;
  std::unordered_map<BlockKey, Value, BlockKeyHash> values_;
  std::int64_t puts_ = 0;
  std::int64_t batches_ = 0;
  std::int64_t gets_ = 0;
  std::int64_t get_batches_ = 0;
  bool fail_writes_ = false;
};

}  // namespace agentrt::kv::testing
