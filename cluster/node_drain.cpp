// A node's drain, load moves and KV import (node_drain.h).
#include "cluster/node_drain.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "cluster/kv_shipping.h"
#include "cluster/wire_checks.h"
#include "storage/db.h"
#include "storage/kv_store.h"

namespace agentrt::cluster {
namespace {

// The batches of one paused turn, appended to `out`; returns the blocks added. A read error
// is logged ("node: WHY: session KEY: ...") and adds none.
std::size_t session_batches(kv::KvTier& store, const api::PausedTurn& turn,
                            const std::string& fingerprint, int block_size, const char* why,
                            std::deque<KvShipment>& out) {
  auto batches =
      export_session(store, turn.key, turn.tokens, fingerprint, block_size, kDrainBatchBlocks);
  if (!batches.ok()) {
    spdlog::warn("node: {}: session {}: {}", why, turn.key, batches.error().message);
    return 0;
  }
  if (batches->empty())
    spdlog::warn("node: {}: session {}: none of its {} tokens' blocks are in the store", why,
                 turn.key, turn.tokens.size());
  std::size_t blocks = 0;
  for (auto& b : *batches) {
    blocks += b.blocks.size();
    out.push_back(std::move(b));
  }
  return blocks;
}

}  // namespace

std::deque<KvShipment> drain_batches(api::OpenAiHost& openai, kv::KvTier& store) {
  auto& rt = openai.runtime();
  if (auto s = rt.flush_kv(); !s.ok())
    spdlog::warn("node: drain: writing the KV cache out: {}", s.error().message);
  const std::string fingerprint = rt.kv_key_fingerprint();
  const int block_size = rt.kv_geometry().block_size;
  std::deque<KvShipment> out;
  const auto paused = openai.paused();
  spdlog::info("node: drain: {} paused session(s)", paused.size());
  for (const auto& turn : paused)
    session_batches(store, turn, fingerprint, block_size, "drain", out);
  return out;
}

void RecentSessions::update(const std::vector<api::PausedTurn>& paused) {
  std::lock_guard lock(mu_);
  for (const auto& turn : paused) {
    auto& e = by_key_[turn.key];
    if (e.tokens != turn.tokens) e.tokens = turn.tokens;
    e.stamp = ++clock_;
  }
  if (by_key_.size() <= kMaxRecentSessions) return;
  std::vector<std::uint64_t> stamps;  // drop the least recently seen eighth
  stamps.reserve(by_key_.size());
  for (const auto& [key, e] : by_key_)
    stamps.push_back(e.stamp);
  const std::size_t cut = by_key_.size() / 8;
  std::nth_element(stamps.begin(), stamps.begin() + static_cast<std::ptrdiff_t>(cut), stamps.end());
  const std::uint64_t keep_from = stamps[cut];
  std::erase_if(by_key_, [keep_from](const auto& kv) { return kv.second.stamp < keep_from; });
}

std::optional<std::vector<std::int32_t>> RecentSessions::find(const std::string& session) const {
  std::lock_guard lock(mu_);
  auto it = by_key_.find(session);
  if (it == by_key_.end()) return std::nullopt;
  return it->second.tokens;
}

std::deque<KvShipment> move_batches(const actors::Runtime& rt, kv::KvTier& store,
                                    const RecentSessions& recent, const std::string& session,
                                    std::int32_t min_blocks) {
  auto tokens = recent.find(session);  // paused, or its pin gone and its blocks still stored
  if (!tokens) return {};
  api::PausedTurn turn;
  turn.key = session;
  turn.tokens = std::move(*tokens);
  std::deque<KvShipment> out;
  const std::size_t blocks = session_batches(store, turn, rt.kv_key_fingerprint(),
                                             rt.kv_geometry().block_size, "move", out);
  if (blocks < static_cast<std::size_t>(std::max(min_blocks, 1))) out.clear();
  return out;
}

Result<std::int32_t> adopt_blocks(kv::KvTier& store, const std::string& model_fingerprint,
                                  const KvAdoptCall& m) {
  const auto deadline = std::chrono::steady_clock::now() + kAdoptBudget;
  if (auto st = check_kv_adopt(m); !st.ok()) return st.error();
  std::vector<kv::BlockKey> keys;
  keys.reserve(m.keys.size() / 2);
  for (std::size_t i = 0; i + 1 < m.keys.size(); i += 2)
    keys.push_back(kv::BlockKey{m.keys[i], m.keys[i + 1]});  // (hi, lo) pairs on the wire
  auto db = storage::Db::open_read_only(m.store);
  if (!db.ok()) return db.error();
  // A batch at a time, so that memory holds kDrainBatchBlocks blocks whatever the chain's length.
  std::size_t copied = 0;
  for (std::size_t at = 0; at < keys.size(); at += kDrainBatchBlocks) {
    const auto batch = std::span(keys).subspan(at, std::min(kDrainBatchBlocks, keys.size() - at));
    auto blocks = storage::read_kv_chain(**db, model_fingerprint, batch);
    if (!blocks.ok()) return blocks.error();
    std::vector<kv::KvTier::Item> items;
    items.reserve(blocks->size());
    for (std::size_t i = 0; i < blocks->size(); ++i)
      items.emplace_back(batch[i], std::move((*blocks)[i]));
    if (auto st = store.put_many(items); !st.ok()) return st.error();
    copied += items.size();
    if (items.size() < batch.size()) break;  // the chain ends in the dead node's store
    if (std::chrono::steady_clock::now() >= deadline) break;  // the prefix so far is useful
  }
  return static_cast<std::int32_t>(copied);
}

Result<std::int32_t> import_batch(api::OpenAiHost& openai, kv::KvTier& store,
                                  std::size_t block_bytes, const KvShipment& s) {
  auto& rt = openai.runtime();
  return import_shipment(store, s, rt.kv_key_fingerprint(), rt.kv_geometry().block_size,
                         block_bytes);
}

}  // namespace agentrt::cluster
