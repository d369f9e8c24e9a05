// Scalar and neutral fields of OpenAI bodies: sampling, streaming, logprobs, the fields
// accepted only with neutral values, and agentrt's extensions.
#include <cmath>
#include <cstdint>
#include <limits>

#include "api/body/api_limits.h"
#include "api/body/openai_fields.h"
#include "engine/common/echo.h"
#include "engine/common/json_pointer.h"
#include "engine/grammar/schema_compiler.h"

namespace agentrt::api::detail {
namespace {

using Opt = std::optional<ApiError>;

std::string name_of(const std::string& ptr) {
  return ptr.empty() ? ptr : ptr.substr(1);
}

std::string range_text(double lo, double hi) {
  auto num = [](double x) {
    if (x == std::trunc(x) && std::fabs(x) < 1e15) return std::to_string(std::int64_t(x));
    std::string s = std::to_string(x);
    while (s.back() == '0')
      s.pop_back();
    return s;
  };
  return "[" + num(lo) + ", " + num(hi) + "]";
}

// A number in [lo, hi].
Opt get_number(const Json& v, const std::string& ptr, double lo, double hi, double& out) {
  if (!v.is_number()) return invalid_type(ptr, "a number");
  out = v.get<double>();
  if (!(out >= lo && out <= hi))
    return invalid_value(ptr, "must be in " + range_text(lo, hi) + ", got " + shown(v));
  return std::nullopt;
}

// An integer in [lo, hi] (an integral float such as 2.0 counts: Python clients send them).
Opt get_int(const Json& v, const std::string& ptr, std::int64_t lo, std::int64_t hi,
            std::int64_t& out) {
  const auto out_of_range = [&] {
    return invalid_value(ptr,
                         "must be in " + range_text(double(lo), double(hi)) + ", got " + shown(v));
  };
  if (v.is_number_unsigned()) {
    const std::uint64_t u = v.get<std::uint64_t>();
    if (hi < 0 || u > static_cast<std::uint64_t>(hi)) return out_of_range();
    out = static_cast<std::int64_t>(u);
  } else if (v.is_number_integer()) {
    out = v.get<std::int64_t>();
  } else if (v.is_number_float()) {
    const double d = v.get<double>();
    if (d != std::trunc(d)) return invalid_type(ptr, "an integer");
    // 9e18 < 2^63: the cast below stays defined.
    if (!(d >= double(lo) && d <= double(hi)) || std::fabs(d) > 9e18) return out_of_range();
    out = static_cast<std::int64_t>(d);
  } else {
    return invalid_type(ptr, "an integer");
  }
  if (out < lo || out > hi) return out_of_range();
  return std::nullopt;
}

Opt get_bool(const Json& v, const std::string& ptr, bool& out) {
  if (!v.is_boolean()) return invalid_type(ptr, "a boolean");
  out = v.get<bool>();
  return std::nullopt;
}

Opt get_string(const Json& v, const std::string& ptr, std::size_t max_bytes, std::string& out) {
  if (!v.is_string()) return invalid_type(ptr, "a string");
  out = v.get<std::string>();
  if (out.size() > max_bytes)
    return invalid_value(ptr, "must be at most " + std::to_string(max_bytes) + " bytes, got " +
                                  std::to_string(out.size()));
  return std::nullopt;
}

}  // namespace

std::string shown(const Json& v) {
  return echo_value(v.dump(-1, ' ', false, Json::error_handler_t::replace));
}

ApiError invalid_type(const std::string& ptr, const std::string& expected) {
  return api_error(400, "invalid_type",
                   "Invalid type for '" + name_of(ptr) + "': expected " + expected, ptr);
}

ApiError invalid_value(const std::string& ptr, const std::string& message) {
  return api_error(400, "invalid_value", "Invalid '" + name_of(ptr) + "': " + message, ptr);
}

ApiError unsupported(const std::string& ptr, const std::string& message) {
  return api_error(400, "unsupported_parameter", "Unsupported '" + name_of(ptr) + "': " + message,
                   ptr);
}

ApiError missing(const std::string& ptr) {
  return api_error(400, "missing_required_parameter",
                   "Missing required parameter: '" + name_of(ptr) + "'", ptr);
}

Opt field_model(OpenAiParse& p, const std::string&, const Json& v, const std::string& ptr) {
  if (v.is_null()) return std::nullopt;
  if (auto e = get_string(v, ptr, kMaxOpenAiNameBytes, p.r.model)) return e;
  if (p.r.model.empty()) return invalid_value(ptr, "must not be empty");
  p.model_given = true;
  return std::nullopt;
}

Opt field_temperature(OpenAiParse& p, const std::string&, const Json& v, const std::string& ptr) {
  if (v.is_null()) return std::nullopt;
  double t = 0;
  if (auto e = get_number(v, ptr, 0.0, 2.0, t)) return e;
  p.r.params.temperature = static_cast<float>(t);
  return std::nullopt;
}

Opt field_top_p(OpenAiParse& p, const std::string&, const Json& v, const std::string& ptr) {
  if (v.is_null()) return std::nullopt;
  double t = 0;
  if (auto e = get_number(v, ptr, 0.0, 1.0, t)) return e;
  // The sampler takes top_p in (0, 1]; 0 keeps only the most likely token, as greedy does.
  p.top_p_zero = t == 0.0;
  p.r.params.top_p = p.top_p_zero ? 1.0f : static_cast<float>(t);
  return std::nullopt;
}

Opt field_max_tokens(OpenAiParse& p, const std::string& key, const Json& v,
                     const std::string& ptr) {
  if (v.is_null()) return std::nullopt;
  std::int64_t n = 0;
  if (auto e = get_int(v, ptr, 1, kMaxOpenAiMaxTokens, n)) return e;
  (key == "max_tokens" ? p.max_tokens : p.max_completion_tokens) = static_cast<int>(n);
  return std::nullopt;
}

Opt field_stop(OpenAiParse& p, const std::string&, const Json& v, const std::string& ptr) {
  if (v.is_null()) return std::nullopt;
  std::vector<std::string>& out = p.r.params.stop_strings;
  if (v.is_string()) {
    out.push_back(v.get<std::string>());
    if (out.back().empty()) return invalid_value(ptr, "a stop string must not be empty");
    if (out.back().size() > sampling::kMaxStopStringBytes)
      return invalid_value(ptr, "a stop string may have at most " +
                                    std::to_string(sampling::kMaxStopStringBytes) + " bytes");
    return std::nullopt;
  }
  if (!v.is_array()) return invalid_type(ptr, "a string, an array of strings or null");
  if (v.size() > sampling::kMaxStopStrings)
    return invalid_value(ptr, "at most " + std::to_string(sampling::kMaxStopStrings) +
                                  " stop strings, got " + std::to_string(v.size()));
  for (std::size_t i = 0; i < v.size(); ++i) {
    const std::string ip = ptr + "/" + std::to_string(i);
    std::string s;
    if (auto e = get_string(v[i], ip, sampling::kMaxStopStringBytes, s)) return e;
    if (s.empty()) return invalid_value(ip, "a stop string must not be empty");
    out.push_back(std::move(s));
  }
  return std::nullopt;
}

Opt field_seed(OpenAiParse& p, const std::string&, const Json& v, const std::string& ptr) {
  if (v.is_null()) return std::nullopt;
  if (v.is_number_unsigned()) {
    p.r.params.seed = v.get<std::uint64_t>();
    return std::nullopt;
  }
  std::int64_t s = 0;
  if (auto e = get_int(v, ptr, std::numeric_limits<std::int64_t>::min(),
                       std::numeric_limits<std::int64_t>::max(), s))
    return e;
  p.r.params.seed = static_cast<std::uint64_t>(s);  // negative seeds wrap: still one stream each
  return std::nullopt;
}

Opt field_penalty(OpenAiParse& p, const std::string& key, const Json& v, const std::string& ptr) {
  if (v.is_null()) return std::nullopt;
  double x = 0;
  if (auto e = get_number(v, ptr, -2.0, 2.0, x)) return e;
  (key == "presence_penalty" ? p.r.params.presence_penalty : p.r.params.frequency_penalty) =
      static_cast<float>(x);
  return std::nullopt;
}

Opt field_logprobs(OpenAiParse& p, const std::string&, const Json& v, const std::string& ptr) {
  if (v.is_null()) return std::nullopt;
  if (p.r.endpoint == OpenAiEndpoint::chat) return get_bool(v, ptr, p.chat_logprobs);
  std::int64_t k = 0;  // completions: the number of alternatives per token
  if (auto e = get_int(v, ptr, 0, kMaxOpenAiTopLogprobs, k)) return e;
  p.r.want_logprobs = true;
  p.r.top_logprobs = static_cast<int>(k);
  return std::nullopt;
}

Opt field_top_logprobs(OpenAiParse& p, const std::string&, const Json& v, const std::string& ptr) {
  if (v.is_null()) return std::nullopt;
  std::int64_t k = 0;
  if (auto e = get_int(v, ptr, 0, kMaxOpenAiTopLogprobs, k)) return e;
  p.top_logprobs = static_cast<int>(k);
  return std::nullopt;
}

Opt field_n(OpenAiParse& p, const std::string&, const Json& v, const std::string& ptr) {
  if (v.is_null()) return std::nullopt;
  std::int64_t n = 0;
  if (auto e = get_int(v, ptr, 1, kMaxOpenAiChoices, n)) return e;
  p.r.n = static_cast<int>(n);
  return std::nullopt;
}

Opt field_best_of(OpenAiParse& p, const std::string&, const Json& v, const std::string& ptr) {
  if (v.is_null()) return std::nullopt;
  std::int64_t n = 0;
  if (auto e = get_int(v, ptr, 1, kMaxOpenAiChoices, n)) return e;
  p.best_of = static_cast<int>(n);
  return std::nullopt;
}

Opt field_stream(OpenAiParse& p, const std::string&, const Json& v, const std::string& ptr) {
  if (v.is_null()) return std::nullopt;
  return get_bool(v, ptr, p.r.stream);
}

Opt field_stream_options(OpenAiParse& p, const std::string&, const Json& v,
                         const std::string& ptr) {
  if (v.is_null()) return std::nullopt;
  if (!v.is_object()) return invalid_type(ptr, "an object or null");
  for (const auto& [k, x] : v.items()) {
    const std::string kp = ptr + "/" + json_pointer_token(k);
    if (x.is_null()) continue;
    if (k == "include_usage") {
      if (auto e = get_bool(x, kp, p.r.include_usage)) return e;
    } else if (k == "include_obfuscation") {
      bool on = false;
      if (auto e = get_bool(x, kp, on)) return e;
      if (on) return unsupported(kp, "agentrt does not pad stream events; use false");
    } else {
      return api_error(400, "unknown_parameter", "Unrecognized stream option: " + echo_value(k),
                       kp);
    }
  }
  return std::nullopt;
}

Opt field_user(OpenAiParse& p, const std::string&, const Json& v, const std::string& ptr) {
  if (v.is_null()) return std::nullopt;
  return get_string(v, ptr, kMaxOpenAiNameBytes, p.r.user);
}

Opt field_informational_string(OpenAiParse&, const std::string&, const Json& v,
                               const std::string& ptr) {
  if (v.is_null()) return std::nullopt;
  std::string s;
  return get_string(v, ptr, kMaxOpenAiNameBytes, s);
}

Opt field_metadata(OpenAiParse&, const std::string&, const Json& v, const std::string& ptr) {
  if (v.is_null() || v.is_object()) return std::nullopt;
  return invalid_type(ptr, "an object or null");
}

Opt field_store(OpenAiParse&, const std::string&, const Json& v, const std::string& ptr) {
  if (v.is_null()) return std::nullopt;
  bool on = false;
  if (auto e = get_bool(v, ptr, on)) return e;
  if (on) return unsupported(ptr, "agentrt does not store completions; use false");
  return std::nullopt;
}

Opt field_service_tier(OpenAiParse&, const std::string&, const Json& v, const std::string& ptr) {
  if (v.is_null()) return std::nullopt;
  std::string s;
  if (auto e = get_string(v, ptr, kMaxOpenAiNameBytes, s)) return e;
  if (s != "auto" && s != "default")
    return unsupported(ptr, "agentrt has one service tier; use \"auto\" or \"default\", got \"" +
                                echo_value(s) + "\"");
  return std::nullopt;
}

Opt field_logit_bias(OpenAiParse&, const std::string&, const Json& v, const std::string& ptr) {
  if (v.is_null()) return std::nullopt;
  if (!v.is_object()) return invalid_type(ptr, "an object or null");
  if (!v.empty()) return unsupported(ptr, "logit biases are not supported; send {} or null");
  return std::nullopt;
}

// A schema compiler error ("/properties/a/pattern: unsupported keyword 'pattern'") as an
// ApiError whose pointer reaches into the body: base + the error's own pointer.
static ApiError schema_error(const std::string& base, const Error& e) {
  std::string where = base, message = e.message;
  if (!message.empty() && message[0] == '/') {
    const auto colon = message.find(": ");
    if (colon != std::string::npos) {
      where += message.substr(0, colon);
      message = message.substr(colon + 2);
    }
  }
  if (e.code == ErrorCode::unsupported) return unsupported(where, message);
  return api_error(400, "invalid_value", "Invalid '" + name_of(where) + "': " + message, where);
}

Opt field_response_format(OpenAiParse& p, const std::string&, const Json& v,
                          const std::string& ptr) {
  if (v.is_null()) return std::nullopt;
  if (!v.is_object()) return invalid_type(ptr, "an object or null");
  const auto t = v.find("type");
  if (t == v.end() || !t->is_string()) return invalid_type(ptr + "/type", "a string");
  if (*t == "text") return std::nullopt;
  Json schema;
  std::string base;
  if (*t == "json_object") {
    schema = {{"type", "object"}};
    base = ptr;
  } else if (*t == "json_schema") {
    const auto js = v.find("json_schema");
    if (js == v.end()) return missing(ptr + "/json_schema");
    if (!js->is_object()) return invalid_type(ptr + "/json_schema", "an object");
    const auto name = js->find("name");
    if (name == js->end()) return missing(ptr + "/json_schema/name");
    if (!name->is_string()) return invalid_type(ptr + "/json_schema/name", "a string");
    const auto s = js->find("schema");
    if (s == js->end()) return missing(ptr + "/json_schema/schema");
    if (!s->is_object()) return invalid_type(ptr + "/json_schema/schema", "an object");
    schema = *s;
    base = ptr + "/json_schema/schema";
  } else {
    return unsupported(ptr + "/type",
                       "expected text, json_object or json_schema, got " + shown(*t));
  }
  auto grammar = grammar::compile_schema(schema);
  if (!grammar.ok()) return schema_error(base, grammar.error());
  p.r.response_grammar = std::move(*grammar);
  return std::nullopt;
}

Opt field_modalities(OpenAiParse&, const std::string&, const Json& v, const std::string& ptr) {
  if (v.is_null()) return std::nullopt;
  if (!v.is_array()) return invalid_type(ptr, "an array of strings or null");
  for (std::size_t i = 0; i < v.size(); ++i)
    if (v[i] != "text")
      return unsupported(ptr + "/" + std::to_string(i),
                         "only the \"text\" modality is supported, got " + shown(v[i]));
  return std::nullopt;
}

Opt field_echo(OpenAiParse&, const std::string&, const Json& v, const std::string& ptr) {
  if (v.is_null()) return std::nullopt;
  bool on = false;
  if (auto e = get_bool(v, ptr, on)) return e;
  if (on) return unsupported(ptr, "echoing the prompt is not supported; use false");
  return std::nullopt;
}

Opt field_suffix(OpenAiParse&, const std::string&, const Json& v, const std::string& ptr) {
  if (v.is_null()) return std::nullopt;
  if (!v.is_string()) return invalid_type(ptr, "a string or null");
  if (!v.get_ref<const std::string&>().empty())
    return unsupported(ptr, "insertion (a suffix) is not supported; send null or \"\"");
  return std::nullopt;
}

Opt field_null_only(OpenAiParse&, const std::string& key, const Json& v, const std::string& ptr) {
  if (v.is_null()) return std::nullopt;
  return unsupported(ptr, "agentrt does not support '" + key + "'; send null or leave it out");
}

Opt field_agentrt(OpenAiParse& p, const std::string&, const Json& v, const std::string& ptr) {
  if (v.is_null()) return std::nullopt;
  if (!v.is_object()) return invalid_type(ptr, "an object or null");
  for (const auto& [k, x] : v.items()) {
    const std::string kp = ptr + "/" + json_pointer_token(k);
    if (x.is_null()) continue;
    if (k == "session") {
      std::string s;
      if (auto e = get_string(x, kp, kMaxOpenAiNameBytes, s)) return e;
      if (s.empty()) return invalid_value(kp, "must not be empty");
      p.r.session = std::move(s);
    } else if (k == "retain_s") {
      double d = 0;
      if (auto e = get_number(x, kp, 0.0, kMaxOpenAiRetainSeconds, d)) return e;
      p.r.retain_s = d;
    } else if (k == "kv_reuse") {
      std::string s;
      if (auto e = get_string(x, kp, kMaxOpenAiNameBytes, s)) return e;
      if (s != "exact" && s != "blend")
        return invalid_value(kp, "must be \"exact\" or \"blend\", got '" + echo_value(s) + "'");
      p.r.kv_reuse = s == "blend" ? KvReuse::blend : KvReuse::exact;
    } else if (k == "blend_recompute") {
      double d = 0;
      if (auto e = get_number(x, kp, 0.0, 1.0, d)) return e;
      p.r.blend_recompute = static_cast<float>(d);
    } else if (k == "blend_anchors") {
      bool on = false;
      if (auto e = get_bool(x, kp, on)) return e;
      p.r.blend_anchors = on;
    } else {
      return api_error(
          400, "unknown_parameter",
          "Unrecognized agentrt option: " + echo_value(k) +
              " (expected session, retain_s, kv_reuse, blend_recompute, blend_anchors)",
          kp);
    }
  }
  if (p.r.blend_recompute && p.r.kv_reuse != KvReuse::blend)
    return invalid_value(ptr + "/blend_recompute", "applies to \"kv_reuse\": \"blend\" only");
  if (p.r.blend_anchors && p.r.kv_reuse != KvReuse::blend)
    return invalid_value(ptr + "/blend_anchors", "applies to \"kv_reuse\": \"blend\" only");
  return std::nullopt;
}

Opt field_chat_template_kwargs(OpenAiParse& p, const std::string&, const Json& v,
                               const std::string& ptr) {
  if (v.is_null()) return std::nullopt;
  if (!v.is_object()) return invalid_type(ptr, "an object or null");
  for (const auto& [k, x] : v.items()) {
    const std::string kp = ptr + "/" + json_pointer_token(k);
    if (k != "enable_thinking")
      return unsupported(kp, "the chat templates take only enable_thinking");
    if (x.is_null()) continue;
    bool on = false;
    if (auto e = get_bool(x, kp, on)) return e;
    p.r.enable_thinking = on;
  }
  return std::nullopt;
}

Opt field_top_k(OpenAiParse& p, const std::string&, const Json& v, const std::string& ptr) {
  if (v.is_null()) return std::nullopt;
  std::int64_t k = 0;  // vLLM's -1 and 0 both mean off
  if (auto e = get_int(v, ptr, -1, std::numeric_limits<std::int32_t>::max(), k)) return e;
  p.r.params.top_k = k < 0 ? 0 : static_cast<int>(k);
  return std::nullopt;
}

Opt field_min_p(OpenAiParse& p, const std::string&, const Json& v, const std::string& ptr) {
  if (v.is_null()) return std::nullopt;
  double x = 0;
  if (auto e = get_number(v, ptr, 0.0, 1.0, x)) return e;
  p.r.params.min_p = static_cast<float>(x);
  return std::nullopt;
}

Opt field_repetition_penalty(OpenAiParse& p, const std::string&, const Json& v,
                             const std::string& ptr) {
  if (v.is_null()) return std::nullopt;
  double x = 0;
  if (auto e = get_number(v, ptr, 0.0, 10.0, x)) return e;
  if (x == 0.0) return invalid_value(ptr, "must be > 0, got 0");
  p.r.params.repetition_penalty = static_cast<float>(x);
  return std::nullopt;
}

Opt field_ignore_eos(OpenAiParse& p, const std::string&, const Json& v, const std::string& ptr) {
  if (v.is_null()) return std::nullopt;
  return get_bool(v, ptr, p.r.params.ignore_eos);
}

Opt field_stop_token_ids(OpenAiParse& p, const std::string&, const Json& v,
                         const std::string& ptr) {
  if (v.is_null()) return std::nullopt;
  if (!v.is_array()) return invalid_type(ptr, "an array of token ids or null");
  if (v.size() > sampling::kMaxStopTokenIds)
    return invalid_value(ptr, "at most " + std::to_string(sampling::kMaxStopTokenIds) +
                                  " stop token ids, got " + std::to_string(v.size()));
  for (std::size_t i = 0; i < v.size(); ++i) {
    std::int64_t t = 0;
    if (auto e = get_int(v[i], ptr + "/" + std::to_string(i), 0,
                         std::numeric_limits<std::int32_t>::max(), t))
      return e;
    p.r.params.stop_token_ids.push_back(static_cast<std::int32_t>(t));
  }
  return std::nullopt;
}

}  // namespace agentrt::api::detail
