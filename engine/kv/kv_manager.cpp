// KvManager: creation, allocation and eviction, and the sequence block tables.
#include "engine/kv/kv_manager.h"

#include <algorithm>

namespace agentrt::kv {

Result<std::unique_ptr<KvManager>> KvManager::create(const KvManagerOptions& options,
                                                     KvManagerDeps deps) {
  if (options.num_blocks <= 0 || options.block_size <= 0) {
    return make_error(ErrorCode::invalid_argument,
                      "KvManagerOptions: num_blocks and block_size must be positive, got " +
                          std::to_string(options.num_blocks) + " and " +
                          std::to_string(options.block_size));
  }
  if (deps.memory == nullptr || deps.clock == nullptr) {
    return make_error(ErrorCode::invalid_argument, "KvManager: memory and clock are required");
  }
  if (deps.tiers.size() + 1 > static_cast<std::size_t>(kMaxTiers)) {
    return make_error(ErrorCode::invalid_argument, "KvManager: too many tiers");
  }
  if (!deps.policy) deps.policy = make_lru_policy();
  return std::unique_ptr<KvManager>(new KvManager(options, std::move(deps)));
}

KvManager::KvManager(const KvManagerOptions& options, KvManagerDeps deps)
    : opt_(options),
      memory_(deps.memory),
      clock_(deps.clock),
      tiers_(std::move(deps.tiers)),
      persister_(deps.persister),
      pool_(options.num_blocks, std::move(deps.policy)),
      root_(root_key(options.model_fingerprint)) {}

void KvManager::evict(std::int32_t id) {
  const Block& b = pool_.block(id);
  if (!tiers_.empty() && b.key) {
    // Write back to the first lower tier; on failure the content is simply lost. A tier
    // with slots is read into directly; in a batch, later (flush_tiers), before the block
    // is written again.
    KvTier& tier = *tiers_.front();
    const std::size_t bytes = memory_->block_bytes();
    if (auto slot = tier.reserve(*b.key, bytes)) {
      if (batch_ != nullptr) {
        batch_->evicted.push_back({id, *b.key, *slot});
      } else if (memory_->read(id, *slot).ok()) {
        tier.commit(*b.key);
        ++metrics_.offloaded_blocks;
        emit(KvEventType::stored, 1, *b.key);
      } else {
        tier.cancel(*b.key);
      }
    } else {
      std::vector<std::byte> copy(bytes);
      if (memory_->read(id, copy).ok() && tier.put(*b.key, copy).ok()) {
        ++metrics_.offloaded_blocks;
        emit(KvEventType::stored, 1, *b.key);
      }
    }
  }
  if (b.indexed) emit(KvEventType::evicted, 0, *b.key);
  ++metrics_.evictions;
  pool_.reclaim(id);
}

// Free list, then the eviction policy's victim, then revoking pins, least useful first.
Result<std::int32_t> KvManager::allocate() {
  expire_pins();
  for (;;) {
    if (auto id = pool_.take_free(now())) return *id;
    if (auto v = pool_.victim()) {
      evict(*v);
      continue;
    }
    if (!revoke_one_pin()) break;
  }
  return make_error(ErrorCode::out_of_memory, "KV pool: all " + std::to_string(pool_.num_blocks()) +
                                                  " blocks are referenced by sequences");
}

KvManager::SeqState* KvManager::find_seq(SeqId seq) {
  auto it = seqs_.find(seq);
  return it == seqs_.end() ? nullptr : &it->second;
}

std::int64_t KvManager::computed(SeqId seq) const {
  auto it = seqs_.find(seq);
  return it == seqs_.end() ? 0 : static_cast<std::int64_t>(it->second.tokens.size());
}

std::span<const std::int32_t> KvManager::block_table(SeqId seq) const {
  auto it = seqs_.find(seq);
  if (it == seqs_.end()) return {};
  return it->second.table;
}

Result<std::int64_t> KvManager::open(SeqId seq, std::span<const std::int32_t> tokens) {
  if (seqs_.count(seq) != 0) {
    return make_error(ErrorCode::invalid_argument,
                      "KV: sequence " + std::to_string(seq) + " is already open");
  }
  SeqState& s = seqs_[seq];
  const auto bs = static_cast<std::size_t>(opt_.block_size);
  const std::size_t max_blocks = tokens.empty() ? 0 : (tokens.size() - 1) / bs;
  metrics_.lookup_tokens += static_cast<std::int64_t>(max_blocks * bs);
  BlockKey parent = root_;
  TierBatch batch;
  for (std::size_t i = 0; opt_.prefix_reuse && i < max_blocks; ++i) {
    auto part = tokens.subspan(i * bs, bs);
    const BlockKey key = chain_key(parent, part, opt_.model_fingerprint);
    auto id = match_device(key, part);
    if (!id) {
      if (auto hit = match_tiers(tokens.first(max_blocks * bs), i, key, batch)) {
        id = hit->block;
        metrics_.hit_tokens[hit->tier + 1] += static_cast<std::int64_t>(bs);
      }
    }
    if (!id) break;
    s.table.push_back(*id);
    parent = key;
    if (batch.full() && !flush_tiers(batch, s.table)) break;
  }
  flush_tiers(batch, s.table);
  s.tokens.assign(tokens.begin(),
                  tokens.begin() + static_cast<std::ptrdiff_t>(s.table.size() * bs));
  return static_cast<std::int64_t>(s.tokens.size());
}

std::optional<std::int32_t> KvManager::match_device(const BlockKey& key,
                                                    std::span<const std::int32_t> t) {
  auto id = pool_.find(key, t);
  if (!id) return std::nullopt;
  pool_.ref(*id, now());
  metrics_.hit_tokens[0] += static_cast<std::int64_t>(t.size());
  return id;
}

int KvManager::blocks_to_grow(SeqId seq, std::int64_t total_tokens) const {
  auto it = seqs_.find(seq);
  const std::int64_t bs = opt_.block_size;
  const std::int64_t need = (total_tokens + bs - 1) / bs;
  if (it == seqs_.end()) return static_cast<int>(need);
  const SeqState& s = it->second;
  if (s.swapped) return static_cast<int>(std::max<std::int64_t>(need, std::ssize(s.swap)));
  int n = static_cast<int>(std::max<std::int64_t>(0, need - std::ssize(s.table)));
  const std::size_t pos = s.tokens.size();
  if (pos % static_cast<std::size_t>(bs) != 0 &&
      pos / static_cast<std::size_t>(bs) < s.table.size()) {
    const Block& b = pool_.block(s.table[pos / static_cast<std::size_t>(bs)]);
    if (b.refs > 1 || b.pins > 0) ++n;
  }
  return n;
}

// The block that the next write lands in must belong to this sequence alone.
Status KvManager::copy_on_write(SeqState& s) {
  const auto bs = static_cast<std::size_t>(opt_.block_size);
  const std::size_t pos = s.tokens.size();
  if (pos % bs == 0 || pos / bs >= s.table.size()) return ok_status();
  std::int32_t& slot = s.table[pos / bs];
  const Block& b = pool_.block(slot);
  if (b.refs <= 1 && b.pins == 0) return ok_status();
  auto fresh = allocate();
  if (!fresh.ok()) return fresh.error();
  const std::pair<std::int32_t, std::int32_t> pair{slot, *fresh};
  if (auto st = memory_->copy(std::span(&pair, 1)); !st.ok()) {
    pool_.unref(*fresh, now());
    return st;
  }
  pool_.unref(slot, now());
  slot = *fresh;
  ++metrics_.cow_copies;
  return ok_status();
}

Status KvManager::reserve(SeqId seq, std::int64_t total_tokens) {
  SeqState* s = find_seq(seq);
  if (s == nullptr || s->swapped) {
    return make_error(ErrorCode::invalid_argument,
                      "KV reserve: sequence " + std::to_string(seq) + " is not resident");
  }
  AGENTRT_TRY(copy_on_write(*s));
  const std::int64_t bs = opt_.block_size;
  const auto need = static_cast<std::size_t>((total_tokens + bs - 1) / bs);
  while (s->table.size() < need) {
    auto id = allocate();
    if (!id.ok()) return id.error();
    s->table.push_back(*id);
  }
  return ok_status();
}

void KvManager::seal_full_blocks(SeqState& s, std::size_t from_block) {
  const auto bs = static_cast<std::size_t>(opt_.block_size);
  const std::size_t full = std::min(s.tokens.size() / bs, s.seal_limit);
  BlockKey parent = root_;
  for (std::size_t i = 0; i < full; ++i) {
    const Block& b = pool_.block(s.table[i]);
    std::span<const std::int32_t> part(s.tokens.data() + i * bs, bs);
    const BlockKey key =
        (i >= from_block || !b.key) ? chain_key(parent, part, opt_.model_fingerprint) : *b.key;
    if (!b.key) {
      pool_.seal(s.table[i], key, part);
      if (b.indexed) emit(KvEventType::stored, 0, key);
    }
    parent = key;
  }
}

void KvManager::stop_sealing(SeqId seq, std::int64_t from) {
  if (SeqState* s = find_seq(seq); s != nullptr && from >= 0) {
    s->seal_limit = std::min(
        s->seal_limit, static_cast<std::size_t>(from) / static_cast<std::size_t>(opt_.block_size));
  }
}

Status KvManager::commit(SeqId seq, std::span<const std::int32_t> tokens) {
  SeqState* s = find_seq(seq);
  if (s == nullptr || s->swapped) {
    return make_error(ErrorCode::invalid_argument,
                      "KV commit: sequence " + std::to_string(seq) + " is not resident");
  }
  const auto bs = static_cast<std::size_t>(opt_.block_size);
  const std::size_t end = s->tokens.size() + tokens.size();
  if (end > s->table.size() * bs) {
    return make_error(ErrorCode::invalid_argument, "KV commit: " + std::to_string(end) +
                                                       " tokens exceed the reserved " +
                                                       std::to_string(s->table.size() * bs));
  }
  const std::size_t first_new_full = s->tokens.size() / bs;
  s->tokens.insert(s->tokens.end(), tokens.begin(), tokens.end());
  if (end / bs > first_new_full) seal_full_blocks(*s, first_new_full);
  return ok_status();
}

Status KvManager::fork(SeqId parent, SeqId child) {
  SeqState* p = find_seq(parent);
  if (p == nullptr || p->swapped) {
    return make_error(ErrorCode::invalid_argument,
                      "KV fork: sequence " + std::to_string(parent) + " is not resident");
  }
  if (seqs_.count(child) != 0) {
    return make_error(ErrorCode::invalid_argument,
                      "KV fork: sequence " + std::to_string(child) + " exists");
  }
  SeqState copy;
  copy.table = p->table;
  copy.tokens = p->tokens;
  copy.seal_limit = p->seal_limit;
  for (std::int32_t id : copy.table)
    pool_.ref(id, now());
  seqs_.emplace(child, std::move(copy));
  return ok_status();
}

void KvManager::release(SeqId seq) {
  auto it = seqs_.find(seq);
  if (it == seqs_.end()) return;
  for (std::int32_t id : it->second.table)
    pool_.unref(id, now());
  for (const auto& buf : it->second.swap)
    swap_used_ -= buf.size();
  seqs_.erase(it);
}

}  // namespace agentrt::kv
