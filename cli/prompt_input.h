// Turns the CLI's prompt flags into token ids: --tokens (ids as given), --prompt (text through
// the model's tokenizer, with its special tokens such as BOS), or --chat (a JSON conversation
// rendered with the model's chat format, then tokenized).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "engine/common/result.h"
#include "engine/tokenizer/tokenizer.h"

namespace agentrt::cli {

struct PromptFlags {
  std::string tokens;
  std::string prompt;
  std::string chat;               // JSON text, or @FILE
  std::string chat_template;      // family name overriding detection ("chatml_qwen", "llama3")
  std::string thinking = "auto";  // Qwen3 enable_thinking: auto (template default), on, off
};

struct PromptInput {
  std::vector<std::int32_t> ids;
  std::optional<tokenizer::Tokenizer> tokenizer;  // loaded when the model has one
  std::vector<std::int32_t> extra_stop_ids;       // the chat format's end-of-turn token
};

// Exactly one of tokens/prompt/chat must be set (invalid_argument otherwise). The tokenizer
// is loaded from model_dir whenever it has a tokenizer.json, so output can be decoded.
Result<PromptInput> resolve_prompt(const PromptFlags& flags, const std::string& model_dir);

// Reads `@FILE` (a regular file of at most kMaxInputFileBytes, engine/common/file_read.h) or
// returns the text itself. Errors name the file: not_found, io (a FIFO, device, directory,
// symlink loop), invalid_argument (too large).
Result<std::string> read_text_arg(const std::string& value);

// Renders a conversation (JSON text: {"messages": [...], "tools": [...]} or a bare messages
// array) for the model in model_dir, with the generation prompt.
Result<std::string> render_chat(const std::string& json_text, const std::string& source,
                                const std::string& model_dir, const std::string& family_name,
                                const std::string& thinking, const tokenizer::Tokenizer& tok);

}  // namespace agentrt::cli
