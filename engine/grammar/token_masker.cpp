#include "engine/grammar/token_masker.h"

#include <vector>

namespace agentrt::grammar {
namespace {

void walk(const ByteTrie& trie, const MatchState& state, sampling::TokenMask& mask) {
  // states[d]: the state after the first d bytes of the current trie path.
  thread_local std::vector<MatchState> states;
  if (states.size() < trie.max_depth + 1) states.resize(trie.max_depth + 1);
  states[0].copy_from(state);
  const std::size_t n = trie.size();
  std::size_t i = 1;
  while (i < n) {
    const std::size_t d = trie.depth[i];
    MatchState& s = states[d];
    s.copy_from(states[d - 1]);
    if (s.advance(trie.byte[i])) {
      for (std::int32_t t : trie.tokens_at(i))
        mask.set(t);
      ++i;
    } else {
      i = trie.end[i];
    }
  }
}

}  // namespace

void fill_token_mask(const TokenVocabulary& vocab, const MatchState& state,
                     sampling::TokenMask& mask) {
  if (state.in_plain_string()) {
    mask.merge(vocab.string_stay());
    walk(vocab.string_exit_trie(), state, mask);
  } else {
    walk(vocab.trie(), state, mask);
  }
  if (state.complete()) {
    for (std::int32_t t : vocab.end_tokens())
      mask.set(t);
  }
}

}  // namespace agentrt::grammar
