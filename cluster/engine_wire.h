// The wire form of the engine actor's messages (actors/messages.h: GenerateMsg, ResumeMsg,
// GenerateReply, TokenBatch), so that a coordinator can route agent turns and best-of samples
// to a worker node's engine actor one by one. The local messages hold what cannot cross a
// wire (a compiled constraint, std::optional, floats); their wire forms hold:
//   - floats as their IEEE bit patterns (std::uint32_t): CAF 0.17's float serializer loops
//     forever on an infinity, so no float or double is ever inspected;
//   - optionals as has_X + X; durations as int64 nanoseconds;
//   - a structured-output constraint as the compact JSON text of its schema, which the
//     receiving node compiles over its own vocabulary (SchemaConstraints);
//   - subscribers as caf::actor handles, which CAF's middleman serializes as proxies.
// to_wire fails on what cannot be sent; from_wire checks everything a peer could get wrong
// and names the field ("generate: /request/params/top_p: must be in (0, 1], got inf").
// Strings and lists are capped (wire_caps.h) while CAF deserializes.
#pragma once

#include <caf/all.hpp>

#include <bit>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "actors/messages.h"
#include "cluster/schema_constraints.h"
#include "cluster/wire_caps.h"
#include "engine/common/result.h"
#include "engine/sampling/sampling_params.h"

