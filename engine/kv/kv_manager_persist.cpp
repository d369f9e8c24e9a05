// KvManager: offering full blocks to the persistent tier's write-behind (KvPersister), and
// the metrics that include it.
#include <algorithm>

#include "engine/kv/kv_manager.h"

namespace agentrt::kv {

KvMetrics KvManager::metrics() const {
  KvMetrics m = metrics_;
  if (persister_ != nullptr) {
    m.persisted_blocks = persister_->written();
    m.persist_errors += persister_->errors();
    m.persist_dropped_blocks = persister_->dropped();
  }
  m.active_pins = static_cast<std::int64_t>(pins_.size());
  m.hint_owners = static_cast<std::int64_t>(pool_.hints().owners());
  m.free_blocks = pool_.free_count();
  m.cached_blocks = pool_.evictable_count();
  m.used_blocks = pool_.num_blocks() - m.free_blocks - m.cached_blocks - m.pinned_blocks;
  m.block_bytes = static_cast<std::int64_t>(memory_->block_bytes());
  for (std::size_t i = 0; i < tiers_.size() && i + 1 < m.tier_bytes.size(); ++i)
    m.tier_bytes[i + 1] = tiers_[i]->stored_bytes();
  return m;
}

// The bytes are copied on the engine thread (a device-to-host copy): the block may be
// evicted and rewritten as soon as this returns.
void KvManager::persist_blocks(std::span<const std::int32_t> ids, bool wait) {
  if (persister_ == nullptr) return;
  bool offered = false;
  // Events name tiers from 1 in the lower tiers' order.
  const std::size_t event_tier =
      static_cast<std::size_t>(std::find(tiers_.begin(), tiers_.end(), persister_->tier()) -
                               tiers_.begin()) +
      1;
  for (std::int32_t id : ids) {
    const Block& b = pool_.block(id);
    if (!b.key || !persister_->wants(*b.key)) continue;
    std::vector<std::byte> bytes(memory_->block_bytes());
    if (!memory_->read(id, bytes).ok()) {
      ++metrics_.persist_errors;
      continue;
    }
    persister_->offer(*b.key, std::move(bytes), wait);
    offered = true;
    emit(KvEventType::stored, event_tier, *b.key);
  }
  if (offered) persister_->submit();
}

void KvManager::persist(SeqId seq) {
  const SeqState* s = find_seq(seq);
  if (persister_ == nullptr || s == nullptr || s->swapped) return;
  const std::size_t full = s->tokens.size() / static_cast<std::size_t>(opt_.block_size);
  persist_blocks(std::span(s->table).first(std::min(full, s->table.size())), false);
}

void KvManager::persist_cached() {
  if (persister_ == nullptr) return;
  std::vector<std::int32_t> ids;
  for (std::int32_t id = 0; id < pool_.num_blocks(); ++id) {
    const Block& b = pool_.block(id);
    if (b.key && (b.in_use() || b.indexed)) ids.push_back(id);
  }
  persist_blocks(ids, true);
}

}  // namespace agentrt::kv
