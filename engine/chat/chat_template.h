// Renders a Conversation into the prompt text of a model family, byte for byte what
// transformers' apply_chat_template(messages, tools=..., tokenize=False, ...) produces with
// that family's official template (the one in its tokenizer_config.json).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "engine/chat/conversation.h"
#include "engine/common/result.h"

namespace agentrt::chat {

enum class Family {
  chatml_qwen,  // Qwen2.5 / Qwen3: <|im_start|>role\n...<|im_end|>, <tool_call> JSON, <think>
  llama3,       // Llama-3 / 3.1 (header template): <|start_header_id|>role<|end_header_id|>
};

const char* to_string(Family family);
// "chatml_qwen" or "llama3"; anything else is invalid_argument.
Result<Family> parse_family(std::string_view name);

struct RenderOptions {
  bool add_generation_prompt = false;
  // Qwen3: false appends an empty <think></think> to the generation prompt; nullopt means
  // the kwarg was not passed (the template's default, thinking on).
  std::optional<bool> enable_thinking;
  std::string bos_token = "<|begin_of_text|>";  // Llama: prepended to the first message
};

// Renders conv. Fails (invalid_argument) on an empty conversation.
Result<std::string> render(Family family, const Conversation& conv, const RenderOptions& options);

// Picks the family from a chat template's text (its markers). source names the template
// in the error when no family matches.
Result<Family> detect_family(std::string_view chat_template, const std::string& source);
// Reads MODEL_DIR/tokenizer_config.json and detects the family from its chat_template.
Result<Family> detect_family_in_dir(const std::string& model_dir);

}  // namespace agentrt::chat
