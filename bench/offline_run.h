// The offline workload of the engine benchmarks: N requests of P random prompt tokens and
// exactly O output tokens each (greedy unless temperature > 0; ignore_eos unless
// constrained), all queued at once and stepped until done, with the engine's host time and
// the split between steps that prefilled prompt tokens and decode-only steps.
#pragma once

#include <cstdint>
#include <memory>

#include "engine/common/result.h"
#include "engine/engine.h"

namespace agentrt::bench {

struct OfflineWorkload {
  int prompt = 512;
  int output = 256;
  float temperature = 0.0f;  // 0: greedy
  float top_p = 1.0f;
  // Every output constrained (requests then end at EOS once complete, not at `output`).
  std::shared_ptr<const sampling::Constraint> constraint;
};

struct OfflineResult {
  double seconds = 0;
  std::int64_t output_tokens = 0, steps = 0, preemptions = 0;
  std::int64_t overlapped_steps = 0;                 // EngineStats::overlapped_steps
  double mask_seconds = 0, masked_step_seconds = 0;  // EngineStats, structured output
  double step_seconds = 0, forward_seconds = 0;      // EngineStats: engine host time
  // Steps that prefilled prompt tokens (mixed) and the rest (decode only): count, wall time.
  // With overlapped steps, a step() call's time (mostly the wait for the step before) counts
  // for the step it queued.
  std::int64_t mixed_steps = 0;
  double mixed_seconds = 0, decode_seconds = 0;
};

// Queues `n` requests of random tokens below `vocab` (from `seed`) and steps `engine` until
// every one has finished. Errors: a request refused, a step's error or error event, or
// fewer requests finished (or, unconstrained, fewer tokens) than asked.
Result<OfflineResult> run_offline(Engine& engine, const OfflineWorkload& w, int n, int vocab,
                                  std::uint32_t seed);

}  // namespace agentrt::bench
