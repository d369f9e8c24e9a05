// What the coordinator checks in a node's hello and job result once CAF has deserialized them
// (wire.h; the caps on sizes are wire_caps.h's, checked during deserialization). Pure
// functions: the coordinator actor calls them, and fuzz_cluster_wire feeds them any message.
#pragma once

#include <nlohmann/json.hpp>

#include "cluster/wire.h"
#include "engine/common/result.h"

namespace agentrt::cluster {

// A hello the coordinator answers: this protocol version, a nonce of at least 16 bytes (32
// hex digits), a KV store path empty or absolute. Error (invalid_argument): why it is
// refused, for the log.
Status check_hello(const NodeHello& hello);

// An adopt call a node carries out: a store path that is absolute, an even number of key
// words, at most kMaxAdoptBlocks keys. Error (invalid_argument): what is wrong.
inline constexpr std::size_t kMaxAdoptBlocks = 65536;  // 1 Mi tokens of 16-token blocks
Status check_kv_adopt(const KvAdoptCall& m);

// A node's snapshot part the coordinator applies: part >= 0, a tier of the index (0..2), an
// even number of key words, pins empty or one per key, each in [0, kMaxWireSnapshotPins].
// Error (invalid_argument): what is wrong, for the log.
Status check_kv_snapshot(const KvSnapshotMsg& m);

// A node's job result: the status (error_code -1 is ok; a code outside ErrorCode becomes
// internal; an error always has a message) and the report parsed. A report that is not JSON, or
// nests deeper than kMaxJsonDepth, is null, and an ok status becomes corrupt.
struct CheckedJobResult {
  Status status;
  nlohmann::json report;
};
CheckedJobResult check_job_result(const JobResultMsg& r);

}  // namespace agentrt::cluster
