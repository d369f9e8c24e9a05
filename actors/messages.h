// Messages between the runtime's actors (engine, agent, tool, sampler). All are local:
// they carry engine ids and C++ values, so they are declared unsafe for serialization
// (a remote engine node would need inspect() overloads).
#pragma once

#include <caf/all.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "engine/chat/conversation.h"
#include "engine/common/result.h"
#include "engine/engine.h"
#include "engine/kv/clock.h"

namespace agentrt::actors {

using generate_atom = caf::atom_constant<caf::atom("generate")>;
using pause_atom = caf::atom_constant<caf::atom("pause")>;
using resume_atom = caf::atom_constant<caf::atom("resume")>;
using repin_atom = caf::atom_constant<caf::atom("repin")>;
using cancel_atom = caf::atom_constant<caf::atom("cancel")>;
using fork_atom = caf::atom_constant<caf::atom("fork")>;
using metrics_atom = caf::atom_constant<caf::atom("metrics")>;
using invoke_atom = caf::atom_constant<caf::atom("invoke")>;
using start_atom = caf::atom_constant<caf::atom("start")>;
using sample_atom = caf::atom_constant<caf::atom("sample")>;
using scored_atom = caf::atom_constant<caf::atom("scored")>;

// Starts a request. Tokens stream to subscribers[0]. Best-of-N, two ways:
// - fork_after_prefill = k: the loop forks the request k times (Engine::fork) right after
//   its first token; child i streams to subscribers[i + 1], its first batch repeating the
//   shared first token. All KV is shared copy-on-write, the first token too.
// - samples_after_prefill = n: a probe (max_tokens 1, its token dropped) prefills the
//   prompt; at its first token the loop adds n independent requests for the same prompt,
//   which map the probe's full blocks by prefix and compute only the partial last block;
//   request i streams to subscribers[i]. The samples are independent from the first token.
struct GenerateMsg {
  EngineRequest request;
  // A turn that ends at a stop token (EOS or params.stop_token_ids) pauses with this TTL
  // (KV pinned while tools run) instead of ending the request; one that reaches max_tokens
  // ends it. The loop passes it to the Engine (EngineRequest::pause_on_finish with
  // pause_only_at_stop). nullopt: a stop token ends the request as usual.
  std::optional<kv::Duration> pause_at_eos;
  int fork_after_prefill = 0;
  std::vector<caf::actor> subscribers;
  int samples_after_prefill = 0;
};

// Continues a request paused at EOS with `appended` tokens; for a request submitted with
// pause_at_eos, the next turn's stop token pauses with this pause_at_eos (nullopt: ends).
struct ResumeMsg {
  RequestId id = 0;
  std::vector<std::int32_t> appended;
  std::optional<int> max_tokens;
  std::optional<kv::Duration> pause_at_eos;
  // When set: the request's constraint from this turn on (null: none), e.g. an agent's
  // last turn constrained to JSON of its output schema (Engine::resume's set_constraint).
  std::optional<std::shared_ptr<const sampling::Constraint>> constraint{};
  // Spans of `appended` (e.g. tool results) for a request under KvReuse::blend
  // (ResumeOptions::segments).
  std::vector<PromptSegment> segments{};
};

// The engine actor's answer to GenerateMsg: the request id, or why it was refused.
struct GenerateReply {
  RequestId id = 0;
  std::optional<Error> error;  // overloaded, invalid_argument, out_of_memory
};

// What one engine step produced for one request (one message per request per step).
struct TokenBatch {
  RequestId id = 0;
  std::vector<std::int32_t> tokens;
  std::vector<float> logprobs;
  std::optional<FinishReason> finish;  // stop_token: paused at EOS (pause_at_eos) or ended
  bool paused_at_eos = false;          // the KV is pinned; resume or cancel it
  bool cancelled = false;
  // The request failed; it is gone. The code says why (overloaded, out_of_memory,
  // invalid_argument at admission; internal for an engine step failure).
  std::optional<Error> error;
  // Prompt tokens of this turn served from cached KV (EngineEvent::cached_tokens), on the
  // batch that carries the turn's first token; -1 otherwise.
  std::int64_t cached_tokens = -1;
  // Per token, its top alternatives (params.logprobs > 0); empty when none were asked for.
  std::vector<std::vector<sampling::TokenLogprob>> top{};
};

// A tool call for a tool actor: arguments already checked against the schema.
struct ToolArgs {
  chat::Json arguments;
};

// A tool actor's answer.
struct ToolReply {
  bool ok = false;
  std::string text;  // the result, or the error message
  kv::Duration duration{0};
};

}  // namespace agentrt::actors

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(agentrt::actors::GenerateMsg)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(agentrt::actors::ResumeMsg)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(agentrt::actors::GenerateReply)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(agentrt::actors::TokenBatch)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(agentrt::actors::ToolReply)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(agentrt::actors::ToolArgs)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(agentrt::Error)
