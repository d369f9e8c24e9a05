// Messages, tools, tool_choice and the completions prompt of OpenAI bodies, and the checks
// across fields (finish). The messages are checked here for what agentrt cannot honour (parts
// other than text, audio, refusals, legacy function calls), then parsed by
// chat::parse_conversation.
#include <algorithm>
#include <limits>

#include "api/body/api_limits.h"
#include "api/body/openai_fields.h"
#include "engine/common/echo.h"
#include "engine/common/json_pointer.h"

namespace agentrt::api::detail {
namespace {

using Opt = std::optional<ApiError>;

Opt check_content(const Json& c, const std::string& ptr) {
  if (c.is_null() || c.is_string()) return std::nullopt;
  if (!c.is_array()) return invalid_type(ptr, "a string, null or an array of text parts");
  for (std::size_t i = 0; i < c.size(); ++i) {
    const std::string ip = ptr + "/" + std::to_string(i);
    if (!c[i].is_object()) return invalid_type(ip, "a content part object");
    for (const auto& [k, x] : c[i].items()) {
      const std::string kp = ip + "/" + json_pointer_token(k);
      if (k == "type") {
        if (x != "text")
          return unsupported(kp, "only text content parts are supported, got " + shown(x));
      } else if (k != "text") {
        return api_error(400, "unknown_parameter",
                         "Unrecognized content part field: " + echo_value(k), kp);
      }
    }
  }
  return std::nullopt;  // parse_conversation requires "text" strings
}

Opt check_tool_calls(const Json& calls, const std::string& ptr) {
  if (!calls.is_array()) return std::nullopt;  // parse_conversation names the type error
  for (std::size_t i = 0; i < calls.size(); ++i) {
    const Json& c = calls[i];
    const std::string ip = ptr + "/" + std::to_string(i);
    if (!c.is_object()) continue;
    for (const auto& [k, x] : c.items()) {
      const std::string kp = ip + "/" + json_pointer_token(k);
      if (k == "type") {
        if (x != "function")
          return unsupported(kp, "only \"function\" tool calls are supported, got " + shown(x));
      } else if (k != "id" && k != "function") {
        return api_error(400, "unknown_parameter", "Unrecognized tool call field: " + echo_value(k),
                         kp);
      }
    }
  }
  return std::nullopt;
}

// One message's fields: what agentrt honours, or null for the ones it cannot.
Opt check_message(const Json& m, const std::string& ptr) {
  if (!m.is_object()) return invalid_type(ptr, "a message object");
  for (const auto& [k, x] : m.items()) {
    const std::string kp = ptr + "/" + json_pointer_token(k);
    if (k == "content") {
      if (auto e = check_content(x, kp)) return e;
    } else if (k == "tool_calls") {
      if (auto e = check_tool_calls(x, kp)) return e;
    } else if (k == "name" || k == "tool_call_id" || k == "reasoning_content") {
      if (!x.is_null() && !x.is_string()) return invalid_type(kp, "a string");
    } else if (k == "refusal" || k == "audio" || k == "function_call") {
      if (!x.is_null())
        return unsupported(kp, "agentrt cannot render a message's '" + k + "'; send null");
    } else if (k != "role") {
      return api_error(400, "unknown_parameter", "Unrecognized message field: " + echo_value(k),
                       kp);
    }
  }
  return std::nullopt;
}

Opt check_tool(const Json& t, const std::string& ptr) {
  if (!t.is_object()) return invalid_type(ptr, "a tool object");
  const auto type = t.find("type");
  if (type == t.end()) return missing(ptr + "/type");
  if (*type != "function")
    return unsupported(ptr + "/type", "only \"function\" tools are supported, got " + shown(*type));
  for (const auto& [k, x] : t.items())
    if (k != "type" && k != "function")
      return api_error(400, "unknown_parameter", "Unrecognized tool field: " + echo_value(k),
                       ptr + "/" + json_pointer_token(k));
  const auto f = t.find("function");
  if (f == t.end()) return missing(ptr + "/function");
  if (!f->is_object()) return invalid_type(ptr + "/function", "an object");
  for (const auto& [k, x] : f->items()) {
    const std::string kp = ptr + "/function/" + json_pointer_token(k);
    if (k == "name") {
      if (!x.is_string()) return invalid_type(kp, "a string");
      if (x.get_ref<const std::string&>().empty()) return invalid_value(kp, "must not be empty");
    } else if (k == "description") {
      if (!x.is_null() && !x.is_string()) return invalid_type(kp, "a string");
    } else if (k == "parameters") {
      if (!x.is_null() && !x.is_object()) return invalid_type(kp, "a JSON schema object");
    } else if (k == "strict") {  // the schema is shown to the model, not enforced
      if (!x.is_null() && !x.is_boolean()) return invalid_type(kp, "a boolean");
    } else {
      return api_error(400, "unknown_parameter", "Unrecognized function field: " + echo_value(k),
                       kp);
    }
  }
  if (!f->contains("name")) return missing(ptr + "/function/name");
  return std::nullopt;
}

// parse_conversation's "openai: /messages/2/role: expected a string" as an ApiError.
ApiError conversation_error(const Error& e) {
  static const std::string prefix = "openai: ";
  std::string text = e.message;
  if (text.rfind(prefix, 0) == 0) text = text.substr(prefix.size());
  if (text.empty() || text.front() != '/') return api_error(400, "invalid_value", text, "");
  const std::size_t colon = std::min(text.find(": "), text.size());
  const std::string ptr = text.substr(0, colon);
  return api_error(400, "invalid_value", "Invalid '" + ptr.substr(1) + "'" + text.substr(colon),
                   ptr);
}

Opt resolve_tool_choice(OpenAiParse& p) {
  OpenAiRequest& r = p.r;
  r.tool_choice.kind =
      r.conversation.tools.empty() ? ToolChoice::Kind::none : ToolChoice::Kind::auto_;
  if (p.tool_choice == nullptr) return std::nullopt;
  const Json& v = *p.tool_choice;
  const std::string ptr = "/tool_choice";
  if (v.is_string()) {
    if (v == "none") {
      r.tool_choice.kind = ToolChoice::Kind::none;
    } else if (v == "required") {
      r.tool_choice.kind = ToolChoice::Kind::required;
    } else if (v != "auto") {  // auto: the default above (none without tools)
      return invalid_value(ptr, "expected \"none\", \"auto\", \"required\" or a named function");
    }
  } else if (v.is_object()) {
    const auto type = v.find("type");
    if (type == v.end() || *type != "function")
      return unsupported(ptr + "/type",
                         "only {\"type\": \"function\", \"function\": {\"name\": "
                         "...}} is supported");
    const auto f = v.find("function");
    if (f == v.end() || !f->is_object() || !f->contains("name") || !(*f)["name"].is_string())
      return invalid_type(ptr + "/function/name", "a string");
    r.tool_choice.kind = ToolChoice::Kind::named;
    r.tool_choice.name = (*f)["name"].get<std::string>();
  } else {
    return invalid_type(ptr, "a string or an object");
  }
  if (r.tool_choice.kind == ToolChoice::Kind::required && r.conversation.tools.empty())
    return invalid_value(ptr, "\"required\" needs tools");
  if (r.tool_choice.kind != ToolChoice::Kind::named) return std::nullopt;
  for (const chat::ToolDefinition& t : r.conversation.tools)
    if (t.name == r.tool_choice.name) return std::nullopt;
  return invalid_value(ptr + "/function/name",
                       "no tool named '" + echo_value(r.tool_choice.name) + "' in tools");
}

Opt finish_chat(OpenAiParse& p) {
  if (p.messages == nullptr) return missing("/messages");
  if (p.messages->empty()) return invalid_value("/messages", "must hold at least one message");
  auto conv =
      chat::parse_conversation(*p.messages, p.tools ? *p.tools : Json(), std::string("openai"));
  if (!conv.ok()) return conversation_error(conv.error());
  p.r.conversation = std::move(*conv);
  if (auto e = resolve_tool_choice(p)) return e;
  if (p.top_logprobs.value_or(0) > 0 && !p.chat_logprobs)
    return invalid_value("/top_logprobs", "needs \"logprobs\": true");
  p.r.want_logprobs = p.chat_logprobs;
  p.r.top_logprobs = p.chat_logprobs ? p.top_logprobs.value_or(0) : 0;
  return std::nullopt;
}

}  // namespace

Opt field_messages(OpenAiParse& p, const std::string&, const Json& v, const std::string& ptr) {
  if (v.is_null()) return std::nullopt;
  if (!v.is_array()) return invalid_type(ptr, "an array of messages");
  if (v.size() > kMaxOpenAiMessages)
    return invalid_value(ptr, "at most " + std::to_string(kMaxOpenAiMessages) + " messages, got " +
                                  std::to_string(v.size()));
  for (std::size_t i = 0; i < v.size(); ++i)
    if (auto e = check_message(v[i], ptr + "/" + std::to_string(i))) return e;
  p.messages = &v;
  return std::nullopt;
}

Opt field_tools(OpenAiParse& p, const std::string&, const Json& v, const std::string& ptr) {
  if (v.is_null()) return std::nullopt;
  if (!v.is_array()) return invalid_type(ptr, "an array of tools or null");
  if (v.size() > kMaxOpenAiTools)
    return invalid_value(ptr, "at most " + std::to_string(kMaxOpenAiTools) + " tools, got " +
                                  std::to_string(v.size()));
  for (std::size_t i = 0; i < v.size(); ++i)
    if (auto e = check_tool(v[i], ptr + "/" + std::to_string(i))) return e;
  p.tools = &v;
  return std::nullopt;
}

Opt field_tool_choice(OpenAiParse& p, const std::string&, const Json& v, const std::string&) {
  if (!v.is_null()) p.tool_choice = &v;
  return std::nullopt;
}

Opt field_parallel_tool_calls(OpenAiParse& p, const std::string&, const Json& v,
                              const std::string& ptr) {
  if (v.is_null()) return std::nullopt;
  if (!v.is_boolean()) return invalid_type(ptr, "a boolean");
  p.r.parallel_tool_calls = v.get<bool>();
  return std::nullopt;
}

// A string, an array of token ids, or an array holding one of those.
Opt field_prompt(OpenAiParse& p, const std::string&, const Json& v, const std::string& ptr) {
  if (v.is_null()) return std::nullopt;
  const Json* one = &v;
  std::string ptr_one = ptr;
  if (v.is_array() && !v.empty() && (v[0].is_string() || v[0].is_array())) {
    if (v.size() > 1) return invalid_value(ptr, "only one prompt per request");
    one = &v[0];
    ptr_one = ptr + "/0";
  }
  p.prompt_given = true;
  if (one->is_string()) {
    p.r.prompt_text = one->get<std::string>();
    return std::nullopt;
  }
  if (!one->is_array()) return invalid_type(ptr_one, "a string or an array of token ids");
  if (one->empty()) return invalid_value(ptr_one, "must not be empty");
  if (one->size() > kMaxOpenAiPromptTokens)
    return invalid_value(ptr_one, "at most " + std::to_string(kMaxOpenAiPromptTokens) +
                                      " tokens, got " + std::to_string(one->size()));
  p.r.prompt_is_tokens = true;
  p.r.prompt_tokens.reserve(one->size());
  for (std::size_t i = 0; i < one->size(); ++i) {
    const Json& t = (*one)[i];
    const std::string ip = ptr_one + "/" + std::to_string(i);
    if (!t.is_number_integer()) return invalid_type(ip, "a token id (an integer)");
    if (t.is_number_unsigned() ? t.get<std::uint64_t>() > std::uint64_t(INT32_MAX)
                               : t.get<std::int64_t>() < 0)
      return invalid_value(ip, "must be a token id in [0, 2147483647], got " + shown(t));
    p.r.prompt_tokens.push_back(static_cast<std::int32_t>(t.get<std::int64_t>()));
  }
  return std::nullopt;
}

Opt finish(OpenAiParse& p) {
  if (!p.model_given) return missing("/model");
  if (p.r.endpoint == OpenAiEndpoint::chat) {
    if (auto e = finish_chat(p)) return e;
  } else {
    if (!p.prompt_given) return missing("/prompt");
    if (p.best_of && *p.best_of != p.r.n)
      return unsupported("/best_of", "best_of must equal n (" + std::to_string(p.r.n) +
                                         "): agentrt returns every choice it generates");
  }
  if (p.max_tokens && p.max_completion_tokens && *p.max_tokens != *p.max_completion_tokens)
    return invalid_value(
        "/max_completion_tokens",
        "differs from max_tokens (" + std::to_string(*p.max_tokens) + "); give one of them");
  if (auto m = p.max_completion_tokens ? p.max_completion_tokens : p.max_tokens) {
    p.r.params.max_tokens = *m;
    p.r.max_tokens_given = true;
  }
  if (p.top_p_zero) p.r.params.temperature = 0.0f;
  p.r.params.logprobs = p.r.want_logprobs ? p.r.top_logprobs : -1;
  if (Status s = p.r.params.validate(); !s.ok()) {
    const std::string& m = s.error().message;      // "top_p: must be ...": checked above, but
    std::string field = m.substr(0, m.find(':'));  // the sampler's own rules have the last word
    if (field.rfind("stop_strings", 0) == 0) field.replace(0, 12, "stop");
    return invalid_value("/" + field, m.substr(std::min(m.size(), m.find(':') + 2)));
  }
  return std::nullopt;
}

}  // namespace agentrt::api::detail
