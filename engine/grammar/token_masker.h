// fill_token_mask: which tokens may follow a MatchState. Walks the vocabulary's byte trie
// from the state, skipping every subtree whose prefix the grammar rejects; inside a
// string's plain text it copies the precomputed tokens that stay in the string and walks
// only those that close it (XGrammar's context-independent tokens, for the JSON string
// case), which keeps the common case cheap.
#pragma once

#include "engine/grammar/matcher.h"
#include "engine/grammar/token_vocabulary.h"
#include "engine/sampling/token_mask.h"

namespace agentrt::grammar {

// Sets in `mask` (reset to at least vocab.size() ids by the caller) every token whose
// bytes `state` can advance over, and the end tokens when state.complete(). Thread-safe
// (scratch space is per thread).
void fill_token_mask(const TokenVocabulary& vocab, const MatchState& state,
                     sampling::TokenMask& mask);

}  // namespace agentrt::grammar
