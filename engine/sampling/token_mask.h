// TokenMask: one bit per vocabulary id, set for the tokens a sequence may sample next.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace agentrt::sampling {

class TokenMask {
 public:
  // Sizes the mask to `size` ids, all cleared.
  void reset(std::size_t size) {
    size_ = size;
    words_.assign((size + 63) / 64, 0);
  }
  std::size_t size() const { return size_; }
  // Ids at or past size() are ignored by set() and read as false by test().
  void set(std::int64_t id) {
    if (id >= 0 && static_cast<std::size_t>(id) < size_) {
      words_[static_cast<std::size_t>(id) >> 6] |= 1ull << (id & 63);
    }
  }
  bool test(std::int64_t id) const {
    return id >= 0 && static_cast<std::size_t>(id) < size_ &&
           ((words_[static_cast<std::size_t>(id) >> 6] >> (id & 63)) & 1u);
  }
  // Sets every id that is set in `other`, a mask of the same size.
  void merge(const TokenMask& other) {
    const std::size_t n = std::min(words_.size(), other.words_.size());
    for (std::size_t i = 0; i < n; ++i)
      words_[i] |= other.words_[i];
  }
  bool any() const {
    return std::any_of(words_.begin(), words_.end(), [](std::uint64_t w) { return w != 0; });
  }
  std::size_t count() const {
    std::size_t n = 0;
    for (std::uint64_t w : words_)
      n += static_cast<std::size_t>(__builtin_popcountll(w));
    return n;
  }
  const std::vector<std::uint64_t>& words() const { return words_; }

 private:
  std::size_t size_ = 0;
  std::vector<std::uint64_t> words_;
};

}  // namespace agentrt::sampling
