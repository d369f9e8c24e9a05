#include "engine/kv/block_pool.h"

#include <algorithm>
#include <cassert>

namespace agentrt::kv {

BlockPool::BlockPool(int num_blocks, std::unique_ptr<EvictionPolicy> policy)
    : blocks_(static_cast<std::size_t>(num_blocks)), policy_(std::move(policy)) {
  for (int i = 0; i < num_blocks; ++i)
    blocks_[static_cast<std::size_t>(i)].id = i;
  // Hand out low ids first.
  for (int i = num_blocks - 1; i >= 0; --i)
    free_.push_back(i);
}

std::optional<std::int32_t> BlockPool::take_free(TimePoint now) {
  if (free_.empty()) return std::nullopt;
  const std::int32_t id = free_.back();
  free_.pop_back();
  Block& b = at(id);
  assert(!b.in_use() && !b.key);
  b.refs = 1;
  b.last_use = now;
  return id;
}

void BlockPool::reclaim(std::int32_t id) {
  Block& b = at(id);
  assert(!b.in_use());
  policy_->remove(id);
  if (b.indexed) index_.erase(*b.key, id);
  policy_->set_next_use(id, kFarNextUse);
  b.key.reset();
  b.indexed = false;
  b.tokens.clear();
  free_.push_back(id);
}

void BlockPool::ref(std::int32_t id, TimePoint now) {
  Block& b = at(id);
  if (!b.in_use()) policy_->remove(id);
  ++b.refs;
  b.last_use = now;
}

void BlockPool::unref(std::int32_t id, TimePoint now) {
  Block& b = at(id);
  assert(b.refs > 0);
  --b.refs;
  b.last_use = now;
  release_if_idle(b, now);
}

void BlockPool::pin(std::int32_t id) {
  Block& b = at(id);
  if (!b.in_use()) policy_->remove(id);
  ++b.pins;
}

void BlockPool::unpin(std::int32_t id, TimePoint now) {
  Block& b = at(id);
  assert(b.pins > 0);
  --b.pins;
  release_if_idle(b, now);
}

void BlockPool::release_if_idle(Block& b, TimePoint now) {
  if (b.in_use()) return;
  if (b.indexed) {
    policy_->add(b.id, std::max(b.last_use, now));
    return;
  }
  // Unreachable content: nobody can find it again.
  b.key.reset();
  b.tokens.clear();
  free_.push_back(b.id);
}

std::optional<std::int32_t> BlockPool::find(const BlockKey& key,
                                            std::span<const std::int32_t> tokens) const {
  auto id = index_.find(key);
  if (!id) return std::nullopt;
  const Block& b = block(*id);
  if (!std::equal(b.tokens.begin(), b.tokens.end(), tokens.begin(), tokens.end())) {
    return std::nullopt;
  }
  return id;
}

void BlockPool::seal(std::int32_t id, const BlockKey& key, std::span<const std::int32_t> tokens) {
  Block& b = at(id);
  if (b.key) return;  // sealed already (shared by a fork)
  b.key = key;
  b.tokens.assign(tokens.begin(), tokens.end());
  b.indexed = index_.insert(key, id);
  // Content the workflow announced before it was computed (or promoted) carries its hint.
  if (b.indexed) policy_->set_next_use(id, hints_.next_use(key));
}

void BlockPool::apply(const ReuseHints::Changes& changes) {
  for (const auto& [key, steps] : changes) {
    if (auto id = index_.find(key)) policy_->set_next_use(*id, steps);
  }
}

void BlockPool::hint(HintOwner owner, std::span<const BlockKey> keys, std::int32_t steps) {
  apply(hints_.set(owner, keys, steps));
}

void BlockPool::clear_hint(HintOwner owner) {
  apply(hints_.clear(owner));
}

std::int32_t BlockPool::victim_next_use() const {
  auto v = policy_->victim();
  return v ? policy_->next_use(*v) : kFarNextUse;
}

}  // namespace agentrt::kv
