// JSON text exactly as Python's json.dumps(x, ensure_ascii=False) writes it: ", " and ": "
// separators, keys in the given order, non-ASCII characters as they are. This is what the
// `tojson` filter of transformers' chat templates produces.
#pragma once

#include <string>

#include "engine/chat/conversation.h"

namespace agentrt::chat {

// Serialises value like Python's json.dumps(value, ensure_ascii=False).
std::string to_python_json(const Json& value);

}  // namespace agentrt::chat
