#include "engine/grammar/byte_trie.h"

#include <algorithm>

namespace agentrt::grammar {

ByteTrie ByteTrie::build(const std::vector<std::string>& bytes, std::vector<std::int32_t> ids) {
  // Sorted strings make a preorder trie by appending: each string shares a prefix with the
  // previous one and adds one node per byte after it.
  std::sort(ids.begin(), ids.end(), [&](std::int32_t x, std::int32_t y) {
    const auto& a = bytes[static_cast<std::size_t>(x)];
    const auto& b = bytes[static_cast<std::size_t>(y)];
    return a != b ? a < b : x < y;
  });
  ByteTrie t;
  t.byte.push_back(0);
  t.depth.push_back(0);
  t.end.push_back(0);
  std::vector<std::uint32_t> count{0};  // tokens per node
  std::vector<std::uint32_t> path{0};   // path[d]: the node at depth d on the current string
  const std::string* prev = nullptr;
  for (std::int32_t id : ids) {
    const std::string& s = bytes[static_cast<std::size_t>(id)];
    std::size_t common = 0;
    if (prev) {
      const std::size_t n = std::min(prev->size(), s.size());
      while (common < n && (*prev)[common] == s[common])
        ++common;
    }
    // Close the subtrees below the shared prefix.
    for (std::size_t d = path.size() - 1; d > common; --d)
      t.end[path[d]] = static_cast<std::uint32_t>(t.byte.size());
    path.resize(common + 1);
    for (std::size_t d = common; d < s.size(); ++d) {
      path.push_back(static_cast<std::uint32_t>(t.byte.size()));
      t.byte.push_back(static_cast<std::uint8_t>(s[d]));
      t.depth.push_back(static_cast<std::uint16_t>(d + 1));
      t.end.push_back(0);
      count.push_back(0);
    }
    ++count[path.back()];
    t.tokens.push_back(id);
    t.max_depth = std::max(t.max_depth, s.size());
    prev = &s;
  }
  for (std::uint32_t node : path)
    t.end[node] = static_cast<std::uint32_t>(t.byte.size());
  // Tokens were appended in preorder of their nodes, so prefix sums index them.
  t.token_begin.resize(t.byte.size() + 1);
  std::uint32_t sum = 0;
  for (std::size_t i = 0; i < t.byte.size(); ++i) {
    t.token_begin[i] = sum;
    sum += count[i];
  }
  t.token_begin.back() = sum;
  return t;
}

}  // namespace agentrt::grammar
