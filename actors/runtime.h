// Runtime: the C++ facade over the actor runtime, for callers that should not know CAF
// (the workflow runner, the CLI, the REST server). One Runtime loads one model directory
// (weights, tokenizer, chat family), owns a CAF actor system with one engine actor driving
// one Engine on its own thread, a tool registry, and the agent / best-of-N sampler actors
// it spawns per job.
//
// Threads: every public method may be called from any thread, concurrently. run_* block
// the calling thread until the job ends; start_* return at once. Callbacks (progress,
// done) run on runtime threads: they must be thread-safe, return quickly, and must not
// call run_* (cancel, metrics and start_* are fine).
// Errors are values: no exception leaves these calls.
#pragma once

#include <caf/actor.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "actors/completion_stream.h"
#include "actors/prompt_segments.h"
#include "actors/tool.h"
#include "actors/tool_call_record.h"
#include "actors/tool_registry.h"
#include "actors/ttl_policy.h"
#include "engine/backend.h"
#include "engine/backends/backend_factory.h"
#include "engine/chat/chat_template.h"
#include "engine/chat/conversation.h"
#include "engine/common/result.h"
#include "engine/engine.h"
#include "engine/grammar/json_schema_constraint.h"
#include "engine/grammar/token_vocabulary.h"
#include "engine/kv/kv_metrics.h"
#include "engine/kv/kv_tier.h"
#include "engine/kv_reuse.h"
#include "engine/model/model.h"
#include "engine/sampling/sampling_params.h"
#include "engine/tokenizer/tokenizer.h"

