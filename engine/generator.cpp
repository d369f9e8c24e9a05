#include "engine/generator.h"

#include <algorithm>
#include <optional>
#include <unordered_map>

#include "engine/engine.h"
#include "engine/sampling/stop_matcher.h"

namespace agentrt {

namespace {

// One request's result as its events arrive.
struct Run {
  GenerationResult result;
  std::optional<sampling::StopMatcher> matcher;
  std::size_t decoded_len = 0;  // bytes of detokenized output already fed to the matcher
  bool done = false;
};

// Feeds newly decoded output text to the stop matcher. Returns true on a stop string.
bool update_text(Run& run, const Detokenize& detokenize, bool final_token_is_stop) {
  auto& out = run.result;
  std::span<const std::int32_t> ids(out.tokens);
  if (final_token_is_stop) ids = ids.first(ids.size() - 1);
  const std::string decoded = detokenize(ids);
  // A trailing U+FFFD is usually an incomplete UTF-8 sequence: wait for more tokens.
  const bool incomplete =
      decoded.size() >= 3 && decoded.compare(decoded.size() - 3, 3, "\xEF\xBF\xBD") == 0;
  if (incomplete && !run.done) return false;
  if (decoded.size() <= run.decoded_len) return false;
  auto step = run.matcher->feed(std::string_view(decoded).substr(run.decoded_len));
  run.decoded_len = decoded.size();
  out.text += step.emit;
  return step.stopped;
}

// The request's turn ended with `reason` (after its last token, when it had one).
void finish(Run& run, FinishReason reason, const Detokenize& detokenize) {
  run.done = true;
  run.result.finish = reason;
  if (!detokenize) return;
  if (update_text(run, detokenize, reason == FinishReason::stop_token)) {
    run.result.finish = FinishReason::stop_string;
    return;
  }
  run.result.text += run.matcher->flush();
}

}  // namespace

Result<std::vector<GenerationResult>> generate(Backend& backend, const model::ModelConfig& config,
                                               std::span<const GenerationRequest> requests,
                                               const GeneratorOptions& options,
                                               const Detokenize& detokenize) {
  if (options.max_prefill_tokens_per_step < 1) {
    return make_error(ErrorCode::invalid_argument, "max_prefill_tokens_per_step must be >= 1");
  }
  EngineOptions eo;
  eo.max_tokens_per_step = options.max_prefill_tokens_per_step;
  eo.max_requests = std::max<int>(eo.max_requests, static_cast<int>(requests.size()));
  eo.max_running = std::max(1, std::min<int>(eo.max_running, static_cast<int>(requests.size())));
  eo.swap_preemption = false;  // preempted requests are recomputed: no block I/O needed
  eo.device_sampling = false;  // the same Sampler stream on every backend
  eo.seed = options.seed;
  auto engine = Engine::create(EngineDeps{&backend, &config, {}, nullptr, nullptr}, eo);
  if (!engine.ok()) return engine.error().with_context("generate");

  std::vector<Run> runs(requests.size());
  std::unordered_map<RequestId, std::size_t> index_of;
  for (std::size_t i = 0; i < requests.size(); ++i) {
    EngineRequest r;
    r.prompt = requests[i].prompt;
    r.params = requests[i].params;
    if (!r.params.seed) r.params.seed = sampling::derive_seed(options.seed, i);
    auto id = (*engine)->add_request(std::move(r));
    if (!id.ok()) return id.error().with_context("request " + std::to_string(i));
    index_of[*id] = i;
    runs[i].matcher.emplace(requests[i].params.stop_strings);
  }
  while ((*engine)->has_work()) {
    auto events = (*engine)->step();
    if (!events.ok()) return events.error().with_context("generate");
    for (const auto& e : *events) {
      const std::size_t i = index_of.at(e.request);
      Run& run = runs[i];
      if (run.done) continue;  // events of a request cancelled at a stop string
      if (e.kind == EventKind::error) {
        return e.error().with_context("generate: request " + std::to_string(i));
      }
      if (e.kind != EventKind::token) continue;
      if (e.token >= 0) {
        run.result.tokens.push_back(e.token);
        run.result.steps.push_back({e.token, e.logprob, e.top});
      }
      if (e.finish) {
        finish(run, *e.finish, detokenize);
      } else if (detokenize && update_text(run, detokenize, false)) {
        run.done = true;
        run.result.finish = FinishReason::stop_string;
        (*engine)->cancel(e.request);
      }
    }
  }
  std::vector<GenerationResult> results;
  results.reserve(runs.size());
  for (auto& run : runs)
    results.push_back(std::move(run.result));
  return results;
}

}  // namespace agentrt
