// CountingTier: a KvTier that forwards to another and counts what is read from it (blocks,
// bytes, time inside get/get_many), so a benchmark can report a store's read rate as the
// engine sees it. Thread-safe when the wrapped tier is.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>

#include "engine/kv/kv_tier.h"

namespace agentrt::bench {

class CountingTier final : public kv::KvTier {
 public:
  explicit CountingTier(kv::KvTier* inner) : inner_(inner) {}

  std::string name() const override { return inner_->name(); }
  Status put(const kv::BlockKey& key, std::span<const std::byte> bytes) override {
    return inner_->put(key, bytes);
  }
  Status put_many(std::span<const Item> items) override { return inner_->put_many(items); }
  Result<std::optional<Value>> get(const kv::BlockKey& key) override {
    const auto t0 = std::chrono::steady_clock::now();
    auto v = inner_->get(key);
    count(t0, 1, v.ok() && v->has_value() ? (*v)->size() : 0);
    return v;
  }
  Result<std::vector<std::optional<Value>>> get_many(std::span<const kv::BlockKey> keys) override {
    const auto t0 = std::chrono::steady_clock::now();
    auto v = inner_->get_many(keys);
    std::size_t bytes = 0;
    if (v.ok())
      for (const auto& x : *v)
        bytes += x ? x->size() : 0;
    count(t0, static_cast<std::int64_t>(keys.size()), bytes);
    return v;
  }
  Status erase(const kv::BlockKey& key) override { return inner_->erase(key); }
  bool move_on_promote() const override { return inner_->move_on_promote(); }
  bool thread_safe() const override { return inner_->thread_safe(); }

  std::int64_t keys_asked() const { return keys_.load(); }
  std::int64_t calls() const { return calls_.load(); }
  std::int64_t bytes_read() const { return bytes_.load(); }
  double read_seconds() const { return static_cast<double>(ns_.load()) * 1e-9; }

 private:
  void count(std::chrono::steady_clock::time_point t0, std::int64_t keys, std::size_t bytes) {
    const auto ns =
        std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t0);
    ns_ += ns.count();
    keys_ += keys;
    ++calls_;
    bytes_ += static_cast<std::int64_t>(bytes);
  }

  kv::KvTier* inner_;
  std::atomic<std::int64_t> keys_{0}, calls_{0}, bytes_{0}, ns_{0};
};

}  // namespace agentrt::bench
