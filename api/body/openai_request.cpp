#include "api/body/openai_request.h"

#include <cmath>
#include <limits>

#include "api/body/api_limits.h"
#include "api/body/openai_fields.h"
#include "engine/common/echo.h"
#include "engine/common/json_depth.h"
#include "engine/common/json_pointer.h"

namespace agentrt::api {
namespace {

using detail::Json;
using detail::OpenAiParse;

// Fields OpenAI defines, and agentrt's extensions: which endpoints take each, and its
// handler (openai_fields.cpp).
struct Field {
  const char* name;
  bool chat;
  bool completions;
  detail::FieldHandler fn;
};

const Field kFields[] = {
    {"model", true, true, detail::field_model},
    {"messages", true, false, detail::field_messages},
    {"prompt", false, true, detail::field_prompt},
    {"tools", true, false, detail::field_tools},
    {"tool_choice", true, false, detail::field_tool_choice},
    {"parallel_tool_calls", true, false, detail::field_parallel_tool_calls},
    {"temperature", true, true, detail::field_temperature},
    {"top_p", true, true, detail::field_top_p},
    {"max_tokens", true, true, detail::field_max_tokens},
    {"max_completion_tokens", true, false, detail::field_max_tokens},
    {"stop", true, true, detail::field_stop},
    {"seed", true, true, detail::field_seed},
    {"frequency_penalty", true, true, detail::field_penalty},
    {"presence_penalty", true, true, detail::field_penalty},
    {"logprobs", true, true, detail::field_logprobs},
    {"top_logprobs", true, false, detail::field_top_logprobs},
    {"n", true, true, detail::field_n},
    {"best_of", false, true, detail::field_best_of},
    {"stream", true, true, detail::field_stream},
    {"stream_options", true, true, detail::field_stream_options},
    {"user", true, true, detail::field_user},
    {"safety_identifier", true, false, detail::field_informational_string},
    {"prompt_cache_key", true, false, detail::field_informational_string},
    {"metadata", true, false, detail::field_metadata},
    {"store", true, false, detail::field_store},
    {"service_tier", true, false, detail::field_service_tier},
    {"logit_bias", true, true, detail::field_logit_bias},
    {"response_format", true, false, detail::field_response_format},
    {"modalities", true, false, detail::field_modalities},
    {"echo", false, true, detail::field_echo},
    {"suffix", false, true, detail::field_suffix},
    // Only null is accepted: agentrt has no audio, web search, predicted outputs, reasoning
    // effort or verbosity levels, and the legacy functions API is not served.
    {"audio", true, false, detail::field_null_only},
    {"prediction", true, false, detail::field_null_only},
    {"reasoning_effort", true, false, detail::field_null_only},
    {"verbosity", true, false, detail::field_null_only},
    {"web_search_options", true, false, detail::field_null_only},
    {"functions", true, false, detail::field_null_only},
    {"function_call", true, false, detail::field_null_only},
    // Extensions.
    {"agentrt", true, true, detail::field_agentrt},
    {"chat_template_kwargs", true, false, detail::field_chat_template_kwargs},
    {"top_k", true, true, detail::field_top_k},
    {"min_p", true, true, detail::field_min_p},
    {"repetition_penalty", true, true, detail::field_repetition_penalty},
    {"ignore_eos", true, true, detail::field_ignore_eos},
    {"stop_token_ids", true, true, detail::field_stop_token_ids},
};

const Field* find_field(const std::string& name) {
  for (const Field& f : kFields)
    if (name == f.name) return &f;
  return nullptr;
}

ApiOr<Json> parse_body(std::string_view body) {
  if (auto excess = find_json_depth_excess(body))
    return api_error(400, "invalid_body",
                     "body nests deeper than " + std::to_string(kMaxJsonDepth) + " levels",
                     excess->pointer);
  Json doc;
  try {
    doc = Json::parse(body);
  } catch (const Json::parse_error& e) {
    return api_error(400, "invalid_body",
                     "body is not JSON: byte " + std::to_string(e.byte) + ": " +
                         std::string(e.what()).substr(0, 200),
                     "");
  } catch (const Json::exception& e) {  // e.g. a number out of range (1e400)
    return api_error(400, "invalid_body",
                     "body is not valid JSON: " + std::string(e.what()).substr(0, 200), "");
  }
  if (!doc.is_object()) return api_error(400, "invalid_body", "body must be a JSON object", "");
  return doc;
}

std::optional<ApiError> unknown_field(const std::string& key, OpenAiEndpoint endpoint) {
  const std::string ptr = "/" + json_pointer_token(key);
  const Field* f = find_field(key);
  if (f == nullptr)
    return api_error(400, "unknown_parameter",
                     "Unrecognized request argument supplied: " + echo_value(key), ptr);
  const char* where = endpoint == OpenAiEndpoint::chat ? "/v1/completions" : "/v1/chat/completions";
  return api_error(400, "unknown_parameter",
                   "'" + key + "' is a field of " + where + ", not of this endpoint", ptr);
}

}  // namespace

ApiOr<OpenAiRequest> parse_openai_request(std::string_view body, OpenAiEndpoint endpoint) {
  auto doc = parse_body(body);
  if (!doc.ok()) return doc.error();
  OpenAiParse p;
  p.r.endpoint = endpoint;
  p.r.params.max_tokens = kOpenAiDefaultMaxTokens;
  for (const auto& [key, value] : doc->items()) {
    const Field* f = find_field(key);
    const bool here = f != nullptr && (endpoint == OpenAiEndpoint::chat ? f->chat : f->completions);
    if (!here) return *unknown_field(key, endpoint);
    if (auto e = f->fn(p, key, value, "/" + key)) return *e;
  }
  if (auto e = detail::finish(p)) return *e;
  return std::move(p.r);
}

}  // namespace agentrt::api
