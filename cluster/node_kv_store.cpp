// NodeKvStore (node_kv_store.h): a byte-bounded LRU map of blocks.
#include "cluster/node_kv_store.h"

namespace agentrt::cluster {

Status NodeKvStore::put(const kv::BlockKey& key, std::span<const std::byte> bytes) {
  if (bytes.size() > capacity_)
    return make_error(ErrorCode::out_of_memory,
                      "node KV store: a block of " + std::to_string(bytes.size()) +
                          " bytes exceeds its capacity of " + std::to_string(capacity_));
  std::lock_guard lock(mu_);
  drop(key);
  while (used_ + bytes.size() > capacity_ && !order_.empty()) {
    dropped_.add(order_.back());
    drop(order_.back());
  }
  order_.push_front(key);
  map_[key] = Entry{Value(bytes.begin(), bytes.end()), order_.begin()};
  used_ += bytes.size();
  block_bytes_ = bytes.size();
  return ok_status();
}

Result<std::optional<kv::KvTier::Value>> NodeKvStore::get(const kv::BlockKey& key) {
  std::lock_guard lock(mu_);
  auto it = map_.find(key);
  if (it == map_.end()) return std::optional<Value>();
  order_.splice(order_.begin(), order_, it->second.at);
  return std::optional<Value>(it->second.bytes);
}

Status NodeKvStore::erase(const kv::BlockKey& key) {
  std::lock_guard lock(mu_);
  drop(key);
  return ok_status();
}

std::int64_t NodeKvStore::stored_bytes() const {
  std::lock_guard lock(mu_);
  return static_cast<std::int64_t>(used_);
}

std::size_t NodeKvStore::block_bytes() const {
  std::lock_guard lock(mu_);
  return block_bytes_;
}

void NodeKvStore::drop(const kv::BlockKey& key) {
  auto it = map_.find(key);
  if (it == map_.end()) return;
  used_ -= it->second.bytes.size();
  order_.erase(it->second.at);
  map_.erase(it);
}

void NodeKvStore::take_dropped(std::vector<kv::BlockKey>& out) {
  std::lock_guard lock(mu_);
  dropped_.take(out);
}

void NodeKvStore::list_keys(std::vector<kv::BlockKey>& out, std::size_t max) const {
  std::lock_guard lock(mu_);
  std::size_t n = 0;
  for (auto it = order_.begin(); it != order_.end() && n < max; ++it, ++n)
    out.push_back(*it);
}

}  // namespace agentrt::cluster
