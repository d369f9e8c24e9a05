// The engine messages back from their wire form (engine_wire.h), checking what a peer could
// get wrong. Errors name the message and the field as a JSON pointer:
// "generate: /request/params/top_p: must be in (0, 1], got inf".
#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>

#include "cluster/engine_wire.h"

namespace agentrt::cluster {
namespace {

Error wire_bad(const std::string& field, const std::string& why) {
  return make_error(ErrorCode::invalid_argument, field + ": " + why);
}

std::string wire_number(double x) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.6g", x);
  return text;
}

Status check_wire_tokens(const std::vector<std::int32_t>& tokens, const std::string& field) {
  for (std::size_t i = 0; i < tokens.size(); ++i)
    if (tokens[i] < 0)
      return wire_bad(field + "/" + std::to_string(i),
                      "must be a token id >= 0, got " + std::to_string(tokens[i]));
  return ok_status();
}

// Non-empty, inside [0, size), sorted and disjoint (engine/prompt_segment.h's rule).
Result<std::vector<PromptSegment>> segments_from_wire(const std::vector<WireSegment>& segments,
                                                      std::size_t size, const std::string& field) {
  std::vector<PromptSegment> out;
  out.reserve(segments.size());
  std::int64_t last_end = 0;
  for (std::size_t i = 0; i < segments.size(); ++i) {
    const WireSegment& s = segments[i];
    const std::string span = "[" + std::to_string(s.begin) + ", " + std::to_string(s.end) + ")";
    const std::string at = field + "/" + std::to_string(i);
    if (s.begin < 0 || s.end <= s.begin) return wire_bad(at, span + " is not a non-empty span");
    if (static_cast<std::size_t>(s.end) > size)
      return wire_bad(at, span + " ends past the " + std::to_string(size) + " tokens");
    if (s.begin < last_end)
      return wire_bad(at, span + " starts before the previous span's end " +
                              std::to_string(last_end) + " (spans must be sorted, disjoint)");
    last_end = s.end;
    out.push_back({s.begin, s.end});
  }
  return out;
}

Result<std::optional<kv::Duration>> duration_from_wire(bool has, std::int64_t ns,
                                                       const std::string& field) {
  if (!has) return std::optional<kv::Duration>();
  if (ns < 0) return wire_bad(field, "must be >= 0 ns, got " + std::to_string(ns));
  return std::optional<kv::Duration>(kv::Duration(ns));
}

Result<std::shared_ptr<const sampling::Constraint>> constraint_from_wire(
    const std::string& schema, const SchemaConstraints& schemas, const std::string& field) {
  auto c = schemas.get(schema);
  if (!c.ok()) return c.error().with_context(field);
  return c;
}

Result<sampling::SamplingParams> sampling_from_wire(WireSampling w,
                                                    const SchemaConstraints& schemas,
                                                    const std::string& at) {
  sampling::SamplingParams p;
  p.temperature = bits_float(w.temperature);
  p.top_k = w.top_k;
  p.top_p = bits_float(w.top_p);
  p.min_p = bits_float(w.min_p);
  p.repetition_penalty = bits_float(w.repetition_penalty);
  p.presence_penalty = bits_float(w.presence_penalty);
  p.frequency_penalty = bits_float(w.frequency_penalty);
  if (w.has_seed) p.seed = w.seed;
  p.max_tokens = w.max_tokens;
  p.stop_token_ids = std::move(w.stop_token_ids);
  p.stop_strings = std::move(w.stop_strings);
  p.ignore_eos = w.ignore_eos;
  p.logprobs = w.logprobs;
  // validate() refuses non-finite floats and names the field ("top_p: must be ...").
  if (auto s = p.validate(); !s.ok())
    return make_error(s.error().code, at + "/" + s.error().message);
  if (!w.constraint_schema.empty()) {
    auto c = constraint_from_wire(w.constraint_schema, schemas, at + "/constraint_schema");
    if (!c.ok()) return c.error();
    p.constraint = std::move(*c);
  }
  return p;
}

Result<EngineRequest> request_from_wire(WireRequest w, const SchemaConstraints& schemas) {
  EngineRequest r;
  if (w.prompt.empty()) return wire_bad("/request/prompt", "must not be empty");
  AGENTRT_TRY(check_wire_tokens(w.prompt, "/request/prompt"));
  auto params = sampling_from_wire(std::move(w.params), schemas, "/request/params");
  if (!params.ok()) return params.error();
  r.params = std::move(*params);
  if (w.has_program) r.program = w.program;
  auto pause = duration_from_wire(w.has_pause_on_finish, w.pause_on_finish_ns,
                                  "/request/pause_on_finish_ns");
  if (!pause.ok()) return pause.error();
  r.pause_on_finish = *pause;
  r.pause_only_at_stop = w.pause_only_at_stop;
  auto segments = segments_from_wire(w.segments, w.prompt.size(), "/request/segments");
  if (!segments.ok()) return segments.error();
  r.segments = std::move(*segments);
  if (w.kv_reuse != 0 && w.kv_reuse != 1)
    return wire_bad("/request/kv_reuse",
                    "must be 0 (exact) or 1 (blend), got " + std::to_string(w.kv_reuse));
  r.kv_reuse = w.kv_reuse == 1 ? KvReuse::blend : KvReuse::exact;
  if (w.has_blend_recompute) {
    const float f = bits_float(w.blend_recompute);
    if (!(f >= 0.0f && f <= 1.0f))
      return wire_bad("/request/blend_recompute", "must be in [0, 1], got " + wire_number(f));
    r.blend_recompute = f;
  }
  if (w.blend_anchors < -1 || w.blend_anchors > 1)
    return wire_bad("/request/blend_anchors",
                    "must be -1 (unset), 0 or 1, got " + std::to_string(w.blend_anchors));
  if (w.blend_anchors >= 0) r.blend_anchors = w.blend_anchors == 1;
  r.prompt = std::move(w.prompt);
  return r;
}

// error_code -1 with no message, or an ErrorCode with one.
Result<std::optional<Error>> error_from_wire(std::int32_t code, std::string message) {
  if (code == -1) {
    if (!message.empty()) return wire_bad("/error_message", "set without an error code");
    return std::optional<Error>();
  }
  if (code < 0 || code > static_cast<std::int32_t>(ErrorCode::internal))
    return wire_bad("/error_code", "must be -1 (none) or an error code in [0, " +
                                       std::to_string(static_cast<int>(ErrorCode::internal)) +
                                       "], got " + std::to_string(code));
  if (message.empty()) return wire_bad("/error_message", "must not be empty with an error code");
  return std::optional<Error>(Error{static_cast<ErrorCode>(code), std::move(message)});
}

// A logprob: finite or -inf (a token the model or a constraint ruled out); never NaN or +inf.
Result<float> logprob_from_wire(std::uint32_t bits, const std::string& field) {
  const float f = bits_float(bits);
  if (std::isnan(f) || f == std::numeric_limits<float>::infinity())
    return wire_bad(field, "must be a number or -inf, got " + wire_number(f));
  return f;
}

}  // namespace

