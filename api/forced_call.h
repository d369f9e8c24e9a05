// The grammar of a forced tool call (tool_choice required or named): the call's JSON follows
// the named tool's parameters schema, or one of the request's tools' for required, written
// in the model's call format after an opening the prompt holds, then the format's closing.
// So a forced call always parses and its arguments always validate.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "api/body/openai_request.h"
#include "engine/chat/chat_template.h"
#include "engine/grammar/token_vocabulary.h"
#include "engine/sampling/constraint.h"

namespace agentrt::api {

struct ForcedCall {
  std::string open;  // appended to the prompt: "<tool_call>\n" (hermes), "[TOOL_CALLS][" ...
  std::shared_ptr<const sampling::Constraint> constraint;  // the call's JSON, then the closing
};

// nullopt when choice is neither required nor named, when the format's calls are not plain
// JSON objects (harmony, none), or when a tool's parameters use a keyword the grammar does
// not support (the call is then forced by its opening only, its arguments unconstrained).
std::optional<ForcedCall> forced_call(chat::ToolCallFormat format, const ToolChoice& choice,
                                      const std::vector<chat::ToolDefinition>& tools,
                                      std::shared_ptr<const grammar::TokenVocabulary> vocab);

}  // namespace agentrt::api
