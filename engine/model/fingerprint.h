// The model fingerprint: a stable identity for a set of weights, used in KV cache keys.
// XXH3-128 over the canonical config, every tensor's name, dtype and shape (sorted by name),
// and up to the first and last 4 KiB of each tensor's bytes, so two fine-tunes of one
// architecture differ while a fingerprint costs no full read of the weights. The same
// checkpoint gives the same fingerprint in every process, on every run.
#pragma once

#include <string>

#include "engine/model/checkpoint.h"
#include "engine/model/config.h"

namespace agentrt::model {

std::string compute_fingerprint(const ModelConfig& config, const Checkpoint& checkpoint);

}  // namespace agentrt::model
