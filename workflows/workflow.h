// Workflow: the plain description of a YAML workflow after loading. Every name that refers
// to something else keeps its place in the file, so the validator can point at it.
// docs/workflows.md documents each field.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "workflows/condition.h"
#include "workflows/diagnostic.h"
#include "workflows/template.h"
#include "workflows/value.h"

namespace agentrt::workflows {

// A name that refers to a model, tool, agent or step, and where it was written.
struct Ref {
  std::string name;
  SourceLoc loc;
};

// A templated string and where it was written. `loc_of(offset)` places a byte of the text.
struct TemplateText {
  Template tpl;
  SourceLoc loc;
  // Column offset of the text's first byte from `loc`, when the text appears verbatim on
  // one line of the file (plain or quoted scalars without escapes); -1 otherwise.
  int verbatim_shift = -1;
  SourceLoc loc_of(std::size_t offset) const;
};

struct ModelSpec {
  std::string name;
  std::string path;  // empty: the CLI's --model, else the embedded default model
  std::string backend = "cpu";
  int device = 0;
  int kv_blocks = 0;  // KV cache size in blocks of 16 tokens; 0 = sized by the runtime
  int threads = 0;    // CPU threads; 0 = all cores
  SourceLoc loc;
};

// How a tool runs: a builtin of the runtime, a custom command (JSON arguments on stdin, the
// result on stdout), or the tools of an MCP server (one declaration, many tools).
enum class ToolKind { builtin, command, mcp };

struct ToolSpec {
  std::string name;  // the function name the model sees (for mcp: the prefix of its tools)
  ToolKind kind = ToolKind::builtin;
  std::string builtin;  // calculator, http or command
  std::string description;
  // builtin command: the argv; custom command and mcp: the program and its arguments. Run
  // without a shell, in the workflow file's directory.
  std::vector<std::string> command;
  std::string schema;  // custom command: the arguments' JSON schema, as JSON text
  // mcp: the server's tools to offer, by their MCP names (empty: all of them); checked
  // against tools/list when the server starts.
  std::vector<std::string> mcp_tools;
  // http: hosts the tool may reach (empty: the builtin's default, loopback only).
  std::vector<std::string> allow_hosts;
  bool append_args = false;  // builtin command: the model may append arguments
  // Limits; 0 means the kind's default. timeout is per attempt.
  int timeout_ms = 0;
  int max_output_bytes = 0;  // command output, HTTP body, MCP call result
  int retries = 0;           // further attempts after a failed one (timeouts, I/O errors)
  int backoff_ms = 0;        // before the first retry, doubling after each (0: 200 ms)
  int concurrency = 0;       // calls running at once; 0 = no limit
  SourceLoc loc;
  SourceLoc builtin_loc;
};

struct SamplingSpec {
  double temperature = 0.0;
  double top_p = 1.0;
  int top_k = 0;
  double min_p = 0.0;
  int max_tokens = 256;
  std::optional<std::uint64_t> seed;
};

// Cross-agent KV reuse beyond exact prefixes (issue 21): `kv_reuse: exact | blend` and
// `blend_recompute: F` on the workflow, an agent or a step. Under blend the runtime marks
// text that recurs in other agents' prompts (step outputs, map items, tool results, input
// documents) and the engine may place its KV computed elsewhere, recomputing a fraction F
// of its tokens, and with `blend_anchors: true` correcting the rest by offsets learned from
// earlier placements (KVCOMM). Unset fields inherit (step over agent over workflow);
// default exact.
enum class KvReuseMode { exact, blend };
const char* to_string(KvReuseMode m);

struct KvReuseSpec {
  std::optional<KvReuseMode> mode;
  std::optional<double> blend_recompute;  // in [0, 1]; unset: the engine's default
  std::optional<bool> blend_anchors;      // unset: the engine's default (--blend-anchors)
  SourceLoc loc;                          // of the kv_reuse value (unknown when unset)
};

struct AgentSpec {
  std::string name;
  Ref model;  // empty name: the workflow's only model, or the one named "default"
  TemplateText system;
  std::vector<Ref> tools;
  SamplingSpec sampling;
  int max_turns = 8;
  KvReuseSpec kv_reuse;
  SourceLoc loc;
};

enum class Aggregate { majority, logprob, verifier, scorer };
const char* to_string(Aggregate a);

struct BestOfSpec {
  int n = 1;
  Aggregate aggregate = Aggregate::majority;
  std::string answer = R"(Answer:\s*(.*\S))";  // regex; its first group is the answer
  SourceLoc answer_loc;
  int early_stop = 0;  // majority only: stop once this many samples finished; 0 = all
  Ref verifier;        // agent, for aggregate: verifier
  Ref scorer;          // tool, for aggregate: scorer
  std::optional<double> temperature;  // overrides the agent's for the samples
  // `n` and `temperature` may instead be templates over inputs ("{{ inputs.n }}"), read
  // when the workflow runs.
  std::optional<TemplateText> n_template;
  std::optional<TemplateText> temperature_template;
  SourceLoc loc;
};

struct MapSpec {
  TemplateText over;        // evaluates to a list (or text, one item per line)
  std::string as = "item";  // the name of the current item in the step's templates
  int concurrency = 0;      // items in flight at once; 0 = all
  SourceLoc loc;
};

struct LoopSpec {
  int max_iterations = 3;
  std::string until;  // regex on each iteration's output; a match ends the loop
  SourceLoc until_loc;
  SourceLoc loc;
};

struct ExtractSpec {
  std::string name;
  std::string regex;
  SourceLoc loc;
};

// output_schema: the step's answer is JSON of this schema (engine/grammar's subset); its
// top-level properties become the step's fields.
struct OutputSchemaSpec {
  std::string json;                 // the schema as compact JSON text
  std::vector<std::string> fields;  // its top-level `properties`, in order
  SourceLoc loc;                    // of the schema's value in the file
};

enum class StepKind { agent, best_of, map, loop };

struct Step {
  std::string id;
  SourceLoc loc;  // of the step's mapping
  SourceLoc id_loc;
  Ref agent;
  TemplateText input;
  std::vector<Ref> after;
  std::vector<ExtractSpec> extract;
  std::optional<OutputSchemaSpec> output_schema;
  std::optional<BestOfSpec> best_of;
  std::optional<MapSpec> map;
  std::optional<LoopSpec> loop;
  // Control flow (docs/workflows.md): run only when `when` holds; each attempt of a unit
  // (the agent run or best-of of the step, a map item, a loop iteration) may take
  // timeout_ms (0: no limit); a failed unit runs again up to `retries` times, waiting
  // backoff_ms before the first retry and twice as long before each next one.
  std::optional<ConditionText> when;
  int timeout_ms = 0;
  int retries = 0;
  int backoff_ms = 1000;
  static constexpr int kMaxTimeoutMs = 24 * 3600 * 1000;  // 24 h
  static constexpr int kMaxRetries = 10;
  static constexpr int kMaxBackoffMs = 3600 * 1000;  // 1 h, also each doubled wait's cap
  KvReuseSpec kv_reuse;

