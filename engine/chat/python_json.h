// JSON text exactly as Python's json.dumps(x, ensure_ascii=False) writes it: ", " and ": "
// separators, keys in the given order, non-ASCII characters as they are. This is what the
// `tojson` filter of transformers' chat templates produces. Both writers are iterative: a
// value of any depth is written without growing the call stack.
#pragma once

#include <string>

#include "engine/chat/conversation.h"

namespace agentrt::chat {

// Serialises value like Python's json.dumps(value, ensure_ascii=False).
std::string to_python_json(const Json& value);
// Serialises value like json.dumps(value, ensure_ascii=False, indent=indent): one item per
// line, indented by `indent` spaces a level (the `tojson(indent=4)` of Llama's templates).
std::string to_python_json(const Json& value, int indent);

}  // namespace agentrt::chat
