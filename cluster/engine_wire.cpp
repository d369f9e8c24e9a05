// The engine messages to their wire form (engine_wire.h), and their registration. The way
// back, with the checks of what a peer sent, is engine_wire_checks.cpp.
#include "cluster/engine_wire.h"

#include <chrono>

#include "engine/grammar/json_schema_constraint.h"

namespace agentrt::cluster {
namespace {

Error over_wire_cap(const std::string& field, std::size_t n, std::size_t cap) {
  return make_error(
      ErrorCode::invalid_argument,
      field + ": " + std::to_string(n) + " items, over the wire cap of " + std::to_string(cap));
}

// The schema text of a constraint, "" for none. Errors: unsupported for a constraint the
// receiving node could not rebuild.
Result<std::string> wire_schema_of(const std::shared_ptr<const sampling::Constraint>& c,
                                   const std::string& field) {
  if (!c) return std::string();
  const auto* schema = dynamic_cast<const grammar::JsonSchemaConstraint*>(c.get());
  if (!schema)
    return make_error(ErrorCode::unsupported,
                      field +
                          ": only a JSON-schema constraint (grammar::JsonSchemaConstraint) "
                          "can be sent to another node");
  if (schema->schema_text().empty())
    return make_error(ErrorCode::unsupported,
                      field +
                          ": the JSON-schema constraint does not know its schema's text, so it "
                          "cannot be sent to another node");
  if (schema->schema_text().size() > kMaxWireSchemaBytes)
    return make_error(ErrorCode::invalid_argument,
                      field + ": a schema of " + std::to_string(schema->schema_text().size()) +
                          " bytes, over the wire cap of " + std::to_string(kMaxWireSchemaBytes));
  return schema->schema_text();
}

Result<WireSampling> sampling_to_wire(const sampling::SamplingParams& p, const std::string& at) {
  if (p.stop_token_ids.size() > sampling::kMaxStopTokenIds)
    return over_wire_cap(at + "/stop_token_ids", p.stop_token_ids.size(),
                         sampling::kMaxStopTokenIds);
  if (p.stop_strings.size() > sampling::kMaxStopStrings)
    return over_wire_cap(at + "/stop_strings", p.stop_strings.size(), sampling::kMaxStopStrings);
  for (std::size_t i = 0; i < p.stop_strings.size(); ++i)
    if (p.stop_strings[i].size() > sampling::kMaxStopStringBytes)
      return make_error(ErrorCode::invalid_argument,
                        at + "/stop_strings/" + std::to_string(i) + ": over the wire cap of " +
                            std::to_string(sampling::kMaxStopStringBytes) + " bytes");
  auto schema = wire_schema_of(p.constraint, at + "/constraint");
  if (!schema.ok()) return schema.error();
  WireSampling w;
  w.temperature = float_bits(p.temperature);
  w.top_k = p.top_k;
  w.top_p = float_bits(p.top_p);
  w.min_p = float_bits(p.min_p);
  w.repetition_penalty = float_bits(p.repetition_penalty);
  w.presence_penalty = float_bits(p.presence_penalty);
  w.frequency_penalty = float_bits(p.frequency_penalty);
  w.has_seed = p.seed.has_value();
  w.seed = p.seed.value_or(0);
  w.max_tokens = p.max_tokens;
  w.stop_token_ids = p.stop_token_ids;
  w.stop_strings = p.stop_strings;
  w.ignore_eos = p.ignore_eos;
  w.logprobs = p.logprobs;
  w.constraint_schema = std::move(*schema);
  return w;
}

std::vector<WireSegment> segments_to_wire(const std::vector<PromptSegment>& segments) {
  std::vector<WireSegment> out;
  out.reserve(segments.size());
  for (const PromptSegment& s : segments)
    out.push_back({s.begin, s.end});
  return out;
}

Result<WireRequest> request_to_wire(const EngineRequest& r) {
  if (r.prompt.size() > kMaxWireListItems)
    return over_wire_cap("/request/prompt", r.prompt.size(), kMaxWireListItems);
  if (r.segments.size() > kMaxWireListItems)
    return over_wire_cap("/request/segments", r.segments.size(), kMaxWireListItems);
  auto params = sampling_to_wire(r.params, "/request/params");
  if (!params.ok()) return params.error();
  WireRequest w;
  w.prompt = r.prompt;
  w.params = std::move(*params);
  w.has_program = r.program.has_value();
  w.program = r.program.value_or(0);
  w.has_pause_on_finish = r.pause_on_finish.has_value();
  w.pause_on_finish_ns = r.pause_on_finish ? r.pause_on_finish->count() : 0;
  w.pause_only_at_stop = r.pause_only_at_stop;
  w.segments = segments_to_wire(r.segments);
  w.kv_reuse = r.kv_reuse == KvReuse::blend ? 1 : 0;
  w.has_blend_recompute = r.blend_recompute.has_value();
  w.blend_recompute = float_bits(r.blend_recompute.value_or(0.0f));
  w.blend_anchors = r.blend_anchors ? (*r.blend_anchors ? 1 : 0) : -1;
  return w;
}

std::int32_t error_code_to_wire(const std::optional<Error>& e) {
  return e ? static_cast<std::int32_t>(e->code) : -1;
}

}  // namespace

Result<WireGenerate> to_wire(const actors::GenerateMsg& m) {
  if (m.subscribers.size() > kMaxWireSubscribers)
    return over_wire_cap("generate: /subscribers", m.subscribers.size(), kMaxWireSubscribers);
  auto request = request_to_wire(m.request);
  if (!request.ok()) return request.error().with_context("generate");
  WireGenerate w;
  w.request = std::move(*request);
  w.has_pause_at_eos = m.pause_at_eos.has_value();
  w.pause_at_eos_ns = m.pause_at_eos ? m.pause_at_eos->count() : 0;
  w.fork_after_prefill = m.fork_after_prefill;
  w.subscribers = m.subscribers;
  w.samples_after_prefill = m.samples_after_prefill;
  return w;
}

Result<WireResume> to_wire(const actors::ResumeMsg& m) {
  if (m.appended.size() > kMaxWireListItems)
    return over_wire_cap("resume: /appended", m.appended.size(), kMaxWireListItems);
  if (m.segments.size() > kMaxWireListItems)
    return over_wire_cap("resume: /segments", m.segments.size(), kMaxWireListItems);
  WireResume w;
  w.id = m.id;
  w.appended = m.appended;
  w.has_max_tokens = m.max_tokens.has_value();
  w.max_tokens = m.max_tokens.value_or(0);
  w.has_pause_at_eos = m.pause_at_eos.has_value();
  w.pause_at_eos_ns = m.pause_at_eos ? m.pause_at_eos->count() : 0;
  if (!m.constraint) {
    w.constraint_mode = kWireConstraintKeep;
  } else if (!*m.constraint) {
    w.constraint_mode = kWireConstraintNone;
  } else {
    auto schema = wire_schema_of(*m.constraint, "/constraint");
    if (!schema.ok()) return schema.error().with_context("resume");
    w.constraint_mode = kWireConstraintSchema;
    w.constraint_schema = std::move(*schema);
  }
  w.segments = segments_to_wire(m.segments);
  return w;
}

WireReply to_wire(const actors::GenerateReply& m) {
  return WireReply{m.id, error_code_to_wire(m.error), m.error ? m.error->message : std::string()};
}

WireTokenBatch to_wire(const actors::TokenBatch& m) {
  WireTokenBatch w;
  w.id = m.id;
  w.tokens = m.tokens;
  w.logprobs.reserve(m.logprobs.size());
  for (float l : m.logprobs)
    w.logprobs.push_back(float_bits(l));
  w.finish = m.finish ? static_cast<std::int32_t>(*m.finish) : -1;
  w.paused_at_eos = m.paused_at_eos;
  w.cancelled = m.cancelled;
  w.error_code = error_code_to_wire(m.error);
  w.error_message = m.error ? m.error->message : std::string();
  w.cached_tokens = m.cached_tokens;
  w.top.reserve(m.top.size());
  for (const auto& alternatives : m.top) {
    WireTopLogprobs t;
    t.alternatives.reserve(alternatives.size());
    for (const sampling::TokenLogprob& a : alternatives)
      t.alternatives.push_back({a.token, float_bits(a.logprob)});
    w.top.push_back(std::move(t));
  }
  return w;
}

void configure_engine_wire(caf::actor_system_config& cfg) {
  cfg.add_message_type<WireSampling>("agentrt_WireSampling");
  cfg.add_message_type<WireSegment>("agentrt_WireSegment");
  cfg.add_message_type<WireRequest>("agentrt_WireRequest");
  cfg.add_message_type<WireGenerate>("agentrt_WireGenerate");
  cfg.add_message_type<WireResume>("agentrt_WireResume");
  cfg.add_message_type<WireReply>("agentrt_WireReply");
  cfg.add_message_type<WireTokenLogprob>("agentrt_WireTokenLogprob");
  cfg.add_message_type<WireTopLogprobs>("agentrt_WireTopLogprobs");
  cfg.add_message_type<WireTokenBatch>("agentrt_WireTokenBatch");
}

}  // namespace agentrt::cluster
