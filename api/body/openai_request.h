// OpenAiRequest: the body of POST /v1/chat/completions or POST /v1/completions, parsed and
// checked. Every field agentrt honours is mapped onto a chat::Conversation or a prompt and
// sampling::SamplingParams; a field it cannot honour with the value given is refused with a
// 400 naming it (docs/api.md, "OpenAI-compatible API", lists every field). Neutral values
// (null, logit_bias {}, store false, ...) are accepted, never silently dropped otherwise.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/body/api_error.h"
#include "engine/chat/conversation.h"
#include "engine/grammar/schema_grammar.h"
#include "engine/kv_reuse.h"
#include "engine/sampling/sampling_params.h"

namespace agentrt::api {

enum class OpenAiEndpoint { chat, completions };

struct ToolChoice {
  enum class Kind { auto_, none, required, named } kind = Kind::auto_;
  std::string name;  // named: the function the model must call (one of the request's tools)
};

struct OpenAiRequest {
  OpenAiEndpoint endpoint = OpenAiEndpoint::chat;
  std::string model;                        // required, non-empty
  chat::Conversation conversation;          // chat: messages + tools (engine/chat/conversation.h)
  std::string prompt_text;                  // completions: a string prompt
  std::vector<std::int32_t> prompt_tokens;  // completions: prompt as token ids (else text)
  bool prompt_is_tokens = false;            // completions: prompt_tokens holds the prompt
  // temperature (default 1), top_p, max_tokens (default kOpenAiDefaultMaxTokens), stop ->
  // stop_strings, seed, frequency/presence_penalty, logprobs (chat: logprobs=true ->
  // top_logprobs; completions: logprobs=k -> k; else -1), and the vLLM extensions top_k,
  // min_p, repetition_penalty, ignore_eos, stop_token_ids. params.validate() passes.
  sampling::SamplingParams params;
  bool max_tokens_given = false;  // else the server uses min(params.max_tokens, context left)
  int n = 1;                      // 1..kMaxOpenAiChoices
  bool stream = false;
  bool include_usage = false;  // stream_options.include_usage
  ToolChoice tool_choice;      // default auto when tools are given, none without
  bool parallel_tool_calls = true;
  bool want_logprobs = false;           // chat logprobs=true / completions logprobs set
  int top_logprobs = 0;                 // alternatives per token (0..kMaxOpenAiTopLogprobs)
  std::optional<std::string> session;   // agentrt.session (or the X-Agentrt-Session header)
  std::optional<double> retain_s;       // agentrt.retain_s, 0..kMaxOpenAiRetainSeconds
  std::optional<bool> enable_thinking;  // chat_template_kwargs.enable_thinking
  // agentrt.kv_reuse / agentrt.blend_recompute / agentrt.blend_anchors (issue 21): under
  // blend each message's content is a segment of the chat prompt (EngineRequest::segments).
  KvReuse kv_reuse = KvReuse::exact;
  std::optional<float> blend_recompute;
  std::optional<bool> blend_anchors;
  std::string user;  // accepted, informational
  // response_format json_schema (its schema) or json_object (any object): the reply is
  // decoded constrained to compact JSON of this grammar (engine/grammar). Null: text.
  std::shared_ptr<const grammar::SchemaGrammar> response_grammar;
};

// Parses and validates a body for `endpoint`. Never throws. Every error is an ApiError
// with status 400 whose `pointer` is a JSON pointer to the offending field ("/temperature",
// "/messages/2/role"; to_openai_json gives it as "param" without the leading '/'), and whose
// `code` is one of: invalid_body (not JSON, not an object, nested deeper than
// kMaxJsonDepth), unknown_parameter (a field OpenAI does not define for this endpoint),
// unsupported_parameter (a field agentrt cannot honour with that value: logit_bias
// non-empty, response_format other than text, audio, modalities other than ["text"],
// best_of != n, echo=true, suffix, functions/function_call, prediction, reasoning_effort,
// web_search_options, store=true, service_tier other than auto/default, ...),
// invalid_type, invalid_value (out of range, over a cap, an unknown tool in tool_choice,
// more than one prompt), missing_required_parameter (model, messages, prompt).
ApiOr<OpenAiRequest> parse_openai_request(std::string_view body, OpenAiEndpoint endpoint);

// The OpenAI error object {"error": {"message", "type", "param", "code"}}: type from the
// status (400/413/422 invalid_request_error, 401 authentication_error, 403
// permission_error, 404 not_found_error, 409 conflict_error, 429 rate_limit_error, 503
// overloaded_error, other 5xx server_error); param is e.pointer without its leading '/'
// (null when empty); code is e.code (null when empty). Invalid UTF-8 is replaced on dump.
nlohmann::json to_openai_json(const ApiError& e);

// The "type" to_openai_json gives for an HTTP status.
const char* openai_error_type(int status);

}  // namespace agentrt::api
