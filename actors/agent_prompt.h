// Prompt building for the agent actor: the first turn's rendered prompt, and the tokens
// that continue a paused sequence after a reply (the "append" shape: the reply as generated,
// the tool responses or a user message, a new generation prompt), so only those tokens are
// prefilled.
//
// Two paths, chosen by the model's chat::ChatTemplate:
//   - a hand-written family (Qwen ChatML, Llama-3, Llama-3.1 tools; golden-tested against
//     the real templates): the suffix text is written directly (tool_results_suffix,
//     user_message_suffix);
//   - any other template (Jinja): the whole conversation is rendered again with the
//     generation prompt (replies with their content trimmed, as parse_reply gives them) and
//     tokenized; when the tokens the sequence holds (its prompt and the reply as generated)
//     are a prefix of it, the rest is appended; when they differ only in tokenization (they
//     decode to a prefix of the rendered text: a model need not sample canonical tokens),
//     the rest of the text is appended, as the family paths do. Otherwise (the model wrote
//     its reply other than the template renders it back, or the template rewrites history,
//     e.g. Qwen3 drops an empty <think></think> or earlier reasoning) the sequence is
//     prefilled anew from the full rendering: the prefix cache serves the part that still
//     matches. Either way the KV holds the text a re-render gives.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <vector>

#include "actors/runtime.h"
#include "actors/tool_registry.h"
#include "engine/chat/chat_template.h"
#include "engine/chat/conversation.h"
#include "engine/tokenizer/tokenizer.h"

namespace agentrt::actors {

struct FirstPrompt {
  chat::Conversation conversation;  // system (if any) + user
  std::string text;
  std::vector<std::int32_t> tokens;
  // Under spec.kv_reuse blend: the token spans of spec's marked system and input text
  // (prompt_segments.h); empty under exact.
  std::vector<PromptSegment> segments;
};

// Renders the agent's first turn. Errors: an unknown tool, the template's errors, tools on
// a template without a tool-call format (unsupported: "agent 'a': the model's chat
// template has no tool-call format that agentrt parses (...); run the agent without tools").
Result<FirstPrompt> render_first_prompt(const chat::ChatTemplate& chat,
                                        const tokenizer::Tokenizer& tok, const ToolRegistry& tools,
                                        const AgentSpec& spec, const std::string& input);
Result<FirstPrompt> render_first_prompt(chat::Family family, const tokenizer::Tokenizer& tok,
                                        const ToolRegistry& tools, const AgentSpec& spec,
                                        const std::string& input);

// What continues a paused sequence.
struct NextPrompt {
  std::vector<std::int32_t> tokens;  // to append; with reprefill, the whole new prompt
  bool reprefill = false;  // the held tokens are not a prefix of the re-render: start anew
};

// conv: the conversation whose last assistant message is the reply the sequence just
// generated, followed by the messages to add (tool results, or one user message).
// held: the tokens the paused sequence holds (prompt, replies as generated with their
// end-of-turn tokens, earlier appended tokens); used on the Jinja path only. Errors: the
// template's, or (invalid_argument) no message after the last assistant message.
Result<NextPrompt> next_prompt(const chat::ChatTemplate& chat, const tokenizer::Tokenizer& tok,
                               const chat::Conversation& conv, std::span<const std::int32_t> held,
                               std::optional<bool> enable_thinking);

// Hand-written families: the text that follows a reply ending in its end-of-turn token: the
// tool responses (in call order) and the next generation prompt, exactly as the family's
// template renders them.
Result<std::string> tool_results_suffix(chat::Family family,
                                        const std::vector<std::string>& results,
                                        std::optional<bool> enable_thinking);
// Hand-written families: as tool_results_suffix, for one user message.
Result<std::string> user_message_suffix(chat::Family family, const std::string& text,
                                        std::optional<bool> enable_thinking);

}  // namespace agentrt::actors