namespace agentrt::actors {

using JobId = std::int64_t;

// Makes the backend for a loaded model with `kv_blocks` blocks: tests inject one here
// (RuntimeOptions::backend); everyone else names a kind (RuntimeOptions::backend_kind).
using BackendFactory = std::function<Result<std::unique_ptr<Backend>>(
    const std::shared_ptr<const model::Model>& model, int kv_blocks)>;

// Opens the persistent KV tier for a model once its fingerprint is known (the CLI and the
// server pass one that opens storage::KvStore on their Db). Called once, by
// Runtime::create on its thread; an error fails the create. The Runtime keeps the tier
// alive until its engine has stopped. A tier used off the engine thread must say so
// (KvTier::thread_safe()), else its writes run on the engine thread.
using PersistentTierFactory =
    std::function<Result<std::shared_ptr<kv::KvTier>>(const std::string& fingerprint)>;

// Submits that may wait for a live slot before `overloaded` (RuntimeOptions::
// max_queued_requests); waiting best-of samples are not counted (n <= kMaxBestOfSamples each).
inline constexpr int kDefaultMaxQueuedRequests = 4096;

// What RuntimeOptions::engine_front is told about the engine it stands in front of.
struct EngineFrontContext {
  caf::actor engine;      // the engine actor (engine_actor.h)
  std::string model_dir;  // as RuntimeOptions::model_dir
  // What the engine's KV block keys chain from (kv::layout_fingerprint of the model and the
  // backend's block layout, as Runtime::kv_key_fingerprint()): a router keys prompts with it.
  std::string fingerprint;
  int block_size = 16;  // tokens per KV block
};

struct RuntimeOptions {
  std::string model_dir;  // required: config.json, model.safetensors, tokenizer
  // The backend, made by backends::make_backend (engine/backends/backend_factory.h):
  // "cpu", or "cuda" (bf16, on CUDA device `device`) in builds with CUDA.
  std::string backend_kind = "cpu";
  int device = 0;
  int kv_blocks = backends::kDefaultKvBlocks;  // KV blocks of 16 tokens
  int cpu_threads = 0;                         // CPU backend threads; 0 = all cores
  BackendFactory backend;  // tests: when set, makes the backend instead of backend_kind
  EngineOptions engine;    // prefix_reuse, pin_on_pause, step budget, ...
  // Host RAM for evicted KV blocks; replaces engine.host_tier_bytes. Unset: the default,
  // default_host_tier_bytes() (1/8 of physical RAM, at most 16 GiB, engine/kv_pool_limits.h);
  // 0: no host tier.
  std::optional<std::size_t> host_tier_bytes;
  // The persistent KV tier (e.g. storage::KvStore); null: none. Full blocks are written
  // behind when a turn pauses for a tool or finishes, when its pin expires, and at
  // flush_kv() (~Runtime too); a later Runtime over the same store prefills only what the
  // store lacks.
  PersistentTierFactory persistent;
  // Requests in the Engine at once (back-pressure). Beyond it, work waits: agents' and
  // map units' requests in a queue of max_queued_requests (past it: overloaded), best-of
  // samples and forks of a started job without a cap of their own (n <= kMaxBestOfSamples).
  int max_pending_requests = 64;
  int max_queued_requests = kDefaultMaxQueuedRequests;
  TtlPolicyOptions ttl;           // the pin TTL formula's parameters (ttl_policy.h)
  std::vector<ToolConfig> tools;  // built-in tools to register at start
  int actor_threads = 0;          // CAF scheduler workers; 0 = CAF's default
  // The engine's time source (pin TTLs, LRU); null: the steady clock. Must outlive the
  // Runtime; now() is called from the engine thread (tests drive TTLs with it).
  const kv::Clock* clock = nullptr;
  // Also told each engine step's prefilled tokens and seconds (the server's session pins
  // weigh the same recompute cost); called on the engine loop's thread, must be quick.
  std::function<void(std::int64_t tokens, double seconds)> on_prefill;
  // NaN/infinity check of the weights at load: a sample by default, or every element.
  model::WeightCheck weight_check = model::WeightCheck::sample;
  // Tests: shown each new request sent to the engine (agents' turns, best-of probes,
  // completions; not resumes) before it is submitted, on runtime threads; must be
  // thread-safe and quick. Unset: nothing stands between the agents and the engine.
  std::function<void(const EngineRequest&)> on_generate;
  // Stands in front of the engine actor for the runtime's agents and samplers when set and
  // it returns an actor: called once, at create, with the engine actor and the model's KV
  // key layout; the actor it returns gets every message the agents send the engine and must
  // answer as engine_actor.h's does (e.g. the cluster's turn router, cluster/turn_front.h,
  // which may live in another actor system of the process: it gets only local sends).
  // Null: the agents talk to the engine (through on_generate's tap when set).
  std::function<caf::actor(const EngineFrontContext&)> engine_front;
};

// One agent: its prompt, tools and limits.
struct AgentSpec {
  std::string name = "agent";      // names the agent in errors
  std::string system_prompt;       // empty: no system message
  std::vector<std::string> tools;  // names in the registry below; offered to the model
  // Where `tools` (and a best-of's scorer) are found; null: the runtime's registry. A
  // workflow run passes its own (mcp::JobTools over the runtime's: its builtins with their
  // settings, custom commands, its MCP servers' tools).
  std::shared_ptr<const ToolRegistry> tool_registry;
  sampling::SamplingParams sampling;            // max_tokens applies per turn
  int max_turns = 8;                            // model replies at most (tool rounds + final)
  std::int64_t token_budget = 0;                // generated tokens over all turns; 0 = unlimited
  std::optional<bool> enable_thinking = false;  // Qwen3 render option (tiny-calc: false)
  // The scheduler's program of every request the agent sends (EngineRequest::program): the
  // engine ranks turns of one program together (EngineOptions::order). Unset: the job's
  // own, shared by a best-of's samples and verifiers. A workflow run gives all its agents
  // one (Runtime::new_program).
  std::optional<std::int64_t> program;
  // Structured output: the final answer must be JSON of this constraint's schema. Without
  // tools every turn is generated under it. With tools the turns run free; a final answer
  // that does not parse and match the schema gets one more turn (a user message asking
  // for the answer as JSON of the schema) generated under it; it counts as a reply and may
  // go one past max_turns. Null: free text.
  std::shared_ptr<const grammar::JsonSchemaConstraint> output_constraint;
  std::string output_schema;  // its schema as JSON text, shown in the extra turn's message
  // Cross-agent KV reuse (issue 21). Under blend the first turn's request carries the
  // marked text below as EngineRequest::segments (token spans of the rendered prompt of
  // at least min_segment_tokens tokens), whose KV the engine may take from other
  // contexts, recomputing blend_recompute of it (nullopt: the engine's default). Under
  // exact the marks are ignored.
  KvReuse kv_reuse = KvReuse::exact;
  std::optional<float> blend_recompute;
  std::optional<bool> blend_anchors;      // nullopt: the engine's default (--blend-anchors)
  std::vector<TextSpan> system_segments;  // bytes of system_prompt
  std::vector<TextSpan> input_segments;   // bytes of the input (run_agent's, start_best_of's)
  int min_segment_tokens = kMinSegmentTokens;
};

// The sampling params of an agent's first turn: `sampling`, constrained to
// output_constraint when the agent has no tools.
inline sampling::SamplingParams first_turn_params(const AgentSpec& agent) {
  sampling::SamplingParams p = agent.sampling;
  if (agent.output_constraint && agent.tools.empty()) p.constraint = agent.output_constraint;
  return p;
}

// The registry `agent`'s tools are found in: its own when set, else the runtime's.
inline const ToolRegistry& registry_of(const AgentSpec& agent, const ToolRegistry& runtime) {
  return agent.tool_registry ? *agent.tool_registry : runtime;
}

enum class StopReason {
  final_answer,  // a reply without tool calls
  max_turns,     // the last allowed reply still called tools (they did not run)
  token_budget,  // the agent's (or best-of-N's shared) budget ran out, or a reply hit max_tokens
  cancelled,     // best-of-N: a sample stopped once first_k had finished (run_agent and
                 // run_best_of report a cancel() as a cancelled error instead)
};
const char* to_string(StopReason reason);

struct AgentResult {
  StopReason stop = StopReason::final_answer;
  std::string output;               // content of the last reply (no tool-call markup)
  chat::Conversation conversation;  // system, user, assistant and tool messages
  int turns = 0;                    // model replies
  int tool_calls = 0;
  int tool_errors = 0;  // calls that reached the model as "error: ..."
  std::int64_t generated_tokens = 0;
  // Prompt tokens over all turns whose KV was not computed for that turn: prefix hits
  // (device, host or store) and a paused turn's pinned KV.
  std::int64_t cached_tokens = 0;
  double mean_logprob = 0.0;  // over all generated tokens
  double seconds = 0.0;
  std::vector<ToolCallRecord> tool_records;  // every tool call, in the order they were made
};

struct SampleResult;

enum class ProgressKind {
  state,        // text: "generating", "tools", "resumed", "finished", ...
  text,         // text: a streamed piece of the reply (never tool-call markup)
  tool_call,    // call: a parsed call about to run
  tool_result,  // call + text: its result (error text starts with "error: ")
  sample_done,  // best-of: sample_result of a sample that ended on its own (not by a cancel
                // of the job), so a cancelled job's finished samples are not lost
};

struct Progress {
  JobId job = 0;
  int sample = -1;  // best-of-N: the sample's index; -1 otherwise
  int turn = 0;
  ProgressKind kind = ProgressKind::state;
  std::string text;
  std::optional<chat::ToolCall> call;
  std::int64_t generated_tokens = 0;                  // of this agent so far
  std::shared_ptr<const SampleResult> sample_result;  // sample_done only
  std::int64_t cached_tokens = 0;                     // AgentResult::cached_tokens so far
  // tool_result: how long the call took (0 when it was refused before running).
  double duration_ms = 0.0;
};
using ProgressFn = std::function<void(const Progress&)>;

enum class Aggregation {
  majority_vote,     // most frequent answer_regex match; ties: earlier sample
  max_mean_logprob,  // highest mean token logprob
  verifier_agent,    // `verifier` reads question + candidate; accept regex scores 1
  scorer_tool,       // registry tool `scorer_tool` gets {"question", "answer"}; returns a number
};
// "majority", "logprob", "verifier" or "scorer"; anything else is invalid_argument.
Result<Aggregation> parse_aggregation(const std::string& name);

// The most samples one best-of may ask for (BestOfSpec::n; workflows' best_of.n too).
inline constexpr int kMaxBestOfSamples = 1024;

struct BestOfSpec {
  int n = 4;  // 1..kMaxBestOfSamples
  Aggregation aggregation = Aggregation::majority_vote;
  std::string answer_regex = R"(Answer:\s*(-?\d+))";  // group 1 if any, else the match
  int first_k = 0;                          // stop when k samples have finished; 0 = all n
  std::int64_t token_budget = 0;            // generated tokens over all samples; 0 = unlimited
  std::optional<AgentSpec> verifier;        // verifier_agent
  std::string verifier_accept = "CORRECT";  // regex on the verifier's output
  std::string scorer_tool;                  // scorer_tool
  // How the prompt's KV is shared. false (default): a probe prefills the prompt once and
  // the n samples are independent requests that map its full blocks by prefix (each
  // computes only the partial last block). true: Engine::fork after the first sampled
  // token: all KV is shared copy-on-write, but every sample starts with that same token.
  // An n above max_pending_requests cannot be forked at once: it runs as with false.
  bool share_first_token = false;
};

struct SampleResult {
  bool finished = false;  // reached a final answer (not cut by first_k / budget)
  AgentResult result;
  std::optional<std::string> answer;  // answer_regex extraction
  double score = 0.0;                 // aggregation score (votes, logprob, verifier, scorer)
  std::string error;                  // this sample failed (the others carry on)
};

struct BestOfResult {
  std::vector<SampleResult> samples;  // n entries, by sample index
  int chosen = -1;                    // index into samples; -1: none finished
  std::string output;                 // the chosen sample's output
  std::optional<std::string> answer;  // the chosen answer
  int votes = 0;                      // majority_vote: samples that gave `answer`
  std::int64_t prompt_tokens = 0;     // the shared prompt, prefilled once (full blocks)
  std::int64_t generated_tokens = 0;  // over all samples
  double seconds = 0.0;
};

struct RuntimeMetrics {
  kv::KvMetrics kv;                // snapshot after the engine's latest step
  EngineStats engine;              // steps, prefilled / decoded tokens, preemptions
  kv::SegmentCacheStats segments;  // the segment cache (kv_reuse blend), same snapshot
  kv::AnchorStats anchors;         // the blend anchor pool (--blend-anchors), same snapshot
  int kv_blocks = 0;
  int kv_available_blocks = 0;         // estimate: blocks not held by live turns or pins
  int active_requests = 0;             // admitted by the engine actor, not yet ended
  int paused_requests = 0;             // of those, paused (KV pinned for a tool call)
  int queued_requests = 0;             // waiting for a live slot (submits and samples)
  std::int64_t rejected_requests = 0;  // overloaded
  double step_seconds = 0.0;           // total time inside Engine::step
  double loop_seconds = 0.0;           // total time of the step loop (step + routing)
};

class Runtime {
 public:
  // Loads the model, tokenizer and chat family, builds the backend (options.backend or
  // CPU) and the Engine, starts the actor system and the engine actor, and registers
  // options.tools. Errors: the model dir's load errors, a bad tool config, engine errors.
  static Result<std::unique_ptr<Runtime>> create(RuntimeOptions options);
  // Cancels running jobs, writes their KV to the persistent tier (flush_kv), stops the
  // engine loop and the actor system (waits for them).
  ~Runtime();
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  // Registers a tool (built-in or embedder-supplied). Errors: a duplicate name, a schema
  // that is not an object schema. Jobs started afterwards can use it.
  Status add_tool(const ToolConfig& config);
  Status add_tool(std::shared_ptr<Tool> tool);

