#include "bench/offline_run.h"

#include <chrono>
#include <random>
#include <string>
#include <utility>
#include <vector>

namespace agentrt::bench {
namespace {

std::vector<std::int32_t> random_prompt(int n, int vocab, std::mt19937& rng) {
  std::uniform_int_distribution<std::int32_t> d(0, vocab - 1);
  std::vector<std::int32_t> t(static_cast<std::size_t>(n));
  for (auto& x : t)
    x = d(rng);
  return t;
}

}  // namespace

Result<OfflineResult> run_offline(Engine& engine, const OfflineWorkload& w, int n, int vocab,
                                  std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<EngineRequest> reqs;
  for (int i = 0; i < n; ++i) {
    EngineRequest r;
    r.prompt = random_prompt(w.prompt, vocab, rng);
    r.params.temperature = w.temperature;
    r.params.top_p = w.top_p;
    r.params.max_tokens = w.output;
    r.params.ignore_eos = w.constraint == nullptr;
    r.params.constraint = w.constraint;
    reqs.push_back(std::move(r));
  }
  const EngineStats before = engine.stats();
  const auto t0 = std::chrono::steady_clock::now();
  for (auto& r : reqs) {
    auto id = engine.add_request(std::move(r));
    if (!id.ok()) return id.error();
  }
  OfflineResult out;
  int finished = 0;
  while (engine.has_work()) {
    const auto prefilled = engine.stats().prefilled_tokens;
    const auto s0 = std::chrono::steady_clock::now();
    auto events = engine.step();
    const double took =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - s0).count();
    if (engine.stats().prefilled_tokens > prefilled) {
      ++out.mixed_steps;
      out.mixed_seconds += took;
    } else {
      out.decode_seconds += took;
    }
    if (!events.ok()) return events.error();
    for (const auto& ev : *events) {
      if (ev.kind == EventKind::error) return Error{ErrorCode::internal, ev.message};
      if (ev.kind == EventKind::token) ++out.output_tokens;
      if (ev.finish) ++finished;
    }
  }
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const EngineStats after = engine.stats();
  out.steps = after.steps - before.steps;
  out.mask_seconds = after.mask_seconds - before.mask_seconds;
  out.masked_step_seconds = after.masked_step_seconds - before.masked_step_seconds;
  out.step_seconds = after.step_seconds - before.step_seconds;
  out.forward_seconds = after.forward_seconds - before.forward_seconds;
  out.preemptions = after.preemptions - before.preemptions;
  out.overlapped_steps = after.overlapped_steps - before.overlapped_steps;
  if (finished != n ||
      (w.constraint == nullptr && out.output_tokens != static_cast<std::int64_t>(n) * w.output)) {
    return Error{ErrorCode::internal, std::to_string(finished) + " of " + std::to_string(n) +
                                          " requests finished, " +
                                          std::to_string(out.output_tokens) + " tokens"};
  }
  return out;
}

}  // namespace agentrt::bench
