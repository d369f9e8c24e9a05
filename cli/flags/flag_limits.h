// Bounds of the CLI's numeric flags, checked as each flag is parsed and before anything is
// sized from it (docs/limits.md lists them). The engine checks its own options again
// (EngineOptions, engine/kv_pool_limits.h); these give the flag's name and its limit first.
#pragma once

#include <cstdint>

#include "engine/kv_pool_limits.h"

namespace agentrt::cli::flags {

// --max-tokens: 1 .. 1 Mi. The engine also ends a request at the model's context length.
inline constexpr std::int64_t kMaxTokensLimit = std::int64_t{1} << 20;
// --kv-blocks: 0 (sized by the CLI) .. the engine's kMaxKvBlocks (4 Mi blocks of 16 tokens).
// The engine also checks the pool's bytes against its memory limit before allocating.
inline constexpr std::int64_t kMaxKvBlocksFlag = kMaxKvBlocks;
// --threads: 0 (all cores) .. kThreadsPerHardwareThread x hardware threads, at most
// kMaxThreadsFlag (all of kMaxThreadsFlag when the hardware does not say); the CPU backend's
// own cap is kMaxCpuThreads (engine/cpu/cpu_backend.h), which this must not exceed.
inline constexpr int kMaxThreadsFlag = 256;
inline constexpr int kThreadsPerHardwareThread = 4;
// --top-k: 0 (off) .. 1 Mi; a k above the vocabulary keeps every token.
inline constexpr std::int64_t kMaxTopK = std::int64_t{1} << 20;
// --logprobs: 0 .. 20 alternatives (SamplingParams::validate's limit).
inline constexpr std::int64_t kMaxLogprobs = 20;
// --temperature: 0 (greedy) .. 100.
inline constexpr double kMaxTemperature = 100.0;
// --repetition-penalty: (0, 100].
inline constexpr double kMaxRepetitionPenalty = 100.0;
// --presence-penalty, --frequency-penalty: [-2, 2] (OpenAI's range).
inline constexpr double kMaxAbsPenalty = 2.0;
// --stop-token-id: at most 64 ids, each in [0, 2^31 - 1]; well under the engine's
// sampling::kMaxStopTokenIds, leaving room for the ids a chat format adds.
inline constexpr std::int64_t kMaxStopTokenIdFlags = 64;

// The largest --threads value on a machine of `hardware_threads` (0: unknown).
int max_threads(unsigned hardware_threads);

}  // namespace agentrt::cli::flags
