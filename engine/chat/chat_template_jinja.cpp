// ChatTemplate: the family renderers where they match, the Jinja interpreter otherwise.
#include "engine/chat/chat_template.h"
#include "engine/chat/jinja/template.h"
#include "engine/common/file_read.h"
#include "engine/common/json_depth.h"

namespace agentrt::chat {
namespace {

// A special token in tokenizer_config.json: a string or an AddedToken {"content": ...}.
std::string token_text(const Json& config, const char* key) {
  if (!config.contains(key)) return "";
  const Json& t = config[key];
  if (t.is_string()) return t.get<std::string>();
  if (t.is_object() && t.contains("content") && t["content"].is_string())
    return t["content"].get<std::string>();
  return "";
}

Json message_json(const Message& m) {
  Json j = Json::object();
  j["role"] = to_string(m.role);
  j["content"] = m.content;
  if (m.reasoning_content) j["reasoning_content"] = *m.reasoning_content;
  if (!m.tool_calls.empty()) {
    Json calls = Json::array();
    for (const ToolCall& c : m.tool_calls) {
      Json call = Json::object();
      if (!c.id.empty()) call["id"] = c.id;
      call["type"] = "function";
      call["function"] = {{"name", c.name}, {"arguments", c.arguments}};
      calls.push_back(std::move(call));
    }
    j["tool_calls"] = std::move(calls);
  }
  if (!m.tool_call_id.empty()) j["tool_call_id"] = m.tool_call_id;
  if (!m.name.empty()) j["name"] = m.name;
  return j;
}

}  // namespace

Json template_context(const Conversation& conv, const RenderOptions& options) {
  Json messages = Json::array();
  for (const Message& m : conv.messages)
    messages.push_back(message_json(m));
  Json tools = nullptr;
  if (!conv.tools.empty()) {
    tools = Json::array();
    for (const ToolDefinition& t : conv.tools)
      tools.push_back(t.raw);
  }
  Json ctx = {{"messages", std::move(messages)},
              {"tools", std::move(tools)},
              {"add_generation_prompt", options.add_generation_prompt},
              {"bos_token", options.bos_token},
              {"eos_token", options.eos_token},
              {"date_string", options.date_string}};
  if (options.enable_thinking) ctx["enable_thinking"] = *options.enable_thinking;
  if (options.tools_in_user_message) ctx["tools_in_user_message"] = *options.tools_in_user_message;
  if (options.extra_kwargs.is_object())
    for (auto it = options.extra_kwargs.begin(); it != options.extra_kwargs.end(); ++it)
      ctx[it.key()] = it.value();
  return ctx;
}

ChatTemplate ChatTemplate::of_family(Family family) {
  ChatTemplate t;
  t.family_ = family;
  t.tool_calls_ = chat::tool_call_format(family);
  return t;
}

Result<ChatTemplate> ChatTemplate::from_text(std::string_view text, const std::string& source) {
  auto parsed = jinja::Template::parse(text, source);
  if (!parsed.ok()) return parsed.error();
  ChatTemplate t;
  t.jinja_ = std::make_shared<const jinja::Template>(std::move(*parsed));
  t.tool_calls_ = detect_tool_call_format(text);
  if (auto family = detect_family(text, source); family.ok()) {
    t.family_ = *family;
    t.tool_calls_ = chat::tool_call_format(*family);
  }
  return t;
}

Result<ChatTemplate> ChatTemplate::from_dir(const std::string& model_dir) {
  const std::string path = model_dir + "/tokenizer_config.json";
  auto text = read_file_bounded(path, kMaxConfigFileBytes);
  if (!text.ok()) return text.error();
  AGENTRT_TRY(check_json_depth(*text, path));
  Json config;
  try {
    config = Json::parse(*text);
  } catch (const std::exception& e) {
    return make_error(ErrorCode::parse, path + ": " + e.what());
  }
  if (!config.is_object() || !config.contains("chat_template"))
    return make_error(ErrorCode::unsupported, path + ": no chat_template");
  const Json& ct = config["chat_template"];
  const Json* body = ct.is_string() ? &ct : nullptr;
  if (ct.is_array())
    for (const Json& named : ct)
      if (named.is_object() && named.value("name", "") == "default" && named.contains("template") &&
          named["template"].is_string())
        body = &named["template"];
  if (body == nullptr)
    return make_error(ErrorCode::unsupported, path + ": /chat_template: expected a string");
  auto t = from_text(body->get_ref<const std::string&>(), path);
  if (!t.ok()) return t.error();
  t->bos_token_ = token_text(config, "bos_token");
  t->eos_token_ = token_text(config, "eos_token");
  t->has_config_tokens_ = true;
  return t;
}

Result<std::string> ChatTemplate::render(const Conversation& conv,
                                         const RenderOptions& options) const {
  if (family_) return chat::render(*family_, conv, options);
  return render_jinja(conv, options);
}

Result<std::string> ChatTemplate::render_jinja(const Conversation& conv,
                                               const RenderOptions& options) const {
  if (!jinja_)
    return make_error(ErrorCode::invalid_argument,
                      "chat template of family " + std::string(to_string(*family_)) +
                          " has no template text to render through Jinja");
  if (conv.messages.empty())
    return make_error(ErrorCode::invalid_argument, "cannot render an empty conversation");
  RenderOptions o = options;
  if (has_config_tokens_) {
    // What transformers passes: the tokenizer's own special tokens.
    o.bos_token = bos_token_;
    o.eos_token = eos_token_;
  }
  return jinja_->render(template_context(conv, o));
}

}  // namespace agentrt::chat
