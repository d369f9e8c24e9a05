// TokenVocabulary: the byte string of every token id of one tokenizer, with the tries and
// tables the token mask walks. Built once per tokenizer (about 0.1-0.3 s for 150k ids) and
// shared by every constrained request of its model; immutable, safe from any thread.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "engine/common/result.h"
#include "engine/grammar/byte_trie.h"
#include "engine/sampling/token_mask.h"
#include "engine/tokenizer/tokenizer.h"

namespace agentrt::grammar {

class TokenVocabulary {
 public:
  // From `bytes[id]`, the output bytes of each id; an empty string marks an id that is
  // never allowed (special tokens, holes). `end_tokens` end the output (EOS ids).
  TokenVocabulary(std::vector<std::string> bytes, std::vector<std::int32_t> end_tokens);

  // Every id of `tok`: special tokens are never allowed except `end_tokens` (by default the
  // tokenizer's EOS id). Errors when no end token is given or known.
  static Result<std::shared_ptr<const TokenVocabulary>> from_tokenizer(
      const tokenizer::Tokenizer& tok, std::vector<std::int32_t> end_tokens = {});

  std::int32_t size() const { return static_cast<std::int32_t>(bytes_.size()); }
  const std::string& bytes(std::int32_t id) const { return bytes_[static_cast<std::size_t>(id)]; }
  std::span<const std::int32_t> end_tokens() const { return end_tokens_; }
  bool is_end(std::int32_t id) const;

  // Every id with bytes.
  const ByteTrie& trie() const { return all_; }
  // From inside a string's plain text (MatchState::in_plain_string), each token either
  // stays inside the string, which does not depend on what holds the string, or closes it
  // and goes on, which does (or is refused outright). The ids that stay:
  const sampling::TokenMask& string_stay() const { return string_stay_; }
  // The ids that close the string: the mask walks only these from inside a string.
  const ByteTrie& string_exit_trie() const { return string_exit_; }

 private:
  std::vector<std::string> bytes_;
  std::vector<std::int32_t> end_tokens_;
  ByteTrie all_;
  ByteTrie string_exit_;
  sampling::TokenMask string_stay_;
};

}  // namespace agentrt::grammar