Result<actors::GenerateMsg> from_wire(WireGenerate w, const SchemaConstraints& schemas) {
  auto fail = [](Error e) { return e.with_context("generate"); };
  actors::GenerateMsg m;
  const std::int64_t forks = w.fork_after_prefill;
  const std::int64_t samples = w.samples_after_prefill;
  if (forks < 0)
    return fail(wire_bad("/fork_after_prefill", "must be >= 0, got " + std::to_string(forks)));
  if (samples < 0)
    return fail(wire_bad("/samples_after_prefill", "must be >= 0, got " + std::to_string(samples)));
  if (forks > 0 && samples > 0)
    return fail(wire_bad("/samples_after_prefill",
                         "must be 0 with fork_after_prefill " + std::to_string(forks)));
  const std::int64_t want = samples > 0 ? samples : forks + 1;
  if (static_cast<std::int64_t>(w.subscribers.size()) != want)
    return fail(
        wire_bad("/subscribers", std::to_string(w.subscribers.size()) +
                                     " subscribers, need one per sample: " + std::to_string(want)));
  for (std::size_t i = 0; i < w.subscribers.size(); ++i)
    if (!w.subscribers[i])
      return fail(wire_bad("/subscribers/" + std::to_string(i), "a null actor"));
  auto pause = duration_from_wire(w.has_pause_at_eos, w.pause_at_eos_ns, "/pause_at_eos_ns");
  if (!pause.ok()) return fail(pause.error());
  auto request = request_from_wire(std::move(w.request), schemas);
  if (!request.ok()) return fail(request.error());
  m.request = std::move(*request);
  m.pause_at_eos = *pause;
  m.fork_after_prefill = w.fork_after_prefill;
  m.subscribers = std::move(w.subscribers);
  m.samples_after_prefill = w.samples_after_prefill;
  return m;
}

