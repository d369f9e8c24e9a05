// Checks a finished JSON text against a compiled schema (schema_compiler.h): the same
// language the constrained decoder generates, so an answer that was generated under the
// constraint passes, and one generated without it (e.g. an agent's answer after tool calls)
// is held to the same rules. No vocabulary is needed.
#pragma once

#include <string_view>

#include <nlohmann/json.hpp>

#include "engine/common/result.h"
#include "engine/grammar/schema_grammar.h"

namespace agentrt::grammar {

// Parses `text` (JSON; whitespace allowed around and between tokens) and checks that its
// compact form is a value of `grammar`. Errors: parse ("not valid JSON: ...") for text
// that does not parse (a truncated answer too), invalid_argument ("does not match the
// schema at byte N of ...") for a value the schema refuses.
Result<nlohmann::ordered_json> parse_matching(const SchemaGrammar& grammar, std::string_view text);

// Whether compact JSON `compact` is a complete value of `grammar` (no whitespace).
bool matches(const SchemaGrammar& grammar, std::string_view compact);

}  // namespace agentrt::grammar
