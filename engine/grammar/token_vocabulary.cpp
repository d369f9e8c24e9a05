#include "engine/grammar/token_vocabulary.h"

#include <algorithm>

#include "engine/grammar/matcher.h"
#include "engine/grammar/schema_compiler.h"

namespace agentrt::grammar {

TokenVocabulary::TokenVocabulary(std::vector<std::string> bytes,
                                 std::vector<std::int32_t> end_tokens)
    : bytes_(std::move(bytes)), end_tokens_(std::move(end_tokens)) {
  std::vector<std::int32_t> all, exits;
  string_stay_.reset(bytes_.size());
  // A bare string grammar, entered past its opening quote: the plain-text state.
  const auto string_grammar = compile_schema(nlohmann::ordered_json{{"type", "string"}});
  MatchState in_string(**string_grammar);
  (void)in_string.advance('"');
  for (std::size_t i = 0; i < bytes_.size(); ++i) {
    const auto id = static_cast<std::int32_t>(i);
    if (bytes_[i].size() > UINT16_MAX) bytes_[i].clear();  // the trie counts depth in 16 bits
    if (bytes_[i].empty() || is_end(id)) continue;
    all.push_back(id);
    MatchState s = in_string;
    bool refused = false;
    for (char c : bytes_[i]) {
      if (!s.advance(static_cast<std::uint8_t>(c))) {
        refused = true;
        break;
      }
      if (s.depth() == 0) break;  // closed: what follows depends on the container
    }
    if (s.depth() == 0) {
      exits.push_back(id);
    } else if (!refused) {
      string_stay_.set(id);
    }
  }
  all_ = ByteTrie::build(bytes_, std::move(all));
  string_exit_ = ByteTrie::build(bytes_, std::move(exits));
}

bool TokenVocabulary::is_end(std::int32_t id) const {
  return std::find(end_tokens_.begin(), end_tokens_.end(), id) != end_tokens_.end();
}

Result<std::shared_ptr<const TokenVocabulary>> TokenVocabulary::from_tokenizer(
    const tokenizer::Tokenizer& tok, std::vector<std::int32_t> end_tokens) {
  if (end_tokens.empty()) {
    if (auto eos = tok.eos_id()) end_tokens.push_back(*eos);
  }
  if (end_tokens.empty()) {
    return make_error(ErrorCode::invalid_argument,
                      tok.name() + ": no end token for constrained output (no EOS id)");
  }
  const std::int32_t n = tok.vocab_size();
  std::vector<std::string> bytes(static_cast<std::size_t>(n));
  for (std::int32_t id = 0; id < n; ++id) {
    if (tok.is_special(id)) continue;
    const std::int32_t one[] = {id};
    if (!tok.decode_bytes(one, false, bytes[static_cast<std::size_t>(id)]).ok()) {
      bytes[static_cast<std::size_t>(id)].clear();  // a hole in the id range
    }
  }
  return std::make_shared<const TokenVocabulary>(std::move(bytes), std::move(end_tokens));
}

}  // namespace agentrt::grammar