namespace agentrt::cluster {

// Caps of the engine messages, besides wire_caps.h's kMaxWireListItems (prompt, appended,
// tokens of a batch, segments).
inline constexpr std::size_t kMaxWireSchemaBytes = 1u << 20;  // a constraint's schema text
inline constexpr std::size_t kMaxWireSubscribers = 1024;      // actors::kMaxBestOfSamples
inline constexpr std::size_t kMaxWireTopLogprobs = 20;        // SamplingParams::logprobs <= 20

// A float as its IEEE-754 bits, and back.
constexpr std::uint32_t float_bits(float x) {
  return std::bit_cast<std::uint32_t>(x);
}
constexpr float bits_float(std::uint32_t bits) {
  return std::bit_cast<float>(bits);
}

// sampling::SamplingParams; constraint_schema is "" for none.
struct WireSampling {
  std::uint32_t temperature = float_bits(1.0f);
  std::int32_t top_k = 0;
  std::uint32_t top_p = float_bits(1.0f);
  std::uint32_t min_p = float_bits(0.0f);
  std::uint32_t repetition_penalty = float_bits(1.0f);
  std::uint32_t presence_penalty = float_bits(0.0f);
  std::uint32_t frequency_penalty = float_bits(0.0f);
  bool has_seed = false;
  std::uint64_t seed = 0;
  std::int32_t max_tokens = 16;
  std::vector<std::int32_t> stop_token_ids;
  std::vector<std::string> stop_strings;
  bool ignore_eos = false;
  std::int32_t logprobs = -1;
  std::string constraint_schema;
};

// PromptSegment: token indices [begin, end).
struct WireSegment {
  std::int32_t begin = 0;
  std::int32_t end = 0;
};

// EngineRequest. kv_reuse: 0 exact, 1 blend.
struct WireRequest {
  std::vector<std::int32_t> prompt;
  WireSampling params;
  bool has_program = false;
  std::int64_t program = 0;
  bool has_pause_on_finish = false;
  std::int64_t pause_on_finish_ns = 0;
  bool pause_only_at_stop = false;
  std::vector<WireSegment> segments;
  std::int32_t kv_reuse = 0;
  bool has_blend_recompute = false;
  std::uint32_t blend_recompute = float_bits(0.0f);
};

// actors::GenerateMsg: one subscriber per sample (fork_after_prefill + 1, or
// samples_after_prefill), who receive WireTokenBatch messages from the node.
struct WireGenerate {
  WireRequest request;
  bool has_pause_at_eos = false;
  std::int64_t pause_at_eos_ns = 0;
  std::int32_t fork_after_prefill = 0;
  std::vector<caf::actor> subscribers;
  std::int32_t samples_after_prefill = 0;
};

// actors::ResumeMsg. constraint_mode: what the next turns' constraint becomes.
inline constexpr std::int32_t kWireConstraintKeep = 0;    // unchanged (constraint nullopt)
inline constexpr std::int32_t kWireConstraintNone = 1;    // removed (a null constraint)
inline constexpr std::int32_t kWireConstraintSchema = 2;  // JSON of constraint_schema
struct WireResume {
  std::int64_t id = 0;
  std::vector<std::int32_t> appended;
  bool has_max_tokens = false;
  std::int32_t max_tokens = 0;
  bool has_pause_at_eos = false;
  std::int64_t pause_at_eos_ns = 0;
  std::int32_t constraint_mode = kWireConstraintKeep;
  std::string constraint_schema;  // with kWireConstraintSchema only
  std::vector<WireSegment> segments;
};

// actors::GenerateReply. error_code: -1 none, else an agentrt::ErrorCode.
struct WireReply {
  std::int64_t id = 0;
  std::int32_t error_code = -1;
  std::string error_message;
};

// One of a token's top alternatives (sampling::TokenLogprob), and a token's list of them.
struct WireTokenLogprob {
  std::int32_t token = 0;
  std::uint32_t logprob = float_bits(0.0f);
};
struct WireTopLogprobs {
  std::vector<WireTokenLogprob> alternatives;
};

// actors::TokenBatch. finish: -1 none, else a FinishReason; error_code as WireReply's.
struct WireTokenBatch {
  std::int64_t id = 0;
  std::vector<std::int32_t> tokens;
  std::vector<std::uint32_t> logprobs;
  std::int32_t finish = -1;
  bool paused_at_eos = false;
  bool cancelled = false;
  std::int32_t error_code = -1;
  std::string error_message;
  std::int64_t cached_tokens = -1;
  std::vector<WireTopLogprobs> top;
};

// --- conversions ---
// to_wire: errors (unsupported) for a constraint that is not a grammar::JsonSchemaConstraint
// with its schema text; (invalid_argument) for a list over its wire cap. Any thread.
Result<WireGenerate> to_wire(const actors::GenerateMsg& m);
Result<WireResume> to_wire(const actors::ResumeMsg& m);
WireReply to_wire(const actors::GenerateReply& m);
WireTokenBatch to_wire(const actors::TokenBatch& m);

// from_wire: the local message, or invalid_argument naming the message and the field of
// the first thing a peer got wrong; a schema that does not compile is the compiler's error
// with the field's context. Constraints come from (and are cached in) `schemas`.
Result<actors::GenerateMsg> from_wire(WireGenerate m, const SchemaConstraints& schemas);
Result<actors::ResumeMsg> from_wire(WireResume m, const SchemaConstraints& schemas);
Result<actors::GenerateReply> from_wire(WireReply m);
Result<actors::TokenBatch> from_wire(WireTokenBatch m);

// Registers the types above (both ends must); configure_wire calls it.
void configure_engine_wire(caf::actor_system_config& cfg);

// --- inspect ---
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, WireSampling& x) {
  return f(caf::meta::type_name("agentrt_WireSampling"), x.temperature, x.top_k, x.top_p, x.min_p,
           x.repetition_penalty, x.presence_penalty, x.frequency_penalty, x.has_seed, x.seed,
           x.max_tokens, capped_list<sampling::kMaxStopTokenIds>(x.stop_token_ids),
           capped_strings<sampling::kMaxStopStrings, sampling::kMaxStopStringBytes>(x.stop_strings),
           x.ignore_eos, x.logprobs, capped<kMaxWireSchemaBytes>(x.constraint_schema));
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, WireSegment& x) {
  return f(caf::meta::type_name("agentrt_WireSegment"), x.begin, x.end);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, WireRequest& x) {
  return f(caf::meta::type_name("agentrt_WireRequest"), capped_list<kMaxWireListItems>(x.prompt),
           x.params, x.has_program, x.program, x.has_pause_on_finish, x.pause_on_finish_ns,
           x.pause_only_at_stop, capped_list<kMaxWireListItems>(x.segments), x.kv_reuse,
           x.has_blend_recompute, x.blend_recompute);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, WireGenerate& x) {
  return f(caf::meta::type_name("agentrt_WireGenerate"), x.request, x.has_pause_at_eos,
           x.pause_at_eos_ns, x.fork_after_prefill, capped_list<kMaxWireSubscribers>(x.subscribers),
           x.samples_after_prefill);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, WireResume& x) {
  return f(
      caf::meta::type_name("agentrt_WireResume"), x.id, capped_list<kMaxWireListItems>(x.appended),
      x.has_max_tokens, x.max_tokens, x.has_pause_at_eos, x.pause_at_eos_ns, x.constraint_mode,
      capped<kMaxWireSchemaBytes>(x.constraint_schema), capped_list<kMaxWireListItems>(x.segments));
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, WireReply& x) {
  return f(caf::meta::type_name("agentrt_WireReply"), x.id, x.error_code,
           capped<kMaxWireTextBytes>(x.error_message));
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, WireTokenLogprob& x) {
  return f(caf::meta::type_name("agentrt_WireTokenLogprob"), x.token, x.logprob);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, WireTopLogprobs& x) {
  return f(caf::meta::type_name("agentrt_WireTopLogprobs"),
           capped_list<kMaxWireTopLogprobs>(x.alternatives));
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, WireTokenBatch& x) {
  return f(caf::meta::type_name("agentrt_WireTokenBatch"), x.id,
           capped_list<kMaxWireListItems>(x.tokens), capped_list<kMaxWireListItems>(x.logprobs),
           x.finish, x.paused_at_eos, x.cancelled, x.error_code,
           capped<kMaxWireTextBytes>(x.error_message), x.cached_tokens,
           capped_list<kMaxWireListItems>(x.top));
}

}  // namespace agentrt::cluster