  // map and loop wrap the unit of work, which is one agent run or one best-of.
  StepKind kind() const {
    return map       ? StepKind::map
           : loop    ? StepKind::loop
           : best_of ? StepKind::best_of
                     : StepKind::agent;
  }
};

enum class InputType { string, integer, number, boolean, list };
const char* to_string(InputType t);

struct InputSpec {
  std::string name;
  InputType type = InputType::string;
  std::optional<Value> default_value;
  std::string description;
  SourceLoc loc;
};

struct OutputSpec {
  std::string name;
  TemplateText value;
};

struct Workflow {
  std::string file;  // as given to the loader, for messages and relative model paths
  std::string name;
  std::string description;
  std::vector<ModelSpec> models;
  std::vector<ToolSpec> tools;
  std::vector<AgentSpec> agents;
  std::vector<InputSpec> inputs;
  std::vector<Step> steps;
  std::vector<OutputSpec> outputs;
  KvReuseSpec kv_reuse;

  const ModelSpec* find_model(const std::string& name) const;
  const ToolSpec* find_tool(const std::string& name) const;
  const AgentSpec* find_agent(const std::string& name) const;
  const InputSpec* find_input(const std::string& name) const;
  int step_index(const std::string& id) const;  // -1 when absent
  // The model an agent runs on: its named model, else "default", else the only model.
  const ModelSpec* model_of(const AgentSpec& agent) const;
  // The KV reuse of `step` run by `agent`: each field from the step, else the agent, else
  // the workflow; mode exact when none sets it.
  KvReuseSpec kv_reuse_of(const AgentSpec& agent, const Step& step) const;
  // A job's override (REST `kv_reuse`): replaces the setting at every level.
  void override_kv_reuse(const KvReuseSpec& spec);
};

// The builtin tools the runtime provides.
const std::vector<std::string>& builtin_tool_names();
const char* to_string(ToolKind k);

}  // namespace agentrt::workflows
