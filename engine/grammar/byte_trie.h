// ByteTrie: the byte strings of a set of tokens as a trie laid out in preorder, so a walk
// that skips a rejected subtree jumps to `end` and the whole walk is one forward pass.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace agentrt::grammar {

struct ByteTrie {
  // Node 0 is the root (the empty string). Node i > 0 extends its parent by byte[i], sits
  // at depth[i] (its string's length), owns nodes [i + 1, end[i]) as its subtree, and
  // ends the tokens tokens[token_begin[i] .. token_begin[i + 1]).
  std::vector<std::uint8_t> byte;
  std::vector<std::uint16_t> depth;
  std::vector<std::uint32_t> end;
  std::vector<std::uint32_t> token_begin;  // one entry per node, plus a final one
  std::vector<std::int32_t> tokens;
  std::size_t max_depth = 0;

  std::size_t size() const { return byte.size(); }
  std::span<const std::int32_t> tokens_at(std::size_t node) const {
    return std::span<const std::int32_t>(tokens).subspan(token_begin[node],
                                                         token_begin[node + 1] - token_begin[node]);
  }

  // The trie of token ids `ids` (bytes[id] each, non-empty, at most 65535 bytes).
  static ByteTrie build(const std::vector<std::string>& bytes, std::vector<std::int32_t> ids);
};

}  // namespace agentrt::grammar
