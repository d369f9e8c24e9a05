#include "engine/tokenizer/bpe_model.h"

#include <algorithm>

#include "engine/tokenizer/utf8.h"

namespace agentrt::tokenizer {
namespace {

struct Symbol {
  std::int32_t id;
  std::int32_t prev, next;  // indices into the symbol list, -1 at the ends
  bool alive;
};

// A candidate merge of symbols[pos] with its right neighbour. Popped lowest rank first, then
// leftmost, as HF's BPE word merge does.
struct Candidate {
  std::int32_t rank, pos, new_id;
  bool operator>(const Candidate& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
};

// Scratch buffers reused across calls on one thread: no allocation in the steady state.
struct Scratch {
  std::vector<Symbol> symbols;
  std::vector<Candidate> heap;
};
thread_local Scratch scratch;

constexpr std::size_t kMaxCachedPieceBytes = 256;

// The byte of a "<0xXX>" vocabulary entry (HF spells them with format!("<{:#04X}>", b)), or -1.
int byte_token_value(std::string_view token) {
  if (token.size() != 6 || !token.starts_with("<0x") || token[5] != '>') return -1;
  int value = 0;
  for (char c : token.substr(3, 2)) {
    if (c >= '0' && c <= '9') {
      value = value * 16 + (c - '0');
    } else if (c >= 'A' && c <= 'F') {
      value = value * 16 + (c - 'A' + 10);
    } else {
      return -1;
    }
  }
  return value;
}

}  // namespace

Status BpeModel::add_token(std::string token, std::int32_t id) {
  if (id < 0) return make_error(ErrorCode::parse, "id " + std::to_string(id) + " is negative");
  if (id > kMaxTokenId)
    return make_error(ErrorCode::unsupported, "id " + std::to_string(id) + " is too large (max " +
                                                  std::to_string(kMaxTokenId) + ")");
  if (static_cast<std::size_t>(id) >= id_to_token_.size()) {
    id_to_token_.resize(static_cast<std::size_t>(id) + 1);
    has_id_.resize(static_cast<std::size_t>(id) + 1, false);
  }
  if (has_id_[static_cast<std::size_t>(id)])
    return make_error(ErrorCode::parse, "id " + std::to_string(id) + " is used twice");
  auto [it, inserted] = vocab_.emplace(token, id);
  if (!inserted) return make_error(ErrorCode::parse, "token '" + token + "' appears twice");
  if (const int b = byte_token_value(token); b >= 0) byte_ids_[b] = id;
  id_to_token_[static_cast<std::size_t>(id)] = std::move(token);
  has_id_[static_cast<std::size_t>(id)] = true;
  return ok_status();
}

Status BpeModel::add_merge(std::string_view left, std::string_view right) {
  const std::int32_t a = find(left), b = find(right);
  if (a < 0)
    return make_error(ErrorCode::parse, "token '" + std::string(left) + "' is not in the vocab");
  if (b < 0)
    return make_error(ErrorCode::parse, "token '" + std::string(right) + "' is not in the vocab");
  std::string joined;
  joined.reserve(left.size() + right.size());
  joined.append(left).append(right);
  const std::int32_t merged = find(joined);
  if (merged < 0)
    return make_error(ErrorCode::parse, "merged token '" + joined + "' is not in the vocab");
  // A repeated merge keeps its first (best) rank, as HF does.
  merges_.emplace(pair_key(a, b), Merge{static_cast<std::int32_t>(merges_.size()), merged});
  return ok_status();
}

std::int32_t BpeModel::find(std::string_view token) const {
  auto it = vocab_.find(token);
  return it == vocab_.end() ? -1 : it->second;
}

const std::string* BpeModel::token(std::int32_t id) const {
  if (id < 0 || static_cast<std::size_t>(id) >= id_to_token_.size() ||
      !has_id_[static_cast<std::size_t>(id)])
    return nullptr;
  return &id_to_token_[static_cast<std::size_t>(id)];
}

void BpeModel::encode_piece(std::string_view piece, std::vector<std::int32_t>& out) const {
  if (piece.empty()) return;
  if (options_.ignore_merges) {
    if (const std::int32_t id = find(piece); id >= 0) {
      out.push_back(id);
      return;
    }
  }
  const bool cacheable = options_.cache_capacity > 0 && piece.size() <= kMaxCachedPieceBytes;
  if (cacheable) {
    std::lock_guard lock(*cache_mutex_);
    if (auto it = cache_.find(piece); it != cache_.end()) {
      out.insert(out.end(), it->second.begin(), it->second.end());
      return;
    }
  }
  const std::size_t start = out.size();
  merge_word(piece, out);
  if (cacheable) {
    std::lock_guard lock(*cache_mutex_);
    if (cache_.size() < options_.cache_capacity)
      cache_.emplace(
          std::string(piece),
          std::vector<std::int32_t>(out.begin() + static_cast<std::ptrdiff_t>(start), out.end()));
  }
}

void BpeModel::merge_word(std::string_view piece, std::vector<std::int32_t>& out) const {
  auto& symbols = scratch.symbols;
  auto& heap = scratch.heap;
  symbols.clear();
  heap.clear();
  auto add = [&](std::int32_t id) {
    const auto idx = static_cast<std::int32_t>(symbols.size());
    symbols.push_back({id, idx - 1, -1, true});
    if (idx > 0) symbols[static_cast<std::size_t>(idx - 1)].next = idx;
  };
  bool unk_pending = false;  // HF holds an unknown char back to fuse it with the next ones
  for (std::size_t i = 0; i < piece.size();) {
    char32_t cp = 0;
    std::size_t n = utf8::decode(piece, i, &cp);
    if (n == 0) n = 1;
    const std::string_view ch = piece.substr(i, n);
    i += n;
    if (const std::int32_t id = find(ch); id >= 0) {
      if (unk_pending) add(options_.unk_id);
      unk_pending = false;
      add(id);
      continue;
    }
    if (options_.byte_fallback && std::all_of(ch.begin(), ch.end(), [&](char c) {
          return byte_ids_[static_cast<unsigned char>(c)] >= 0;
        })) {
      // HF leaves a pending unk pending here, so it lands after these bytes.
      for (char c : ch)
        add(byte_ids_[static_cast<unsigned char>(c)]);
      continue;
    }
    if (options_.unk_id < 0) continue;  // no unk_token: HF drops the character
    if (unk_pending && !options_.fuse_unk) add(options_.unk_id);
    unk_pending = true;
  }
  if (unk_pending) add(options_.unk_id);
  auto push_pair = [&](std::int32_t pos) {
    const Symbol& s = symbols[static_cast<std::size_t>(pos)];
    if (s.next < 0) return;
    auto it = merges_.find(pair_key(s.id, symbols[static_cast<std::size_t>(s.next)].id));
    if (it == merges_.end()) return;
    heap.push_back({it->second.rank, pos, it->second.new_id});
    std::push_heap(heap.begin(), heap.end(), std::greater<>{});
  };
  for (std::size_t i = 0; i + 1 < symbols.size(); ++i)
    push_pair(static_cast<std::int32_t>(i));
  while (!heap.empty()) {
    std::pop_heap(heap.begin(), heap.end(), std::greater<>{});
    const Candidate top = heap.back();
    heap.pop_back();
    Symbol& left = symbols[static_cast<std::size_t>(top.pos)];
    if (!left.alive || left.next < 0) continue;
    Symbol& right = symbols[static_cast<std::size_t>(left.next)];
    auto it = merges_.find(pair_key(left.id, right.id));
    if (it == merges_.end() || it->second.new_id != top.new_id) continue;  // stale entry
    left.id = top.new_id;
    right.alive = false;
    left.next = right.next;
    if (right.next >= 0) symbols[static_cast<std::size_t>(right.next)].prev = top.pos;
    if (left.prev >= 0) push_pair(left.prev);
    push_pair(top.pos);
  }
  for (const Symbol& s : symbols)
    if (s.alive) out.push_back(s.id);
}

}  // namespace agentrt::tokenizer
