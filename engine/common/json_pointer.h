// JSON pointers (RFC 6901): the one escaping of a reference token, for every error that
// names a place in JSON (config.json, tokenizer.json, REST bodies, checkpoints).
#pragma once

#include <string>
#include <string_view>

namespace agentrt {

// One reference token escaped: "~" -> "~0", "/" -> "~1" ("a/b" -> "a~1b").
std::string json_pointer_token(std::string_view key);

}  // namespace agentrt