  // Runs an agent's turn loop on `input` (the user message) until a final answer,
  // max_turns, the token budget or cancellation. While max_pending_requests are live the
  // agent waits for a slot. Errors: an unknown tool or bad params (invalid_argument), a full
  // wait queue (overloaded: max_queued_requests), cancellation (cancelled), a
  // prompt that does not fit (invalid_argument / out_of_memory), an engine failure.
  // Tool failures are not errors: the model sees them as tool messages.
  Result<AgentResult> run_agent(const AgentSpec& agent, const std::string& input,
                                ProgressFn progress = {});
  // The same, asynchronous: returns the job id at once; `done` is called exactly once.
  Result<JobId> start_agent(const AgentSpec& agent, const std::string& input, ProgressFn progress,
                            std::function<void(Result<AgentResult>)> done);

  // Best-of-N: prefills the prompt once, starts n samples on it (BestOfSpec::
  // share_first_token says how; each sample is a full agent turn loop with tool calls),
  // then aggregates. Errors as run_agent, plus a bad spec
  // (n < 1, a bad regex, a missing verifier or scorer tool). Individual sample failures
  // are recorded in SampleResult::error.
  Result<BestOfResult> run_best_of(const AgentSpec& agent, const std::string& input,
                                   const BestOfSpec& spec, ProgressFn progress = {});
  Result<JobId> start_best_of(const AgentSpec& agent, const std::string& input,
                              const BestOfSpec& spec, ProgressFn progress,
                              std::function<void(Result<BestOfResult>)> done);

