// The sampler actor: best-of-N. It renders the prompt once and has the engine loop
// prefill it once: by default a probe request whose full blocks the N independent samples
// then map by prefix; with share_first_token, one request forked N-1 times right after
// its first token (all KV shared copy-on-write, the first token too). Each
// sample is a full agent turn loop (tool calls included) on its own agent actor. It can
// stop early at the first k finished samples and keeps a token budget shared by all
// samples, then aggregates: majority vote over a regex-extracted answer, highest mean
// logprob, a verifier agent, or an external scorer tool. A failing sample is recorded in
// its SampleResult; the others carry on. `done` is called exactly once.
#pragma once

#include <caf/all.hpp>

#include <functional>
#include <memory>

#include "actors/agent_actor.h"
#include "actors/runtime.h"

namespace agentrt::actors {

struct SamplerInit {
  std::shared_ptr<const AgentContext> ctx;
  AgentSpec spec;
  std::string input;
  BestOfSpec best;
  JobId job = 0;
  ProgressFn progress;
  std::function<void(Result<BestOfResult>)> done;
};

// Handlers: (cancel_atom) cancels every sample; the job then ends with a cancelled error.
caf::behavior sampler_actor(caf::event_based_actor* self, SamplerInit init);

// The answer in `text`: the last match of `pattern`, its group 1 if it has one.
std::optional<std::string> extract_answer(const std::string& pattern, const std::string& text);

// Majority vote: the index of the first sample with the most frequent answer among
// `answers` (nullopt entries do not vote), and its vote count; {-1, 0} when none voted.
std::pair<int, int> majority_vote(const std::vector<std::optional<std::string>>& answers);

// The aggregation's choice among `samples` (only finished ones count). majority_vote: the
// first sample of the most frequent answer; max_mean_logprob: the highest
// result.mean_logprob; verifier_agent / scorer_tool: the highest `score` (set beforehand).
// Ties go to the earlier sample. Sets each finished sample's score (votes for its answer, or
// its mean logprob) and returns chosen (-1 when none finished), output, answer and votes
// (samples that gave the chosen answer).
BestOfResult choose_sample(Aggregation aggregation, std::vector<SampleResult> samples);

}  // namespace agentrt::actors
