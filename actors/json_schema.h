// JSON-schema subset for tool arguments: type (string, number, integer, boolean, object,
// array, null, or a list of them), properties, required, enum, items,
// additionalProperties (bool or schema), minimum/maximum, minLength/maxLength and
// minItems/maxItems. Debian 12 has no JSON-schema validator package, and tool schemas
// use mostly this part of the standard. Other keywords are ignored, not refused: notes
// (description, title, $schema, default, examples) and constraints outside the subset
// (anyOf, oneOf, allOf, not, $ref, pattern, format, const, exclusiveMinimum, ...), which then
// go unchecked; MCP servers' inputSchemas use them. `items` may be a list (draft-07 tuples).
#pragma once

#include <string>

#include "engine/chat/conversation.h"
#include "engine/common/result.h"

namespace agentrt::actors {

// Checks that `schema` uses the subset correctly (keywords of the right JSON types).
// Errors (invalid_argument) name the keyword by JSON pointer: "/properties/x/type: ...".
Status check_schema(const chat::Json& schema);

// Validates `value` against `schema`. Errors (invalid_argument) name the first violation
// by JSON pointer into the value: "/expression: expected string, got number".
Status validate_json(const chat::Json& schema, const chat::Json& value);

}  // namespace agentrt::actors
