// KV shipping (kv_shipping.h): keys, batches and their checks.
#include "cluster/kv_shipping.h"

#include <span>

namespace agentrt::cluster {

std::vector<kv::BlockKey> chain_keys(const std::vector<std::int32_t>& tokens, int block_size,
                                     const std::string& fingerprint, std::size_t blocks) {
  std::vector<kv::BlockKey> keys;
  if (block_size <= 0) return keys;
  const auto bs = static_cast<std::size_t>(block_size);
  kv::BlockKey parent = kv::root_key(fingerprint);
  for (std::size_t at = 0; at + bs <= tokens.size() && keys.size() < blocks; at += bs) {
    parent = kv::chain_key(parent, std::span(tokens).subspan(at, bs), fingerprint);
    keys.push_back(parent);
  }
  return keys;
}

Result<std::vector<KvShipment>> export_session(kv::KvTier& store, const std::string& session,
                                               const std::vector<std::int32_t>& tokens,
                                               const std::string& fingerprint, int block_size,
                                               std::size_t batch_blocks) {
  if (batch_blocks == 0 || batch_blocks > kMaxShipmentBlocks)
    return make_error(ErrorCode::invalid_argument, "KV shipping: batch_blocks must be in [1, " +
                                                       std::to_string(kMaxShipmentBlocks) + "]");
  std::vector<KvShipment> out;
  const auto keys = chain_keys(tokens, block_size, fingerprint);
  for (std::size_t i = 0; i < keys.size(); ++i) {
    auto v = store.get(keys[i]);
    if (!v.ok()) return v.error();
    if (!*v) break;  // the chain stops here: later blocks would not be found by prefix
    if (out.empty() || out.back().blocks.size() >= batch_blocks) {
      KvShipment s;
      s.session = session;
      s.fingerprint = fingerprint;
      s.block_size = block_size;
      s.first_block = static_cast<std::int32_t>(i);
      out.push_back(std::move(s));
    }
    const auto& bytes = **v;
    out.back().blocks.emplace_back(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  }
  for (auto& s : out) {  // each batch carries the tokens of its blocks and those before
    const std::size_t end = (static_cast<std::size_t>(s.first_block) + s.blocks.size()) *
                            static_cast<std::size_t>(block_size);
    s.tokens.assign(tokens.begin(), tokens.begin() + static_cast<std::ptrdiff_t>(end));
  }
  if (!out.empty()) out.back().last = true;
  return out;
}

Result<std::int32_t> import_shipment(kv::KvTier& store, const KvShipment& s,
                                     const std::string& fingerprint, int block_size,
                                     std::size_t block_bytes) {
  auto refuse = [&](const std::string& why) {
    return make_error(ErrorCode::invalid_argument,
                      "KV shipment of session '" + s.session.substr(0, 64) + "': " + why);
  };
  if (s.fingerprint != fingerprint)
    return refuse("blocks of another model or block layout than this engine's");
  if (s.block_size != block_size)
    return refuse("blocks of " + std::to_string(s.block_size) + " tokens, this engine's have " +
                  std::to_string(block_size));
  if (s.blocks.size() > kMaxShipmentBlocks)
    return refuse(std::to_string(s.blocks.size()) + " blocks in one batch, at most " +
                  std::to_string(kMaxShipmentBlocks));
  if (s.tokens.size() > kMaxShipmentTokens)
    return refuse(std::to_string(s.tokens.size()) + " tokens, at most " +
                  std::to_string(kMaxShipmentTokens));
  if (s.first_block < 0) return refuse("a negative first block");
  const std::size_t first = static_cast<std::size_t>(s.first_block);
  const std::size_t end = first + s.blocks.size();
  const auto keys = chain_keys(s.tokens, block_size, fingerprint, end);
  if (keys.size() < end)
    return refuse("blocks up to " + std::to_string(end) + " but tokens for " +
                  std::to_string(keys.size()) + " full blocks");
  const std::size_t want = block_bytes != 0   ? block_bytes
                           : s.blocks.empty() ? 0
                                              : s.blocks[0].size();
  std::vector<kv::KvTier::Item> items;
  items.reserve(s.blocks.size());
  for (std::size_t i = 0; i < s.blocks.size(); ++i) {
    if (s.blocks[i].size() != want || want == 0)
      return refuse("block " + std::to_string(first + i) + " has " +
                    std::to_string(s.blocks[i].size()) + " bytes, this engine's have " +
                    std::to_string(want));
    const auto* p = reinterpret_cast<const std::byte*>(s.blocks[i].data());
    items.emplace_back(keys[first + i], kv::KvTier::Value(p, p + s.blocks[i].size()));
  }
  if (auto st = store.put_many(items); !st.ok()) return st.error();
  return static_cast<std::int32_t>(items.size());
}

}  // namespace agentrt::cluster
