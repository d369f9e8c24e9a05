#include "engine/grammar/schema_match.h"

#include <string>

#include "engine/grammar/matcher.h"

namespace agentrt::grammar {
namespace {

// Where the compact text stops matching: its length when it all matches but is incomplete.
std::size_t first_mismatch(const SchemaGrammar& grammar, std::string_view compact) {
  MatchState state(grammar);
  for (std::size_t i = 0; i < compact.size(); ++i) {
    if (!state.advance(static_cast<std::uint8_t>(compact[i]))) return i;
  }
  return compact.size();
}

}  // namespace

bool matches(const SchemaGrammar& grammar, std::string_view compact) {
  MatchState state(grammar);
  return state.advance(compact) && state.complete();
}

Result<nlohmann::ordered_json> parse_matching(const SchemaGrammar& grammar, std::string_view text) {
  nlohmann::ordered_json value;
  try {
    value = nlohmann::ordered_json::parse(text.begin(), text.end());
  } catch (const nlohmann::json::exception& e) {
    std::string what = e.what();  // "[json.exception.parse_error.101] parse error at ..."
    if (what.rfind("[json.exception.", 0) == 0 && what.find("] ") != std::string::npos)
      what = what.substr(what.find("] ") + 2);
    return make_error(ErrorCode::parse, "not valid JSON: " + what);
  }
  const std::string compact =
      value.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
  if (matches(grammar, compact)) return value;
  const std::size_t at = first_mismatch(grammar, compact);
  std::string shown = compact.size() > 200 ? compact.substr(0, 200) + "..." : compact;
  return make_error(ErrorCode::invalid_argument,
                    at >= compact.size() ? "does not match the schema: " + shown + " is incomplete"
                                         : "does not match the schema at byte " +
                                               std::to_string(at) + " of " + shown);
}

}  // namespace agentrt::grammar
