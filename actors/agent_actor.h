// The agent actor: one agent's conversation and its turn loop.
//   1. render the prompt in the model's chat format and ask the engine actor to generate
//      (or, in a best-of-N sample, adopt a request the sampler forked);
//   2. decode streamed tokens and parse tool calls incrementally (chat::ToolCallStream);
//      each call starts on a tool actor as soon as it closes, so calls run concurrently
//      with each other and with the rest of the reply;
//   3. the engine loop pauses the sequence at the reply's end-of-turn token with the TTL
//      that TtlPolicy chose when the turn started over all the agent's tools (KV pinned
//      while the tools run); once the reply's calls are known, the agent re-pins with the
//      TTL for the calls still running (the slowest predicted one counts). With a host
//      tier it re-pins once more TtlPolicy::prefetch_lead() before the slowest call's
//      predicted end, which copies lapsed blocks back to the device (a prefetch);
//   4. when every call has answered (result, error or timeout), resume the sequence with
//      the tool responses appended, so only they are prefilled;
// until a final answer (a reply without calls), max_turns, the token budget or cancel.
// Tool failures (throw, timeout, arguments outside the schema, malformed call JSON) go to
// the model as "error: ..." tool messages. `done` is called exactly once, also when the
// actor fails (exception handler / down); the engine and other agents carry on.
#pragma once

#include <caf/all.hpp>

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "actors/messages.h"
#include "actors/runtime.h"
#include "actors/tool_registry.h"
#include "actors/ttl_policy.h"
#include "engine/chat/chat_template.h"
#include "engine/tokenizer/tokenizer.h"

namespace agentrt::actors {

// What every agent of one runtime shares (immutable after start, or thread-safe).
struct AgentContext {
  caf::actor engine;
  std::shared_ptr<ToolRegistry> tools;
  std::shared_ptr<TtlPolicy> ttl;
  tokenizer::Tokenizer tokenizer;
  chat::Family family = chat::Family::chatml_qwen;
  int total_blocks = 1;
  int block_size = 16;
  std::function<RuntimeMetrics()> metrics;  // the engine loop's latest snapshot
  bool host_tier = false;  // evicted KV goes to host RAM: prefetch before a tool's end
  // The model's chat template (family renderer or Jinja): prompts and the tool-call format.
  chat::ChatTemplate chat_template = chat::ChatTemplate::of_family(chat::Family::chatml_qwen);
};

using AgentDone = std::function<void(Result<AgentResult>)>;

struct AgentInit {
  std::shared_ptr<const AgentContext> ctx;
  AgentSpec spec;
  std::string input;
  JobId job = 0;
  int sample = -1;
  ProgressFn progress;
  AgentDone done;
  // Best-of-N: the first turn's tokens arrive from a request the sampler started; the
  // agent learns its id from the first TokenBatch.
  bool adopt = false;
  // Best-of-N: generated tokens left for all samples together (null: no shared budget).
  std::shared_ptr<std::atomic<std::int64_t>> shared_budget;
  // EngineRequest::program of the agent's requests (the scheduler's program); unset: the
  // engine's default.
  std::optional<std::int64_t> program{};
};

// Handlers: TokenBatch (from the engine loop); (cancel_atom) ends the job with a cancelled
// error after cancelling its engine request.
caf::behavior agent_actor(caf::event_based_actor* self, AgentInit init);

}  // namespace agentrt::actors
