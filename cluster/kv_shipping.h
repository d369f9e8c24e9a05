// KV shipping between nodes (docs/cluster.md, "KV moves with an agent"): a draining node
// turns a paused session's blocks, as its KV snapshot store keeps them (key -> one block's
// bytes, the RocksDB store's format), into bounded KvShipment batches; the node that takes
// the session over checks each batch against its own engine (model and block layout, block
// size and bytes, the keys recomputed from the tokens) and imports it into its store, where
// the session's next turn finds the blocks instead of recomputing them.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "cluster/wire.h"
#include "engine/common/result.h"
#include "engine/kv/kv_tier.h"

namespace agentrt::cluster {

inline constexpr std::size_t kMaxShipmentBlocks = 256;       // blocks per batch, at most
inline constexpr std::size_t kMaxShipmentTokens = 1u << 20;  // tokens of one session

// A paused session's next turn that the router moves off its (live) node for load takes its
// KV along (coordinator_kv_move.cpp) when the old node holds at least kMoveMinBlocks more
// blocks of its prompt than the new one: below that, recomputing costs less than the
// shipment's round trips (bench/RESULTS.md, "Cluster crash and load (issue 20)").
inline constexpr std::int32_t kMoveMinBlocks = 8;
// How long the moved turn waits for its shipment to land; past it, it runs and recomputes
// what has not landed (a late batch only fills the new node's snapshot tier).
inline constexpr std::chrono::milliseconds kMoveWait{1500};

// The chained keys of the full blocks of `tokens`, the first `blocks` of them (all when
// larger), under `fingerprint`, as the engines key them.
std::vector<kv::BlockKey> chain_keys(const std::vector<std::int32_t>& tokens, int block_size,
                                     const std::string& fingerprint, std::size_t blocks = SIZE_MAX);

// The batches of one session: its tokens' full blocks, read from `store` in order up to the
// first it lacks, at most `batch_blocks` (1..kMaxShipmentBlocks) a batch; the last batch has
// `last` set. Empty when the store holds none of them. Errors: the store's read errors,
// invalid_argument for a batch size out of range.
Result<std::vector<KvShipment>> export_session(kv::KvTier& store, const std::string& session,
                                               const std::vector<std::int32_t>& tokens,
                                               const std::string& fingerprint, int block_size,
                                               std::size_t batch_blocks);

// Checks one batch against the receiving engine (its key fingerprint and block size; its
// block bytes when known, 0 when not) and stores its blocks in `store`. Returns the blocks
// stored. Errors: invalid_argument naming what differs (another model or layout, another
// block size, a block of the wrong length, more blocks than the tokens hold, a batch or
// session over the caps), the store's write errors.
Result<std::int32_t> import_shipment(kv::KvTier& store, const KvShipment& s,
                                     const std::string& fingerprint, int block_size,
                                     std::size_t block_bytes);

}  // namespace agentrt::cluster
