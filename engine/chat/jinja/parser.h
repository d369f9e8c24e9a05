// Builds the syntax tree from tokens, with the reference renderer's grammar and precedence
// (ternary < or < and < not < comparison/in < + - ~ < * / // % < ** < is < | < unary sign <
// call/member < primary).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "engine/chat/jinja/ast.h"
#include "engine/chat/jinja/lexer.h"
#include "engine/common/result.h"

namespace agentrt::chat::jinja {

// Syntax trees taller than this are refused, so evaluating one cannot exhaust the stack.
inline constexpr int kMaxTreeHeight = 128;

// Parses tokens of text (for error positions: "SOURCE:LINE:COL: message").
Result<NodePtr> parse(const std::vector<Token>& tokens, std::string_view text,
                      const std::string& source);

}  // namespace agentrt::chat::jinja
