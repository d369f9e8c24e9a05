// KvManager: prefix hits in the lower tiers (promotion to the device) and swap of preempted
// sequences to host memory.
#include <algorithm>

#include "engine/kv/kv_manager.h"

namespace agentrt::kv {

namespace {
// Blocks one get_many reads ahead from a store: bounds the bytes held during a lookup.
constexpr std::size_t kStoreReadAhead = 16;
}  // namespace

Result<std::optional<KvTier::Value>> KvManager::tier_get(std::size_t tier,
                                                         std::span<const std::int32_t> tokens,
                                                         std::size_t index, const BlockKey& key,
                                                         std::vector<ReadAhead>& ahead) {
  // A tier that moves values on promotion (host RAM) is cheap to ask block by block.
  if (tiers_[tier]->move_on_promote()) return tiers_[tier]->get(key);
  auto it = std::find_if(ahead.begin(), ahead.end(), [&](const ReadAhead& r) {
    return r.tier == tier && index >= r.first && index < r.first + r.values.size();
  });
  if (it == ahead.end()) {
    // Keys of this block and the next ones of the prefix, chained as open() would.
    const auto bs = static_cast<std::size_t>(opt_.block_size);
    const std::size_t n = std::min(kStoreReadAhead, tokens.size() / bs - index);
    std::vector<BlockKey> keys{key};
    for (std::size_t j = 1; j < n; ++j)
      keys.push_back(
          chain_key(keys.back(), tokens.subspan((index + j) * bs, bs), opt_.model_fingerprint));
    auto got = tiers_[tier]->get_many(keys);
    if (!got.ok()) return got.error();
    if (got->size() != keys.size()) {
      return make_error(ErrorCode::internal, tiers_[tier]->name() + ": get_many returned " +
                                                 std::to_string(got->size()) + " values for " +
                                                 std::to_string(keys.size()) + " keys");
    }
    std::erase_if(ahead, [&](const ReadAhead& r) { return r.tier == tier; });
    ahead.push_back({tier, index, std::move(*got)});
    it = ahead.end() - 1;
  }
  return std::move(it->values[index - it->first]);
}

std::optional<KvManager::TierHit> KvManager::match_tiers(std::span<const std::int32_t> tokens,
                                                         std::size_t index, const BlockKey& key,
                                                         TierBatch& batch) {
  const std::size_t bytes = memory_->block_bytes();
  const auto bs = static_cast<std::size_t>(opt_.block_size);
  const std::span<const std::int32_t> t = tokens.subspan(index * bs, bs);
  for (std::size_t i = 0; i < tiers_.size(); ++i) {
    KvTier& tier = *tiers_[i];
    std::optional<KvTier::Value> owned;
    std::size_t size = 0;
    if (tier.zero_copy()) {
      auto in_place = tier.peek(key);
      if (!in_place) continue;
      size = in_place->size();
    } else {
      auto got = tier_get(i, tokens, index, key, batch.ahead);
      if (!got.ok() || !got->has_value()) continue;  // an I/O error reads as a miss
      owned = std::move(*got);
      size = owned->size();
    }
    if (size != bytes) {
      // Passed the tier's own checks but is no block of this pool: never served, dropped.
      tier.erase(key).permit_unchecked();
      ++metrics_.tier_dropped_blocks;
      emit(KvEventType::evicted, i + 1, key);
      continue;
    }
    // Evictions to make room queue their reads in the batch, ahead of its writes.
    batch_ = &batch;
    auto id = allocate();
    batch_ = nullptr;
    if (!id.ok()) return std::nullopt;  // no room to promote: compute instead
    TierBatch::Promoted p{*id, key, t, i, {}, {}};
    if (owned) {
      p.owned = std::move(*owned);
      p.src = p.owned;
      ++batch.owned;
    } else if (auto taken = tier.take(key)) {
      p.src = *taken;
    } else {
      pool_.unref(*id, now());  // demoted while making room
      continue;
    }
    batch.promoted.push_back(std::move(p));
    return TierHit{*id, i};
  }
  return std::nullopt;
}

bool KvManager::flush_tiers(TierBatch& batch, std::vector<std::int32_t>& ids) {
  std::vector<std::int32_t> evicted, promoted;
  std::vector<std::span<std::byte>> slots;
  std::vector<std::span<const std::byte>> srcs;
  for (const auto& e : batch.evicted) {
    evicted.push_back(e.block);
    slots.push_back(e.slot);
  }
  for (const auto& p : batch.promoted) {
    promoted.push_back(p.block);
    srcs.push_back(p.src);
  }
  // One call, so that a backend overlaps the two directions; on an error neither side is
  // trusted.
  const bool ok = (evicted.empty() && promoted.empty()) ||
                  memory_->swap_many(evicted, slots, promoted, srcs).ok();
  for (const auto& e : batch.evicted) {
    if (ok) {
      tiers_.front()->commit(e.key);
      emit(KvEventType::stored, 1, e.key);
    } else {
      tiers_.front()->cancel(e.key);
    }
  }
  if (ok) metrics_.offloaded_blocks += std::ssize(batch.evicted);
  if (ok) {
    for (const auto& p : batch.promoted) {
      pool_.seal(p.block, p.key, p.tokens);
      if (pool_.block(p.block).indexed) emit(KvEventType::stored, 0, p.key);
      KvTier& tier = *tiers_[p.tier];
      if (tier.move_on_promote() && !tier.zero_copy()) tier.erase(p.key).permit_unchecked();
      if (tier.move_on_promote()) emit(KvEventType::evicted, p.tier + 1, p.key);
      if (persister_ != nullptr && &tier == persister_->tier()) persister_->mark_known(p.key);
    }
  } else if (!batch.promoted.empty()) {
    // The first promoted block ends the prefix: it and every block after it are dropped.
    auto first = std::find(ids.begin(), ids.end(), batch.promoted.front().block);
    for (auto it = first; it != ids.end(); ++it)
      pool_.unref(*it, now());
    ids.erase(first, ids.end());
  }
  const bool cut = !ok && !batch.promoted.empty();
  batch.evicted.clear();
  batch.promoted.clear();
  batch.owned = 0;
  // Taken values are dropped whether or not they were written: they were promoted.
  for (KvTier* tier : tiers_)
    tier->release_taken();
  return !cut;
}

bool KvManager::swapped_out(SeqId seq) const {
  auto it = seqs_.find(seq);
  return it != seqs_.end() && it->second.swapped;
}

Status KvManager::swap_out(SeqId seq) {
  SeqState* s = find_seq(seq);
  if (s == nullptr || s->swapped) {
    return make_error(ErrorCode::invalid_argument,
                      "KV swap_out: sequence " + std::to_string(seq) + " is not resident");
  }
  const auto bs = static_cast<std::size_t>(opt_.block_size);
  const std::size_t used = (s->tokens.size() + bs - 1) / bs;
  const std::size_t bytes = memory_->block_bytes();
  if (swap_used_ + used * bytes > opt_.swap_bytes) {
    return make_error(ErrorCode::out_of_memory,
                      "KV swap_out: " + std::to_string(used * bytes) + " bytes exceed the " +
                          std::to_string(opt_.swap_bytes - swap_used_) + " left");
  }
  std::vector<std::vector<std::byte>> saved(used, std::vector<std::byte>(bytes));
  for (std::size_t i = 0; i < used; ++i)
    AGENTRT_TRY(memory_->read(s->table[i], saved[i]));
  for (std::int32_t id : s->table)
    pool_.unref(id, now());
  s->table.clear();
  s->swap = std::move(saved);
  s->swapped = true;
  swap_used_ += used * bytes;
  metrics_.swapped_out_blocks += static_cast<std::int64_t>(used);
  return ok_status();
}

Status KvManager::swap_in(SeqId seq) {
  SeqState* s = find_seq(seq);
  if (s == nullptr || !s->swapped) {
    return make_error(ErrorCode::invalid_argument,
                      "KV swap_in: sequence " + std::to_string(seq) + " is not swapped out");
  }
  std::vector<std::int32_t> table;
  auto undo = [&] {
    for (std::int32_t id : table)
      pool_.unref(id, now());
  };
  for (const auto& buf : s->swap) {
    auto id = allocate();
    if (!id.ok()) {
      undo();
      return id.error();
    }
    table.push_back(*id);
    if (auto st = memory_->write(*id, buf); !st.ok()) {
      undo();
      return st;
    }
  }
  for (const auto& buf : s->swap)
    swap_used_ -= buf.size();
  metrics_.swapped_in_blocks += std::ssize(s->swap);
  s->swap.clear();
  s->table = std::move(table);
  s->swapped = false;
  seal_full_blocks(*s, 0);
  return ok_status();
}

std::vector<std::int32_t> KvManager::hold_prefix(std::span<const std::int32_t> tokens,
                                                 const std::function<bool()>& may_promote) {
  const auto bs = static_cast<std::size_t>(opt_.block_size);
  const std::size_t full = tokens.size() / bs;
  // Each block is referenced as it is found, so that making room for the next one (which
  // may evict) cannot take it back.
  std::vector<std::int32_t> held;
  TierBatch batch;
  BlockKey parent = root_;
  for (std::size_t i = 0; i < full; ++i) {
    auto part = tokens.subspan(i * bs, bs);
    const BlockKey key = chain_key(parent, part, opt_.model_fingerprint);
    std::optional<std::int32_t> id = pool_.find(key, part);
    if (id) {
      pool_.ref(*id, now());
    } else {
      if (!may_promote()) break;
      auto hit = match_tiers(tokens.first(full * bs), i, key, batch);
      if (!hit) break;
      id = hit->block;
      ++metrics_.prefetched_blocks;
    }
    held.push_back(*id);
    parent = key;
    if (batch.full() && !flush_tiers(batch, held)) break;
  }
  flush_tiers(batch, held);
  return held;
}

}  // namespace agentrt::kv
