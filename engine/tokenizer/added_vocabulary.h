// Added tokens of an HF tokenizer (special or not): matched in the input before the
// normalizer and BPE run, leftmost-longest, honouring lstrip/rstrip/single_word.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace agentrt::tokenizer {

struct AddedToken {
  std::int32_t id = -1;
  std::string content;
  bool special = false;
  bool single_word = false;
  bool lstrip = false;
  bool rstrip = false;
  bool normalized = false;  // matched against normalized text rather than the raw input
};

// A piece of input: either plain text (id < 0) to tokenize, or one added token.
struct Segment {
  std::string_view text;
  std::int32_t id = -1;
};

class AddedVocabulary {
 public:
  // Adds a token to the set matched when `normalized` equals the token's flag.
  void add(const AddedToken& token);

  // Splits text into plain segments and added-token segments (in order; plain segments
  // are never empty). Only tokens whose `normalized` flag equals normalized are matched.
  void split(std::string_view text, bool normalized, std::vector<Segment>& out) const;

  bool empty(bool normalized) const { return tries_[normalized ? 1 : 0].nodes.size() <= 1; }

 private:
  struct Node {
    std::vector<std::pair<unsigned char, std::int32_t>> children;  // sorted by byte
    std::int32_t token = -1;  // index into tokens_ when a token ends here
  };
  struct Trie {
    std::vector<Node> nodes = std::vector<Node>(1);
  };
  // Longest token starting at text[pos] (index into tokens_ and its length), or -1.
  std::pair<std::int32_t, std::size_t> longest_at(const Trie& trie, std::string_view text,
                                                  std::size_t pos) const;
  bool word_boundary_ok(std::string_view text, std::size_t start, std::size_t end) const;

  std::vector<AddedToken> tokens_;
  Trie tries_[2];
};

}  // namespace agentrt::tokenizer