  // A raw completion (the OpenAI API): req.n choices of one prompt, prefilled once, each
  // streamed as events to the returned stream (actors/completion_stream.h). While
  // max_pending_requests are live it waits for a slot. Errors: n out of [1,
  // kMaxBestOfSamples], a full wait queue (overloaded), the Engine's add_request errors
  // when admitted at once (later admission errors arrive as an event).
  Result<std::shared_ptr<CompletionStream>> start_completion(CompletionRequest req);
  // Ends one engine request (e.g. a completion choice paused at EOS, whose KV is pinned).
  // Unknown ids are ignored.
  void cancel_request(RequestId id);
  // Prompt plus output tokens a sequence may hold.
  int max_context() const;
  // The KV pool's shape (blocks, tokens per block, bytes per block).
  KvGeometry kv_geometry() const;
  // The fingerprint the engine's KV block keys chain from (kv::layout_fingerprint of the
  // model and the backend's block layout): a cluster router keys prompts with it.
  std::string kv_key_fingerprint() const;

  // Cancels a job: its engine requests end and their KV is released; the job ends with
  // a cancelled error. Unknown or finished ids are ignored.
  void cancel(JobId job);

  // Scheduler programs (AgentSpec::program, EngineRequest::program). The Runtime's are
  // negative, so they never equal an engine request id (a request's default program).
  // A program no job, request or other new_program() has: for the agents of one run.
  std::int64_t new_program();
  // The same program for the same key (e.g. an OpenAI API session or conversation), in a
  // range apart from jobs' and new_program()'s.
  static std::int64_t program_of_key(std::string_view key);

