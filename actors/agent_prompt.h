// Prompt building for the agent actor: the first turn's rendered prompt, and the tokens
// a tool round appends to a paused sequence (the "append" shape: the reply as generated,
// the tool responses, a new generation prompt), so only those tokens are prefilled.
#pragma once

#include <optional>
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
};

// Renders the agent's first turn. Errors: an unknown tool, the template's errors.
Result<FirstPrompt> render_first_prompt(chat::Family family, const tokenizer::Tokenizer& tok,
                                        const ToolRegistry& tools, const AgentSpec& spec,
                                        const std::string& input);

// Text that follows a reply ending in its end-of-turn token: the tool responses (in call
// order) and the next generation prompt, exactly as the family's template renders them.
// Errors (unsupported): a family without tool messages.
Result<std::string> tool_results_suffix(chat::Family family,
                                        const std::vector<std::string>& results,
                                        std::optional<bool> enable_thinking);

}  // namespace agentrt::actors
