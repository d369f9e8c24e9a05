#include "engine/generator.h"

#include <algorithm>
#include <deque>
#include <memory>
#include <optional>

#include "engine/sampling/stop_matcher.h"

namespace agentrt {

const char* to_string(FinishReason reason) {
  switch (reason) {
    case FinishReason::length:
      return "length";
    case FinishReason::stop_token:
      return "stop_token";
    case FinishReason::stop_string:
      return "stop_string";
    case FinishReason::context_full:
      return "context_full";
  }
  return "unknown";
}

namespace {

std::uint64_t mix_seed(std::uint64_t seed, std::uint64_t index) {  // splitmix64
  std::uint64_t z = seed + 0x9e3779b97f4a7c15ull * (index + 1);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

// One request in flight.
struct Run {
  std::size_t index = 0;
  const GenerationRequest* request = nullptr;
  std::vector<std::int32_t> tokens;  // prompt, then output
  std::size_t prompt_len = 0;
  std::size_t fed = 0;  // tokens whose KV is in the cache
  std::vector<std::int32_t> blocks;
  std::optional<sampling::Sampler> sampler;
  std::optional<sampling::StopMatcher> matcher;
  std::size_t decoded_len = 0;  // bytes of detokenized output already fed to the matcher
  GenerationResult result;
  bool done = false;
};

struct Limits {
  int max_context = 0;
  int block_size = 0;
  int num_blocks = 0;
  int vocab_size = 0;
};

// KV positions a request may write: every token but the last output one.
int blocks_needed(const GenerationRequest& r, const Limits& lim) {
  const std::int64_t total = std::min<std::int64_t>(
      static_cast<std::int64_t>(r.prompt.size()) + r.params.max_tokens, lim.max_context);
  return static_cast<int>((total - 1 + lim.block_size - 1) / lim.block_size);
}

Status check_request(const GenerationRequest& r, const Limits& lim) {
  AGENTRT_TRY(r.params.validate());
  if (r.prompt.empty()) return make_error(ErrorCode::invalid_argument, "empty prompt");
  if (static_cast<std::int64_t>(r.prompt.size()) >= lim.max_context) {
    return make_error(ErrorCode::invalid_argument, "prompt of " + std::to_string(r.prompt.size()) +
                                                       " tokens leaves no room in the context of " +
                                                       std::to_string(lim.max_context));
  }
  AGENTRT_TRY(check_token_ids(r.prompt, lim.vocab_size, "prompt"));
  const int need = blocks_needed(r, lim);
  if (need > lim.num_blocks) {
    return make_error(ErrorCode::out_of_memory, "needs " + std::to_string(need) + " KV blocks of " +
                                                    std::to_string(lim.block_size) +
                                                    " tokens, the backend has " +
                                                    std::to_string(lim.num_blocks));
  }
  return ok_status();
}

Status check_requests(std::span<const GenerationRequest> requests, const Limits& lim) {
  for (std::size_t i = 0; i < requests.size(); ++i) {
    if (auto st = check_request(requests[i], lim); !st.ok()) {
      return st.error().with_context("request " + std::to_string(i));
    }
  }
  return ok_status();
}

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

bool is_stop_token(const GenerationRequest& r, const model::ModelConfig& config, std::int32_t t) {
  const auto& ids = r.params.stop_token_ids;
  if (std::find(ids.begin(), ids.end(), t) != ids.end()) return true;
  if (r.params.ignore_eos) return false;
  return std::find(config.eos_token_ids.begin(), config.eos_token_ids.end(), t) !=
         config.eos_token_ids.end();
}

// Samples the next token of `run` from its logits row and checks whether it is done.
void advance(Run& run, std::span<const float> logits, const model::ModelConfig& config,
             const Limits& lim, const Detokenize& detokenize) {
  const std::span<const std::int32_t> all(run.tokens);
  auto s = run.sampler->sample(logits, all.first(run.prompt_len), all.subspan(run.prompt_len));
  run.tokens.push_back(s.token);
  run.result.tokens.push_back(s.token);
  run.result.steps.push_back(std::move(s));
  const std::int32_t t = run.tokens.back();
  const auto& r = *run.request;
  if (is_stop_token(r, config, t)) return finish(run, FinishReason::stop_token, detokenize);
  if (detokenize && update_text(run, detokenize, false)) {
    run.done = true;
    run.result.finish = FinishReason::stop_string;
    return;
  }
  if (static_cast<int>(run.result.tokens.size()) >= r.params.max_tokens) {
    return finish(run, FinishReason::length, detokenize);
  }
  if (static_cast<std::int64_t>(run.tokens.size()) >= lim.max_context) {
    return finish(run, FinishReason::context_full, detokenize);
  }
}

}  // namespace

namespace {

struct State {
  std::vector<std::unique_ptr<Run>> runs;
  std::deque<Run*> waiting;
  std::vector<Run*> active;
  std::vector<std::int32_t> free_blocks;
};

// Admits waiting requests, in order, while their worst-case blocks fit.
void admit(State& st, const Limits& lim) {
  while (!st.waiting.empty()) {
    Run& run = *st.waiting.front();
    const auto need = static_cast<std::size_t>(blocks_needed(*run.request, lim));
    if (need > st.free_blocks.size()) return;
    run.blocks.assign(st.free_blocks.end() - static_cast<std::ptrdiff_t>(need),
                      st.free_blocks.end());
    st.free_blocks.resize(st.free_blocks.size() - need);
    st.active.push_back(&run);
    st.waiting.pop_front();
  }
}

struct PlannedRow {
  Run* run = nullptr;
  std::size_t count = 0;
  bool sample = false;  // the chunk ends at the run's newest token
};

// Decodes first, then prefill chunks within the token budget.
void build_plan(const State& st, int prefill_budget, BatchPlan& plan,
                std::vector<PlannedRow>& rows) {
  plan.seqs.clear();
  rows.clear();
  auto add = [&](Run* run, std::size_t count) {
    const auto begin = run->tokens.begin() + static_cast<std::ptrdiff_t>(run->fed);
    plan.seqs.push_back(
        {std::vector<std::int32_t>(begin, begin + static_cast<std::ptrdiff_t>(count)),
         static_cast<std::int32_t>(run->fed), run->blocks, false});
    rows.push_back({run, count, run->fed + count == run->tokens.size()});
  };
  for (Run* run : st.active) {
    if (run->fed >= run->prompt_len) add(run, run->tokens.size() - run->fed);
  }
  auto budget = static_cast<std::size_t>(prefill_budget);
  for (Run* run : st.active) {
    if (run->fed >= run->prompt_len || budget == 0) continue;
    const std::size_t n = std::min(run->prompt_len - run->fed, budget);
    budget -= n;
    add(run, n);
  }
}

// Drops finished runs from the batch and returns their blocks.
void retire(State& st) {
  std::erase_if(st.active, [&](Run* run) {
    if (!run->done) return false;
    st.free_blocks.insert(st.free_blocks.end(), run->blocks.begin(), run->blocks.end());
    run->blocks.clear();
    return true;
  });
}

}  // namespace

Result<std::vector<GenerationResult>> generate(Backend& backend, const model::ModelConfig& config,
                                               std::span<const GenerationRequest> requests,
                                               const GeneratorOptions& options,
                                               const Detokenize& detokenize) {
  const auto& geo = backend.kv_geometry();
  const Limits lim{config.max_context(), geo.block_size, geo.num_blocks, config.vocab_size};
  if (options.max_prefill_tokens_per_step < 1) {
    return make_error(ErrorCode::invalid_argument, "max_prefill_tokens_per_step must be >= 1");
  }
  AGENTRT_TRY(check_requests(requests, lim));
  State st;
  for (std::int32_t b = geo.num_blocks - 1; b >= 0; --b)
    st.free_blocks.push_back(b);
  for (std::size_t i = 0; i < requests.size(); ++i) {
    auto run = std::make_unique<Run>();
    run->index = i;
    run->request = &requests[i];
    run->tokens = requests[i].prompt;
    run->prompt_len = run->tokens.size();
    run->sampler.emplace(requests[i].params, mix_seed(options.seed, i));
    run->matcher.emplace(requests[i].params.stop_strings);
    st.waiting.push_back(run.get());
    st.runs.push_back(std::move(run));
  }
  BatchPlan plan;
  std::vector<PlannedRow> rows;
  Logits logits;
  while (!st.waiting.empty() || !st.active.empty()) {
    admit(st, lim);
    build_plan(st, options.max_prefill_tokens_per_step, plan, rows);
    if (auto s = backend.forward(plan, logits); !s.ok()) return s.error().with_context("generate");
    for (std::size_t r = 0; r < rows.size(); ++r) {
      Run& run = *rows[r].run;
      run.fed += rows[r].count;
      if (!rows[r].sample) continue;
      const auto row = logits.row(static_cast<int>(r));
      if (auto bad = sampling::check_logits(row, std::ssize(run.result.tokens))) {
        return make_error(ErrorCode::corrupt,
                          "generate: request " + std::to_string(run.index) + ": " + *bad);
      }
      advance(run, row, config, lim, detokenize);
    }
    retire(st);
  }
  std::vector<GenerationResult> results;
  results.reserve(st.runs.size());
  for (auto& run : st.runs)
    results.push_back(std::move(run->result));
  return results;
}

}  // namespace agentrt