  // Workflow-aware KV (KVFlow): the tokens every turn of `agent` starts with (its first
  // prompt rendered with an empty input: system prompt and tool definitions), for hints.
  // Errors: those of rendering the first prompt (an unknown tool, the template's).
  Result<std::vector<std::int32_t>> agent_prefix_tokens(const AgentSpec& agent) const;
  // Structured output: every token's bytes, with the model's end-of-turn ids as the end
  // tokens (grammar::JsonSchemaConstraint), built on first use (a fraction of a second for
  // a 150k vocabulary) and shared. Errors: the tokenizer has no end token.
  Result<std::shared_ptr<const grammar::TokenVocabulary>> token_vocabulary() const;
  // The runtime's tool registry (add_tool's); a job's own registry may sit over it.
  std::shared_ptr<const ToolRegistry> tools() const;
  // The KV of `tokens`' full blocks is next used in `steps` workflow steps (steps < 0 drops
  // `owner`'s hint); with `prefetch`, blocks only the host tier holds come back to the
  // device (EngineLoop::hint_reuse). Asynchronous: applied between engine steps.
  void hint_reuse(kv::HintOwner owner, std::vector<std::int32_t> tokens, std::int32_t steps,
                  bool prefetch);
  // Hands `sink` what the engine's KV holds (Engine::kv_snapshot, at most `max` blocks), on
  // the engine thread between steps, in order with its KV events (EngineLoop::kv_snapshot).
  // Asynchronous; dropped when the engine stops first.
  void kv_snapshot(std::size_t max, std::function<void(std::vector<kv::KvHeldBlock>)> sink);

  // Writes every cached full KV block that the persistent tier lacks and waits until the
  // writer has stored them (on the engine thread, between steps). ~Runtime calls it after
  // cancelling the jobs, before the engine stops. Errors: io when writes failed (they are
  // counted in metrics().kv.persist_errors); cancelled when the engine has stopped. Ok
  // without a persistent tier.
  Status flush_kv();

  RuntimeMetrics metrics() const;
  // The engine actor itself (engine_actor.h's messages), not engine_front's actor: what a
  // cluster node serves remote turns with (cluster/node_engine.h).
  caf::actor engine_handle() const;
  // The hand-written family of the model's chat template; chatml_qwen when the template
  // renders through Jinja only (see chat_template()).
  chat::Family chat_family() const;
  // The model's chat template (tokenizer_config.json): agents and the OpenAI API render
  // through it; its tool_call_format() says how replies are parsed.
  const chat::ChatTemplate& chat_template() const;
  const tokenizer::Tokenizer& tokenizer() const;
  // Measured duration quantile of a tool (the TTL policy's input); cold-start default
  // when it has too few samples.
  kv::Duration predicted_tool_duration(const std::string& tool) const;

  struct Impl;

 private:
  explicit Runtime(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace agentrt::actors
