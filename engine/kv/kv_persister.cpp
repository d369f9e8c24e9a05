#include "engine/kv/kv_persister.h"

#include <algorithm>
#include <iterator>

namespace agentrt::kv {

KvPersister::KvPersister(KvTier* tier, const KvPersisterOptions& options)
    : tier_(tier), opt_(options) {
  opt_.batch_blocks = std::max<std::size_t>(1, opt_.batch_blocks);
  opt_.known_keys = std::max<std::size_t>(1, opt_.known_keys);
  if (tier_->thread_safe()) thread_ = std::thread([this] { run(); });
}

KvPersister::~KvPersister() {
  if (!thread_.joinable()) {
    write_queued();
    return;
  }
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();  // the writer empties the queue first
}

void KvPersister::remember(const BlockKey& key) {
  if (auto it = known_.find(key); it != known_.end()) {
    known_order_.splice(known_order_.begin(), known_order_, it->second);
    return;
  }
  known_order_.push_front(key);
  known_.emplace(key, known_order_.begin());
  if (known_.size() > opt_.known_keys) {
    known_.erase(known_order_.back());
    known_order_.pop_back();
  }
}

void KvPersister::forget(const BlockKey& key) {
  auto it = known_.find(key);
  if (it == known_.end()) return;
  known_order_.erase(it->second);
  known_.erase(it);
}

bool KvPersister::wants(const BlockKey& key) {
  std::lock_guard lock(mu_);
  auto it = known_.find(key);
  if (it == known_.end()) return true;
  known_order_.splice(known_order_.begin(), known_order_, it->second);
  return false;
}

void KvPersister::mark_known(const BlockKey& key) {
  std::lock_guard lock(mu_);
  remember(key);
}

void KvPersister::offer(const BlockKey& key, std::vector<std::byte> bytes, bool wait) {
  std::unique_lock lock(mu_);
  auto full = [&] {
    return !queue_.empty() && queued_bytes_ + bytes.size() > opt_.max_queued_bytes;
  };
  if (full()) {
    if (!thread_.joinable()) {
      lock.unlock();
      write_queued();
      lock.lock();
    } else if (!wait) {
      ++dropped_;
      return;
    } else {
      ready_ = true;
      cv_.notify_all();
      idle_cv_.wait(lock, [&] { return !full(); });
    }
  }
  remember(key);
  queued_bytes_ += bytes.size();
  queue_.emplace_back(key, std::move(bytes));
  if (thread_.joinable() && queue_.size() >= opt_.batch_blocks) {
    ready_ = true;
    cv_.notify_all();
  }
}

void KvPersister::submit() {
  if (!thread_.joinable()) return write_queued();
  {
    std::lock_guard lock(mu_);
    if (queue_.empty()) return;
    ready_ = true;
  }
  cv_.notify_all();
}

void KvPersister::drain() {
  if (!thread_.joinable()) return write_queued();
  std::unique_lock lock(mu_);
  ready_ = true;
  cv_.notify_all();
  idle_cv_.wait(lock, [&] { return queue_.empty() && in_flight_ == 0; });
}

std::vector<KvTier::Item> KvPersister::take_batch() {
  const std::size_t n = std::min(opt_.batch_blocks, queue_.size());
  std::vector<KvTier::Item> batch(std::make_move_iterator(queue_.begin()),
                                  std::make_move_iterator(queue_.begin() + n));
  queue_.erase(queue_.begin(), queue_.begin() + n);
  for (const auto& item : batch)
    queued_bytes_ -= item.second.size();
  return batch;
}

void KvPersister::write(std::vector<KvTier::Item>& batch) {
  const auto n = static_cast<std::int64_t>(batch.size());
  if (tier_->put_many(batch).ok()) {
    written_ += n;
    return;
  }
  errors_ += n;
  std::lock_guard lock(mu_);
  for (const auto& item : batch)
    forget(item.first);  // a later turn offers it again
}

void KvPersister::write_queued() {
  for (;;) {
    std::vector<KvTier::Item> batch;
    {
      std::lock_guard lock(mu_);
      if (queue_.empty()) return;
      batch = take_batch();
    }
    write(batch);
  }
}

void KvPersister::run() {
  std::unique_lock lock(mu_);
  for (;;) {
    cv_.wait(lock, [&] { return stop_ || (ready_ && !queue_.empty()); });
    if (queue_.empty()) {
      if (stop_) return;
      ready_ = false;
      continue;
    }
    std::vector<KvTier::Item> batch = take_batch();
    if (queue_.empty()) ready_ = false;
    in_flight_ = batch.size();
    idle_cv_.notify_all();  // room in the queue
    lock.unlock();
    write(batch);
    lock.lock();
    in_flight_ = 0;
    idle_cv_.notify_all();
  }
}

}  // namespace agentrt::kv
