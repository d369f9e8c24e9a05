#include "cli/prompt_input.h"

#include <filesystem>
#include <system_error>

#include "cli/token_list.h"
#include "engine/chat/chat_template.h"
#include "engine/chat/conversation.h"
#include "engine/common/echo.h"
#include "engine/common/file_read.h"

namespace agentrt::cli {

Result<std::string> read_text_arg(const std::string& value) {
  if (value.empty() || value[0] != '@') return value;
  return read_file_bounded(value.substr(1), kMaxInputFileBytes);
}

namespace {

// The model's own chat_template (a hand-written renderer where one matches, else Jinja), or
// the family --chat-template names.
Result<chat::ChatTemplate> chat_template_for(const std::string& model_dir,
                                             const std::string& family_name) {
  if (family_name.empty()) return chat::ChatTemplate::from_dir(model_dir);
  auto f = chat::parse_family(family_name);
  if (!f.ok()) return f.error();
  return chat::ChatTemplate::of_family(*f);
}

}  // namespace

Result<std::string> render_chat(const std::string& json_text, const std::string& source,
                                const std::string& model_dir, const std::string& family_name,
                                const std::string& thinking, const tokenizer::Tokenizer& tok) {
  std::string text = json_text;
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first != std::string::npos && text[first] == '[') text = "{\"messages\": " + text + "}";
  auto conv = chat::parse_conversation_json(text, source);
  if (!conv.ok()) return conv.error();
  auto tmpl = chat_template_for(model_dir, family_name);
  if (!tmpl.ok()) return tmpl.error();
  chat::RenderOptions opts;
  opts.add_generation_prompt = true;
  if (thinking == "on" || thinking == "off") {
    opts.enable_thinking = thinking == "on";
  } else if (thinking != "auto") {
    return make_error(ErrorCode::invalid_argument,
                      "--thinking: expected auto, on or off, got '" + echo_value(thinking) + "'");
  }
  if (!tok.config().bos_token.empty()) opts.bos_token = tok.config().bos_token;
  return tmpl->render(*conv, opts);
}

Result<PromptInput> resolve_prompt(const PromptFlags& flags, const std::string& model_dir) {
  const int given = !flags.tokens.empty() + !flags.prompt.empty() + !flags.chat.empty();
  if (given != 1) {
    return make_error(ErrorCode::invalid_argument,
                      "give exactly one of --tokens, --prompt and --chat");
  }
  PromptInput in;
  // error_code overload: a symlink loop must not throw; Tokenizer::load_dir names it.
  std::error_code ec;
  const auto tok_status =
      std::filesystem::status(std::filesystem::path(model_dir) / "tokenizer.json", ec);
  const bool has_tokenizer =
      std::filesystem::exists(tok_status) ||
      (ec && ec != std::errc::no_such_file_or_directory && ec != std::errc::not_a_directory);
  if (has_tokenizer) {
    auto tok = tokenizer::Tokenizer::load_dir(model_dir);
    if (!tok.ok()) return tok.error();
    in.tokenizer = std::move(*tok);
  }
  if (!flags.tokens.empty()) {
    auto ids = parse_token_list(flags.tokens);
    if (!ids.ok()) return ids.error().with_context("--tokens");
    in.ids = std::move(*ids);
    return in;
  }
  if (!in.tokenizer) {
    return make_error(ErrorCode::not_found,
                      model_dir + " has no tokenizer.json: pass token ids with --tokens");
  }
  if (!flags.prompt.empty()) {
    auto text = read_text_arg(flags.prompt);
    if (!text.ok()) return text.error().with_context("--prompt");
    in.ids = in.tokenizer->encode(*text, /*add_special_tokens=*/true);
    return in;
  }
  auto json = read_text_arg(flags.chat);
  if (!json.ok()) return json.error().with_context("--chat");
  auto rendered =
      render_chat(*json, "--chat", model_dir, flags.chat_template, flags.thinking, *in.tokenizer);
  if (!rendered.ok()) return rendered.error();
  in.ids = in.tokenizer->encode(*rendered, /*add_special_tokens=*/false);
  if (auto eos = in.tokenizer->eos_id()) in.extra_stop_ids.push_back(*eos);
  return in;
}

}  // namespace agentrt::cli
