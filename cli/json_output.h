// JSON on the CLI's stdout. Text from a run (inputs, outputs, names, paths) need not be valid
// UTF-8; serialising it must never throw and lose the results, so invalid bytes become U+FFFD.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace agentrt::cli {

// One line of compact JSON; invalid UTF-8 in any string is replaced, never an exception.
std::string dump_json(const nlohmann::json& j);

// `text` parsed as JSON when it is valid JSON, null when empty, else the text itself as a
// JSON string (a conversation log that is not valid JSON is still shown).
nlohmann::json json_or_text(const std::string& text);

}  // namespace agentrt::cli
