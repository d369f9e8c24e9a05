#include "engine/tokenizer/added_vocabulary.h"

#include <algorithm>
#include <cctype>

namespace agentrt::tokenizer {
namespace {

bool is_space(unsigned char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}
// Word characters for single_word: ASCII alphanumerics and '_' plus any non-ASCII byte.
bool is_word_byte(unsigned char c) {
  return std::isalnum(c) != 0 || c == '_' || c >= 0x80;
}

}  // namespace

void AddedVocabulary::add(const AddedToken& token) {
  if (token.content.empty()) return;
  Trie& trie = tries_[token.normalized ? 1 : 0];
  std::int32_t node = 0;
  for (char ch : token.content) {
    const auto c = static_cast<unsigned char>(ch);
    auto& kids = trie.nodes[static_cast<std::size_t>(node)].children;
    auto it =
        std::lower_bound(kids.begin(), kids.end(), std::pair<unsigned char, std::int32_t>{c, -1});
    if (it != kids.end() && it->first == c) {
      node = it->second;
      continue;
    }
    const auto next = static_cast<std::int32_t>(trie.nodes.size());
    kids.insert(it, {c, next});
    trie.nodes.emplace_back();
    node = next;
  }
  Node& end = trie.nodes[static_cast<std::size_t>(node)];
  if (end.token >= 0) {
    tokens_[static_cast<std::size_t>(end.token)] = token;  // a later duplicate wins
  } else {
    end.token = static_cast<std::int32_t>(tokens_.size());
    tokens_.push_back(token);
  }
}

std::pair<std::int32_t, std::size_t> AddedVocabulary::longest_at(const Trie& trie,
                                                                 std::string_view text,
                                                                 std::size_t pos) const {
  std::pair<std::int32_t, std::size_t> best{-1, 0};
  std::int32_t node = 0;
  for (std::size_t i = pos; i < text.size(); ++i) {
    const auto& kids = trie.nodes[static_cast<std::size_t>(node)].children;
    const auto c = static_cast<unsigned char>(text[i]);
    auto it =
        std::lower_bound(kids.begin(), kids.end(), std::pair<unsigned char, std::int32_t>{c, -1});
    if (it == kids.end() || it->first != c) break;
    node = it->second;
    const std::int32_t tok = trie.nodes[static_cast<std::size_t>(node)].token;
    if (tok >= 0) best = {tok, i + 1 - pos};
  }
  return best;
}

bool AddedVocabulary::word_boundary_ok(std::string_view text, std::size_t start,
                                       std::size_t end) const {
  const bool left = start == 0 || !is_word_byte(static_cast<unsigned char>(text[start - 1]));
  const bool right = end >= text.size() || !is_word_byte(static_cast<unsigned char>(text[end]));
  return left && right;
}

void AddedVocabulary::split(std::string_view text, bool normalized,
                            std::vector<Segment>& out) const {
  const Trie& trie = tries_[normalized ? 1 : 0];
  if (trie.nodes.size() <= 1) {
    if (!text.empty()) out.push_back({text, -1});
    return;
  }
  const auto& root = trie.nodes[0].children;
  std::size_t plain_start = 0;
  for (std::size_t pos = 0; pos < text.size();) {
    const auto c = static_cast<unsigned char>(text[pos]);
    auto first =
        std::lower_bound(root.begin(), root.end(), std::pair<unsigned char, std::int32_t>{c, -1});
    if (first == root.end() || first->first != c) {
      ++pos;
      continue;
    }
    auto [tok, len] = longest_at(trie, text, pos);
    const AddedToken* t = tok >= 0 ? &tokens_[static_cast<std::size_t>(tok)] : nullptr;
    if (t == nullptr || (t->single_word && !word_boundary_ok(text, pos, pos + len))) {
      ++pos;
      continue;
    }
    std::size_t start = pos, end = pos + len;
    if (t->lstrip)
      while (start > plain_start && is_space(static_cast<unsigned char>(text[start - 1])))
        --start;
    if (t->rstrip)
      while (end < text.size() && is_space(static_cast<unsigned char>(text[end])))
        ++end;
    if (start > plain_start) out.push_back({text.substr(plain_start, start - plain_start), -1});
    out.push_back({text.substr(start, end - start), t->id});
    pos = plain_start = end;
  }
  if (plain_start < text.size()) out.push_back({text.substr(plain_start), -1});
}

}  // namespace agentrt::tokenizer
