// Renders a Conversation into the prompt text of a model family, byte for byte what
// transformers' apply_chat_template(messages, tools=..., tokenize=False, ...) produces with
// that family's official template (the one in its tokenizer_config.json).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "engine/chat/conversation.h"
#include "engine/common/result.h"

namespace agentrt::chat::jinja {
class Template;
}  // namespace agentrt::chat::jinja

namespace agentrt::chat {

enum class Family {
  chatml_qwen,  // Qwen2.5 / Qwen3: <|im_start|>role\n...<|im_end|>, <tool_call> JSON, <think>
  llama3,       // Llama-3 / 3.1 (header template): <|start_header_id|>role<|end_header_id|>
  // Meta's Llama-3.1/3.2 tool-calling template: a dated system header ("Environment: ipython"
  // with tools), tool definitions as JSON, calls as {"name": ..., "parameters": ...}, tool
  // results in the ipython role.
  llama3_tools,
};

const char* to_string(Family family);

// How a model writes tool calls in its replies (engine/chat/tool_call_parser.h parses them).
enum class ToolCallFormat {
  none,        // no tool-call syntax known: a reply is plain text (Gemma 3, Llama 2, ...)
  hermes,      // <tool_call>\n{"name": ..., "arguments": {...}}\n</tool_call> (Qwen, Hermes)
  llama_json,  // {"name": ..., "parameters": {...}}, optionally after <|python_tag|>
  mistral,  // [TOOL_CALLS][{"name": ..., "arguments": {...}}, ...] or [TOOL_CALLS]NAME[ARGS]{...}
  harmony,  // gpt-oss: <|channel|>commentary to=functions.NAME ...<|message|>{...}<|call|>
};
const char* to_string(ToolCallFormat format);
// The hand-written families' formats: chatml_qwen hermes, llama3 and llama3_tools llama_json.
ToolCallFormat tool_call_format(Family family);
// The format a chat template's text renders tool calls in (its markers: [TOOL_CALLS],
// <|channel|> with to=functions, <tool_call>, <|python_tag|>); none when it has none of them.
ToolCallFormat detect_tool_call_format(std::string_view chat_template);
// Formats whose markers are special tokens (mistral, harmony): their replies must be decoded
// with special tokens kept, or the parser never sees the markers.
bool needs_special_tokens(ToolCallFormat format);
// "chatml_qwen", "llama3" or "llama3_tools" (alias "llama3_1", Meta's Llama-3.1 template);
// anything else is invalid_argument.
Result<Family> parse_family(std::string_view name);

// Today's local date as strftime("%d %b %Y") in the C locale ("26 Jul 2024"), what the
// templates' strftime_now("%d %b %Y") gives.
std::string today_date_string();

struct RenderOptions {
  bool add_generation_prompt = false;
  // Qwen3: false appends an empty <think></think> to the generation prompt; nullopt means
  // the kwarg was not passed (the template's default, thinking on).
  std::optional<bool> enable_thinking;
  std::string bos_token = "<|begin_of_text|>";  // Llama: prepended to the first message
  // llama3_tools: the "Today Date: " line (the template's date_string kwarg).
  std::string date_string = today_date_string();
  // llama3_tools: true puts the tool definitions in the first user message, false in the
  // system message; nullopt is the template's default (true).
  std::optional<bool> tools_in_user_message;
  // Jinja path only: the eos_token variable, and further template variables (kwargs of
  // apply_chat_template, e.g. {"reasoning_effort": "low"}); they override the ones above.
  std::string eos_token;
  Json extra_kwargs = Json::object();
};

// Renders conv. Fails (invalid_argument) on an empty conversation, and where the family's
// template raises (llama3_tools: several tool calls in one message; tools in the user
// message but no message after the system one).
Result<std::string> render(Family family, const Conversation& conv, const RenderOptions& options);

// Picks the family from a chat template's text (its markers). source names the template
// in the error when no family matches.
Result<Family> detect_family(std::string_view chat_template, const std::string& source);
// Reads MODEL_DIR/tokenizer_config.json and detects the family from its chat_template.
Result<Family> detect_family_in_dir(const std::string& model_dir);

// A model's chat template, ready to render: the hand-written family renderer where one
// matches (Qwen3, Llama-3.x: proven byte-identical on the golden conversations), otherwise
// the template text itself through the Jinja interpreter (engine/chat/jinja), so any model
// whose tokenizer_config.json carries a chat_template renders. Immutable; render() may be
// called from any thread.
class ChatTemplate {
 public:
  // A hand-written family without template text (render_jinja() is unavailable).
  static ChatTemplate of_family(Family family);
  // Parses text; the family comes from its markers (detect_family), else the Jinja path.
  // Errors: the template's syntax error as "SOURCE:LINE:COL: ...".
  static Result<ChatTemplate> from_text(std::string_view text, const std::string& source);
  // Reads MODEL_DIR/tokenizer_config.json: chat_template (a string, or the "default" entry of
  // a list) and the bos_token / eos_token that the Jinja path passes to the template.
  // Errors (unsupported): "MODEL_DIR/tokenizer_config.json: no chat_template" (Llama 2's
  // and gpt-oss's npm configs carry none).
  static Result<ChatTemplate> from_dir(const std::string& model_dir);

  // The hand-written family, or nullopt when rendering goes through Jinja.
  std::optional<Family> family() const { return family_; }
  // How the model writes tool calls: the family's format, else detect_tool_call_format on
  // the template text.
  ToolCallFormat tool_call_format() const { return tool_calls_; }
  // Renders with the family's renderer, or through Jinja. Errors as render(Family, ...), or
  // the template's own (raise_exception: "SOURCE:LINE:COL: message").
  Result<std::string> render(const Conversation& conv, const RenderOptions& options) const;
  // Always the Jinja path (the golden tests compare it with the family renderer). Fails
  // (invalid_argument) for a template made by of_family.
  Result<std::string> render_jinja(const Conversation& conv, const RenderOptions& options) const;

 private:
  std::optional<Family> family_;
  ToolCallFormat tool_calls_ = ToolCallFormat::none;
  std::shared_ptr<const jinja::Template> jinja_;
  std::string bos_token_, eos_token_;  // from tokenizer_config.json (from_dir only)
  bool has_config_tokens_ = false;
};

// The variables transformers' apply_chat_template passes to a template, built from conv:
// messages (OpenAI shape: role, content, tool_calls [{id, type, function: {name,
// arguments}}], tool_call_id, name, reasoning_content), tools (the definitions as given, or
// null), add_generation_prompt, bos_token, eos_token, date_string, enable_thinking and
// tools_in_user_message when set, then options.extra_kwargs.
Json template_context(const Conversation& conv, const RenderOptions& options);

}  // namespace agentrt::chat
