// `agentrt tokenize --model DIR`: text on stdin -> one line of token ids. --decode: ids on
// stdin -> text. --chat: a JSON conversation on stdin -> the rendered prompt text.
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>

#include "cli/command.h"
#include "cli/default_model.h"
#include "cli/prompt_input.h"
#include "cli/token_list.h"
#include "engine/common/file_read.h"
#include "engine/tokenizer/tokenizer.h"

namespace agentrt::cli {
namespace {

struct TokenizeArgs {
  std::string model_dir;
  bool decode = false;
  bool chat = false;
  bool add_special_tokens = false;
  bool skip_special_tokens = false;
  std::string chat_template;
  std::string thinking = "auto";
};

int fail(const Error& e, int code) {
  std::fprintf(stderr, "agentrt tokenize: %s\n", e.to_string().c_str());
  return code;
}

// All of stdin, refused past kMaxInputFileBytes (`< /dev/zero` must not grow without end).
Result<std::string> read_stdin_bounded() {
  std::string out;
  char buf[1 << 16];
  while (std::cin.read(buf, sizeof buf) || std::cin.gcount() > 0) {
    out.append(buf, static_cast<std::size_t>(std::cin.gcount()));
    if (out.size() > kMaxInputFileBytes) {
      return make_error(
          ErrorCode::invalid_argument,
          "stdin: more than " + std::to_string(kMaxInputFileBytes) + " bytes (the input limit)");
    }
  }
  return out;
}

int run_tokenize(TokenizeArgs a) {
  if (a.model_dir.empty()) a.model_dir = default_model_dir().string();
  if (a.decode && a.chat) {
    return fail(make_error(ErrorCode::invalid_argument, "--decode and --chat exclude each other"),
                kExitUsage);
  }
  auto tok = tokenizer::Tokenizer::load_dir(a.model_dir);
  if (!tok.ok()) return fail(tok.error(), kExitFailure);
  auto stdin_text = read_stdin_bounded();
  if (!stdin_text.ok()) return fail(stdin_text.error(), kExitUsage);
  const std::string& input = *stdin_text;
  if (a.decode) {
    auto ids = parse_token_list(input);
    if (!ids.ok()) return fail(ids.error().with_context("stdin"), kExitUsage);
    auto text = tok->decode(*ids, a.skip_special_tokens);
    if (!text.ok()) return fail(text.error(), kExitFailure);
    std::fwrite(text->data(), 1, text->size(), stdout);
    return kExitOk;
  }
  if (a.chat) {
    auto text = render_chat(input, "stdin", a.model_dir, a.chat_template, a.thinking, *tok);
    if (!text.ok()) return fail(text.error(), kExitFailure);
    std::fwrite(text->data(), 1, text->size(), stdout);
    return kExitOk;
  }
  std::printf("%s\n", format_token_list(tok->encode(input, a.add_special_tokens)).c_str());
  return kExitOk;
}

}  // namespace

CommandFn add_tokenize_command(CLI::App& app) {
  auto a = std::make_shared<TokenizeArgs>();
  auto* cmd = app.add_subcommand("tokenize", "Tokenize stdin, decode ids, or render a chat");
  cmd->add_option("--model", a->model_dir, "Model directory with tokenizer.json");
  cmd->add_flag("--decode", a->decode, "Read token ids, print text");
  cmd->add_flag("--chat", a->chat, "Read a JSON conversation, print the rendered prompt");
  cmd->add_flag("--add-special-tokens", a->add_special_tokens, "Apply the post-processor (BOS)");
  cmd->add_flag("--skip-special-tokens", a->skip_special_tokens, "With --decode: drop them");
  cmd->add_option("--chat-template", a->chat_template,
                  "Chat format family (chatml_qwen, llama3) instead of detecting it");
  cmd->add_option("--thinking", a->thinking,
                  "Qwen3 enable_thinking for --chat: auto (template default), on, off");
  return [a]() { return run_tokenize(*a); };
}

}  // namespace agentrt::cli
