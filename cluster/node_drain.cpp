// A node's drain and KV import (node_drain.h).
#include "cluster/node_drain.h"

#include <spdlog/spdlog.h>

#include "cluster/kv_shipping.h"

namespace agentrt::cluster {

std::deque<KvShipment> drain_batches(api::OpenAiHost& openai, NodeKvStore& store) {
  auto& rt = openai.runtime();
  if (auto s = rt.flush_kv(); !s.ok())
    spdlog::warn("node: drain: writing the KV cache out: {}", s.error().message);
  const std::string fingerprint = rt.kv_key_fingerprint();
  const int block_size = rt.kv_geometry().block_size;
  std::deque<KvShipment> out;
  const auto paused = openai.paused();
  spdlog::info("node: drain: {} paused session(s)", paused.size());
  for (const auto& turn : paused) {
    auto batches =
        export_session(store, turn.key, turn.tokens, fingerprint, block_size, kDrainBatchBlocks);
    if (!batches.ok()) {
      spdlog::warn("node: drain: session {}: {}", turn.key, batches.error().message);
      continue;
    }
    if (batches->empty())
      spdlog::warn("node: drain: session {}: none of its {} tokens' blocks are in the store",
                   turn.key, turn.tokens.size());
    for (auto& b : *batches)
      out.push_back(std::move(b));
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
