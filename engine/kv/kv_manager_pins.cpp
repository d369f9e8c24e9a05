// KvManager: pins with a TTL, their expiry and their revocation under memory pressure, and
// the invariant check.
#include <algorithm>

#include "engine/kv/kv_manager.h"

namespace agentrt::kv {

Status KvManager::pin(PinOwner owner, SeqId seq, Duration ttl) {
  SeqState* s = find_seq(seq);
  if (s == nullptr) {
    return make_error(ErrorCode::invalid_argument,
                      "KV pin: unknown sequence " + std::to_string(seq));
  }
  const std::size_t full =
      std::min(s->tokens.size() / static_cast<std::size_t>(opt_.block_size), s->seal_limit);
  return pin_blocks(owner, std::span(s->table).first(std::min(full, s->table.size())), ttl);
}

Status KvManager::pin_blocks(PinOwner owner, std::span<const std::int32_t> blocks, Duration ttl) {
  for (std::int32_t id : blocks) {
    if (id < 0 || id >= pool_.num_blocks() ||
        (!pool_.block(id).in_use() && !pool_.block(id).indexed)) {
      return make_error(ErrorCode::invalid_argument,
                        "KV pin: block " + std::to_string(id) + " holds no KV");
    }
  }
  Pin p{std::vector<std::int32_t>(blocks.begin(), blocks.end()), now() + ttl};
  // Pin the new blocks before dropping an old pin of this owner, so shared ones never idle.
  for (std::int32_t id : p.blocks) {
    if (pool_.block(id).pins == 0) ++metrics_.pinned_blocks;
    pool_.pin(id);
    if (const Block& b = pool_.block(id); b.key) emit(KvEventType::pinned, 0, *b.key);
  }
  unpin(owner);
  pins_.emplace(owner, std::move(p));
  ++metrics_.pins_created;
  metrics_.pinned_bytes =
      metrics_.pinned_blocks * static_cast<std::int64_t>(memory_->block_bytes());
  return ok_status();
}

void KvManager::drop_pin(std::map<PinOwner, Pin>::iterator it) {
  for (std::int32_t id : it->second.blocks) {
    if (const Block& b = pool_.block(id); b.key) emit(KvEventType::unpinned, 0, *b.key);
    pool_.unpin(id, now());
    if (pool_.block(id).pins == 0) --metrics_.pinned_blocks;
  }
  pins_.erase(it);
  metrics_.pinned_bytes =
      metrics_.pinned_blocks * static_cast<std::int64_t>(memory_->block_bytes());
}

void KvManager::unpin(PinOwner owner) {
  auto it = pins_.find(owner);
  if (it != pins_.end()) drop_pin(it);
}

void KvManager::expire_pins() {
  const TimePoint t = now();
  for (auto it = pins_.begin(); it != pins_.end();) {
    auto next = std::next(it);
    if (it->second.expiry <= t) {
      // Written now, before the blocks turn evictable (usually known since the pause).
      persist_blocks(it->second.blocks, false);
      drop_pin(it);
      ++metrics_.pins_expired;
    }
    it = next;
  }
}

// Least useful first: the pin that frees the most blocks for the longest remaining time
// per future hit (exclusive blocks x remaining TTL). Pins that free nothing are kept.
bool KvManager::revoke_one_pin() {
  const TimePoint t = now();
  auto best = pins_.end();
  double best_score = -1;
  for (auto it = pins_.begin(); it != pins_.end(); ++it) {
    std::int64_t exclusive = 0;
    for (std::int32_t id : it->second.blocks) {
      const Block& b = pool_.block(id);
      if (b.refs == 0 && b.pins == 1) ++exclusive;
    }
    if (exclusive == 0) continue;
    const double remaining = std::chrono::duration<double>(it->second.expiry - t).count();
    const double score = static_cast<double>(exclusive) * std::max(remaining, 1e-9);
    if (score > best_score) {
      best_score = score;
      best = it;
    }
  }
  if (best == pins_.end()) return false;
  drop_pin(best);
  ++metrics_.pins_revoked;
  return true;
}

Result<std::int64_t> KvManager::pin_prefix(PinOwner owner, std::span<const std::int32_t> tokens,
                                           Duration ttl) {
  if (ttl <= Duration::zero()) {
    unpin(owner);
    return std::int64_t{0};
  }
  const std::vector<std::int32_t> blocks = hold_prefix(tokens, [] { return true; });
  Status st = blocks.empty() ? ok_status() : pin_blocks(owner, blocks, ttl);
  if (blocks.empty()) unpin(owner);
  for (std::int32_t id : blocks)
    pool_.unref(id, now());
  if (!st.ok()) return st.error();
  return std::ssize(blocks) * opt_.block_size;
}

int KvManager::revocable_blocks() const {
  int n = 0;
  for (int id = 0; id < pool_.num_blocks(); ++id) {
    const Block& b = pool_.block(id);
    if (b.refs == 0 && b.pins > 0) ++n;
  }
  return n;
}

Status KvManager::check_invariants() const {
  const auto n = static_cast<std::size_t>(pool_.num_blocks());
  std::vector<std::int32_t> refs(n, 0), pins(n, 0);
  for (const auto& [id, s] : seqs_) {
    for (std::int32_t b : s.table)
      ++refs[static_cast<std::size_t>(b)];
  }
  for (const auto& [owner, p] : pins_) {
    for (std::int32_t b : p.blocks)
      ++pins[static_cast<std::size_t>(b)];
  }
  auto fail = [](const std::string& m) { return make_error(ErrorCode::internal, "KV: " + m); };
  std::vector<bool> is_free(n, false);
  for (std::int32_t b : pool_.free_list()) {
    if (is_free[static_cast<std::size_t>(b)])
      return fail("block " + std::to_string(b) + " freed twice");
    is_free[static_cast<std::size_t>(b)] = true;
  }
  int idle_cached = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const Block& b = pool_.block(static_cast<std::int32_t>(i));
    const std::string name = "block " + std::to_string(i);
    if (b.refs != refs[i])
      return fail(name + " refcount " + std::to_string(b.refs) + " != " + std::to_string(refs[i]));
    if (b.pins != pins[i])
      return fail(name + " pin count " + std::to_string(b.pins) + " != " + std::to_string(pins[i]));
    if (b.in_use() && is_free[i]) return fail(name + " is in use and free");
    if (!b.in_use() && !is_free[i] && !b.indexed) return fail(name + " leaked");
    if (!b.in_use() && b.indexed) ++idle_cached;
    if (b.indexed && b.tokens.size() != static_cast<std::size_t>(opt_.block_size))
      return fail(name + " indexed but not full");
  }
  if (idle_cached != pool_.evictable_count()) return fail("evictable set out of sync");
  return ok_status();
}

}  // namespace agentrt::kv