Result<actors::ResumeMsg> from_wire(WireResume w, const SchemaConstraints& schemas) {
  auto fail = [](Error e) { return e.with_context("resume"); };
  actors::ResumeMsg m;
  if (w.id < 1)
    return fail(wire_bad("/id", "must be a request id >= 1, got " + std::to_string(w.id)));
  m.id = w.id;
  if (auto s = check_wire_tokens(w.appended, "/appended"); !s.ok()) return fail(s.error());
  if (w.has_max_tokens) {
    if (w.max_tokens < 1)
      return fail(wire_bad("/max_tokens", "must be >= 1, got " + std::to_string(w.max_tokens)));
    m.max_tokens = w.max_tokens;
  }
  auto pause = duration_from_wire(w.has_pause_at_eos, w.pause_at_eos_ns, "/pause_at_eos_ns");
  if (!pause.ok()) return fail(pause.error());
  m.pause_at_eos = *pause;
  switch (w.constraint_mode) {
    case kWireConstraintKeep:
    case kWireConstraintNone:
      if (!w.constraint_schema.empty())
        return fail(wire_bad("/constraint_schema", "set with constraint_mode " +
                                                       std::to_string(w.constraint_mode) +
                                                       " (only 2, a schema, has one)"));
      if (w.constraint_mode == kWireConstraintNone)
        m.constraint = std::shared_ptr<const sampling::Constraint>();
      break;
    case kWireConstraintSchema: {
      if (w.constraint_schema.empty())
        return fail(wire_bad("/constraint_schema", "must not be empty with constraint_mode 2"));
      auto c = constraint_from_wire(w.constraint_schema, schemas, "/constraint_schema");
      if (!c.ok()) return fail(c.error());
      m.constraint = std::move(*c);
      break;
    }
    default:
      return fail(wire_bad("/constraint_mode", "must be 0 (keep), 1 (none) or 2 (schema), got " +
                                                   std::to_string(w.constraint_mode)));
  }
  auto segments = segments_from_wire(w.segments, w.appended.size(), "/segments");
  if (!segments.ok()) return fail(segments.error());
  m.segments = std::move(*segments);
  m.appended = std::move(w.appended);
  return m;
}

Result<actors::GenerateReply> from_wire(WireReply w) {
  auto fail = [](Error e) { return e.with_context("generate reply"); };
  if (w.id < 0) return fail(wire_bad("/id", "must be >= 0, got " + std::to_string(w.id)));
  auto error = error_from_wire(w.error_code, std::move(w.error_message));
  if (!error.ok()) return fail(error.error());
  return actors::GenerateReply{w.id, std::move(*error)};
}

Result<actors::TokenBatch> from_wire(WireTokenBatch w) {
  auto fail = [](Error e) { return e.with_context("token batch"); };
  actors::TokenBatch b;
  if (w.id < 0) return fail(wire_bad("/id", "must be >= 0, got " + std::to_string(w.id)));
  b.id = w.id;
  if (auto s = check_wire_tokens(w.tokens, "/tokens"); !s.ok()) return fail(s.error());
  if (!w.logprobs.empty() && w.logprobs.size() != w.tokens.size())
    return fail(wire_bad("/logprobs", std::to_string(w.logprobs.size()) + " for " +
                                          std::to_string(w.tokens.size()) +
                                          " tokens (none or one per token)"));
  b.logprobs.reserve(w.logprobs.size());
  for (std::size_t i = 0; i < w.logprobs.size(); ++i) {
    auto l = logprob_from_wire(w.logprobs[i], "/logprobs/" + std::to_string(i));
    if (!l.ok()) return fail(l.error());
    b.logprobs.push_back(*l);
  }
  if (w.finish < -1 || w.finish > static_cast<std::int32_t>(FinishReason::context_full))
    return fail(
        wire_bad("/finish", "must be -1 (none) or a finish reason in [0, " +
                                std::to_string(static_cast<int>(FinishReason::context_full)) +
                                "], got " + std::to_string(w.finish)));
  if (w.finish >= 0) b.finish = static_cast<FinishReason>(w.finish);
  b.paused_at_eos = w.paused_at_eos;
  b.cancelled = w.cancelled;
  auto error = error_from_wire(w.error_code, std::move(w.error_message));
  if (!error.ok()) return fail(error.error());
  b.error = std::move(*error);
  if (w.cached_tokens < -1)
    return fail(wire_bad("/cached_tokens",
                         "must be >= 0, or -1 (none), got " + std::to_string(w.cached_tokens)));
  b.cached_tokens = w.cached_tokens;
  if (!w.top.empty() && w.top.size() != w.tokens.size())
    return fail(wire_bad("/top", std::to_string(w.top.size()) + " lists for " +
                                     std::to_string(w.tokens.size()) +
                                     " tokens (none or one per token)"));
  b.top.reserve(w.top.size());
  for (std::size_t i = 0; i < w.top.size(); ++i) {
    std::vector<sampling::TokenLogprob> alternatives;
    alternatives.reserve(w.top[i].alternatives.size());
    for (std::size_t j = 0; j < w.top[i].alternatives.size(); ++j) {
      const WireTokenLogprob& a = w.top[i].alternatives[j];
      const std::string at = "/top/" + std::to_string(i) + "/" + std::to_string(j);
      if (a.token < 0)
        return fail(
            wire_bad(at + "/token", "must be a token id >= 0, got " + std::to_string(a.token)));
      auto l = logprob_from_wire(a.logprob, at + "/logprob");
      if (!l.ok()) return fail(l.error());
      alternatives.push_back({a.token, *l});
    }
    b.top.push_back(std::move(alternatives));
  }
  b.tokens = std::move(w.tokens);
  return b;
}

}  // namespace agentrt::cluster
