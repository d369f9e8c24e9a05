// A node's drain, load moves and KV import (node_drain.h).
#include "cluster/node_drain.h"

#include <spdlog/spdlog.h>

#include "cluster/kv_shipping.h"

namespace agentrt::cluster {
namespace {

// The batches of one paused turn, appended to `out`; returns the blocks added. A read error
// is logged ("node: WHY: session KEY: ...") and adds none.
std::size_t session_batches(NodeKvStore& store, const api::PausedTurn& turn,
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

std::deque<KvShipment> drain_batches(api::OpenAiHost& openai, NodeKvStore& store) {
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

std::deque<KvShipment> move_batches(api::OpenAiHost& openai, NodeKvStore& store,
                                    const std::string& session, std::int32_t min_blocks) {
  auto& rt = openai.runtime();
  std::deque<KvShipment> out;
  for (const auto& turn : openai.paused()) {
    if (turn.key != session) continue;
    const std::size_t blocks = session_batches(store, turn, rt.kv_key_fingerprint(),
                                               rt.kv_geometry().block_size, "move", out);
    if (blocks < static_cast<std::size_t>(std::max(min_blocks, 1))) out.clear();
    break;
  }
  return out;
}

Result<std::int32_t> import_batch(api::OpenAiHost& openai, NodeKvStore& store,
                                  const KvShipment& s) {
  auto& rt = openai.runtime();
  return import_shipment(store, s, rt.kv_key_fingerprint(), rt.kv_geometry().block_size,
                         store.block_bytes());
}

}  // namespace agentrt::cluster
