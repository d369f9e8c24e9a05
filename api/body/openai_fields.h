// Internal to parse_openai_request: one handler per top-level field of an OpenAI body, and
// the checks that need several fields (finish). Handlers see each field once, in body order;
// a null value means "not given" unless the field is required.
#pragma once

#include <optional>
#include <string>

#include "api/body/openai_request.h"

namespace agentrt::api::detail {

using Json = chat::Json;

// What the handlers gather; `r` is the result. Json pointers point into the parsed body,
// which outlives the parse.
struct OpenAiParse {
  OpenAiRequest r;
  bool model_given = false;
  const Json* messages = nullptr;
  const Json* tools = nullptr;
  const Json* tool_choice = nullptr;
  bool prompt_given = false;
  std::optional<int> max_tokens;             // max_tokens
  std::optional<int> max_completion_tokens;  // max_completion_tokens
  bool chat_logprobs = false;                // chat "logprobs": true
  std::optional<int> top_logprobs;           // chat "top_logprobs"
  std::optional<int> best_of;                // completions "best_of"
  bool top_p_zero = false;                   // top_p 0: the argmax token only
};

// Returns the error that refuses the field, or nullopt. `key` is the field's name, `ptr`
// its JSON pointer.
using FieldHandler = std::optional<ApiError> (*)(OpenAiParse& p, const std::string& key,
                                                 const Json& v, const std::string& ptr);

// A value as error messages quote it: one line of JSON, echo-capped (engine/common/echo.h).
std::string shown(const Json& v);

// Errors, each 400 with the pointer and the code its name says.
ApiError invalid_type(const std::string& ptr, const std::string& expected);
ApiError invalid_value(const std::string& ptr, const std::string& message);
ApiError unsupported(const std::string& ptr, const std::string& message);
ApiError missing(const std::string& ptr);

// Scalars and neutral fields (openai_fields.cpp).
std::optional<ApiError> field_model(OpenAiParse&, const std::string&, const Json&,
                                    const std::string&);
std::optional<ApiError> field_temperature(OpenAiParse&, const std::string&, const Json&,
                                          const std::string&);
std::optional<ApiError> field_top_p(OpenAiParse&, const std::string&, const Json&,
                                    const std::string&);
std::optional<ApiError> field_max_tokens(OpenAiParse&, const std::string&, const Json&,
                                         const std::string&);
std::optional<ApiError> field_stop(OpenAiParse&, const std::string&, const Json&,
                                   const std::string&);
std::optional<ApiError> field_seed(OpenAiParse&, const std::string&, const Json&,
                                   const std::string&);
std::optional<ApiError> field_penalty(OpenAiParse&, const std::string&, const Json&,
                                      const std::string&);
std::optional<ApiError> field_logprobs(OpenAiParse&, const std::string&, const Json&,
                                       const std::string&);
std::optional<ApiError> field_top_logprobs(OpenAiParse&, const std::string&, const Json&,
                                           const std::string&);
std::optional<ApiError> field_n(OpenAiParse&, const std::string&, const Json&, const std::string&);
std::optional<ApiError> field_best_of(OpenAiParse&, const std::string&, const Json&,
                                      const std::string&);
std::optional<ApiError> field_stream(OpenAiParse&, const std::string&, const Json&,
                                     const std::string&);
std::optional<ApiError> field_stream_options(OpenAiParse&, const std::string&, const Json&,
                                             const std::string&);
std::optional<ApiError> field_user(OpenAiParse&, const std::string&, const Json&,
                                   const std::string&);
std::optional<ApiError> field_informational_string(OpenAiParse&, const std::string&, const Json&,
                                                   const std::string&);
std::optional<ApiError> field_metadata(OpenAiParse&, const std::string&, const Json&,
                                       const std::string&);
std::optional<ApiError> field_store(OpenAiParse&, const std::string&, const Json&,
                                    const std::string&);
std::optional<ApiError> field_service_tier(OpenAiParse&, const std::string&, const Json&,
                                           const std::string&);
std::optional<ApiError> field_logit_bias(OpenAiParse&, const std::string&, const Json&,
                                         const std::string&);
std::optional<ApiError> field_response_format(OpenAiParse&, const std::string&, const Json&,
                                              const std::string&);
std::optional<ApiError> field_modalities(OpenAiParse&, const std::string&, const Json&,
                                         const std::string&);
std::optional<ApiError> field_echo(OpenAiParse&, const std::string&, const Json&,
                                   const std::string&);
std::optional<ApiError> field_suffix(OpenAiParse&, const std::string&, const Json&,
                                     const std::string&);
std::optional<ApiError> field_null_only(OpenAiParse&, const std::string&, const Json&,
                                        const std::string&);
std::optional<ApiError> field_agentrt(OpenAiParse&, const std::string&, const Json&,
                                      const std::string&);
std::optional<ApiError> field_chat_template_kwargs(OpenAiParse&, const std::string&, const Json&,
                                                   const std::string&);
std::optional<ApiError> field_top_k(OpenAiParse&, const std::string&, const Json&,
                                    const std::string&);
std::optional<ApiError> field_min_p(OpenAiParse&, const std::string&, const Json&,
                                    const std::string&);
std::optional<ApiError> field_repetition_penalty(OpenAiParse&, const std::string&, const Json&,
                                                 const std::string&);
std::optional<ApiError> field_ignore_eos(OpenAiParse&, const std::string&, const Json&,
                                         const std::string&);
std::optional<ApiError> field_stop_token_ids(OpenAiParse&, const std::string&, const Json&,
                                             const std::string&);

// Messages, tools, tool choice and prompt (openai_chat_fields.cpp).
std::optional<ApiError> field_messages(OpenAiParse&, const std::string&, const Json&,
                                       const std::string&);
std::optional<ApiError> field_tools(OpenAiParse&, const std::string&, const Json&,
                                    const std::string&);
std::optional<ApiError> field_tool_choice(OpenAiParse&, const std::string&, const Json&,
                                          const std::string&);
std::optional<ApiError> field_parallel_tool_calls(OpenAiParse&, const std::string&, const Json&,
                                                  const std::string&);
std::optional<ApiError> field_prompt(OpenAiParse&, const std::string&, const Json&,
                                     const std::string&);

// After every field: required fields, the conversation, tool_choice against the tools,
// max_tokens against max_completion_tokens, logprobs, best_of, params.validate().
std::optional<ApiError> finish(OpenAiParse& p);

}  // namespace agentrt::api::detail
