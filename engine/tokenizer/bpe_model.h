// Byte-pair-encoding model of an HF tokenizer.json ("model": {"type": "BPE"}): vocabulary,
// ranked merges, and the merge loop with a bounded cache of results per pre-token.
#pragma once

#include <algorithm>
#include <cstdint>
#include <iterator>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "engine/common/result.h"

namespace agentrt::tokenizer {

// Ids above this are rejected: vocabularies are dense, and a huge id would allocate a huge table.
inline constexpr std::int32_t kMaxTokenId = (1 << 24) - 1;

class BpeModel {
 public:
  struct Options {
    bool ignore_merges = false;            // a piece that is itself in the vocab is emitted whole
    std::size_t cache_capacity = 1 << 16;  // pieces cached; 0 disables the cache
    bool byte_fallback = false;  // a char missing from the vocab becomes its <0xXX> byte tokens
    std::int32_t unk_id = -1;    // id emitted for a char that is still unknown; -1: dropped
    bool fuse_unk = false;       // consecutive unknown chars share one unk id
  };

  BpeModel() { std::fill(std::begin(byte_ids_), std::end(byte_ids_), -1); }

  // Adds a vocabulary entry. Fails when the id is negative or above kMaxTokenId, or the
  // token or id is already taken.
  Status add_token(std::string token, std::int32_t id);
  // Appends the next merge (rank = merges added so far). Fails when either side or their
  // concatenation is not in the vocabulary (message names the missing token).
  Status add_merge(std::string_view left, std::string_view right);
  void set_options(Options options) { options_ = options; }

  // Appends the ids of one pre-token to out. A character missing from the vocabulary becomes
  // its byte tokens (byte_fallback, when all of "<0xXX>" exist), else unk_id (fused with its
  // unknown neighbours under fuse_unk), else is dropped, as HF's BPE does. Thread-safe.
  void encode_piece(std::string_view piece, std::vector<std::int32_t>& out) const;

  // Returns the id of token, or -1.
  std::int32_t find(std::string_view token) const;
  // Returns the token of id, or nullptr when id is not in the vocabulary.
  const std::string* token(std::int32_t id) const;
  std::int32_t max_id() const { return static_cast<std::int32_t>(id_to_token_.size()) - 1; }
  std::size_t size() const { return vocab_.size(); }

 private:
  struct Merge {
    std::int32_t rank, new_id;
  };
  struct StringHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  using Vocab = std::unordered_map<std::string, std::int32_t, StringHash, std::equal_to<>>;
  using Cache =
      std::unordered_map<std::string, std::vector<std::int32_t>, StringHash, std::equal_to<>>;

  static std::uint64_t pair_key(std::int32_t a, std::int32_t b) {
    return (static_cast<std::uint64_t>(static_cast<std::uint32_t>(a)) << 32) |
           static_cast<std::uint32_t>(b);
  }
  void merge_word(std::string_view piece, std::vector<std::int32_t>& out) const;

  Options options_;
  Vocab vocab_;
  std::vector<std::string> id_to_token_;
  std::vector<bool> has_id_;
  std::int32_t byte_ids_[256];  // id of "<0xXX>" per byte, -1 when absent (byte_fallback)
  std::unordered_map<std::uint64_t, Merge> merges_;
  // Mutable cache of merge results (guarded by cache_mutex_).
  mutable std::unique_ptr<std::mutex> cache_mutex_ = std::make_unique<std::mutex>();
  mutable Cache cache_;
};

}  // namespace agentrt::tokenizer
