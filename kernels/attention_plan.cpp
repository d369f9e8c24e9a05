// Host planning of the attention work split: tiles of query rows per (chunk, kv head) and,
// for short work lists over long contexts, key-range splits combined afterwards.
#include <algorithm>

#include "kernels/attention.h"

namespace agentrt::kernels {
namespace {

constexpr int kKeyTile = 64;        // keys per tile in the tensor-core kernel
constexpr int kMinSplitKeys = 256;  // a split below this costs more to combine than it saves
constexpr int kMaxSplits = 32;
// Fixed cost of a CTA (Q load, pipeline fill, write-out) and of a split's combine, in key
// tiles' worth of streaming: rough, they only break near-ties between split counts.
constexpr int kCtaCostTiles = 2;
constexpr int kCombineCostTiles = 1;

struct Tile {
  int chunk, kv_head, row_begin, rows, kv_len;
  bool tall;
};

}  // namespace

int decode_wave_splits(int tiles, int longest, int slots) {
  const int key_tiles = (longest + kKeyTile - 1) / kKeyTile;
  const int max_splits = std::max(1, std::min(kMaxSplits, longest / kMinSplitKeys));
  int best = 1;
  long long best_cost = -1;
  for (int s = 1; s <= max_splits; ++s) {
    const int per = (key_tiles + s - 1) / s;
    const int n = (key_tiles + per - 1) / per;
    const long long ctas = static_cast<long long>(tiles) * n;
    const long long waves = (ctas + slots - 1) / slots;
    const long long cost = waves * (per + kCtaCostTiles) + (n > 1 ? kCombineCostTiles : 0);
    if (best_cost < 0 || cost < best_cost) {
      best = s;
      best_cost = cost;
    }
  }
  return best;
}

AttentionPlan plan_attention(const std::vector<AttnChunk>& chunks, int num_heads, int num_kv_heads,
                             int target_ctas, int decode_slots) {
  const int group = num_heads / num_kv_heads;
  std::vector<Tile> tiles;
  for (std::size_t c = 0; c < chunks.size(); ++c) {
    const AttnChunk& ch = chunks[c];
    const int rows = ch.count * group;
    const bool tall = rows > 16;
    const int tile = tall ? kTallRows : 16;
    for (int h = 0; h < num_kv_heads; ++h) {
      for (int r = 0; r < rows; r += tile) {
        const int last_token = std::min(rows, r + tile) - 1;
        const int kv_len = ch.start_pos + last_token / group + 1;
        tiles.push_back({static_cast<int>(c), h, r, std::min(tile, rows - r), kv_len, tall});
      }
    }
  }
  int splits = 1;
  const bool all_decode =
      std::none_of(tiles.begin(), tiles.end(), [](const Tile& t) { return t.tall; });
  int longest = 0;
  for (const Tile& t : tiles)
    longest = std::max(longest, t.kv_len);
  if (decode_slots > 0 && all_decode && !tiles.empty() &&
      static_cast<int>(tiles.size()) < decode_slots) {
    splits = decode_wave_splits(static_cast<int>(tiles.size()), longest, decode_slots);
  } else if (static_cast<int>(tiles.size()) < target_ctas) {
    const int want = (target_ctas + static_cast<int>(tiles.size()) - 1) /
                     std::max<int>(1, static_cast<int>(tiles.size()));
    splits = std::max(1, std::min(want, longest / kMinSplitKeys));
  }
  AttentionPlan plan;
  for (const Tile& t : tiles) {
    auto& work = t.tall ? plan.work_tall : plan.work16;
    int& partials = t.tall ? plan.partials_tall : plan.partials16;
    // Splits of whole key tiles; a short range gets fewer.
    const int tiles_of_keys = (t.kv_len + kKeyTile - 1) / kKeyTile;
    const int s = std::max(1, std::min(splits, t.kv_len / kMinSplitKeys));
    const int per = (tiles_of_keys + s - 1) / s * kKeyTile;
    const int n = (t.kv_len + per - 1) / per;
    if (n == 1) {
      work.push_back({t.chunk, t.kv_head, t.row_begin, 0, t.kv_len, -1});
      continue;
    }
    (t.tall ? plan.combine_tall : plan.combine16)
        .push_back({t.chunk, t.kv_head, t.row_begin, partials, n});
    for (int i = 0; i < n; ++i) {
      work.push_back({t.chunk, t.kv_head, t.row_begin, i * per, std::min(t.kv_len, (i + 1) * per),
                      partials + i});
    }
    partials += n;
  }
  return plan;
}

AttentionPlan plan_attention_fixed(const std::vector<AttnChunk>& chunks, int num_kv_heads,
                                   int splits) {
  AttentionPlan plan;
  for (std::size_t c = 0; c < chunks.size(); ++c) {
    const int kv_len = chunks[c].start_pos + chunks[c].count;
    const int key_tiles = (kv_len + kKeyTile - 1) / kKeyTile;
    const int per = (key_tiles + splits - 1) / splits * kKeyTile;
    for (int h = 0; h < num_kv_heads; ++h) {
      const int chunk = static_cast<int>(c);
      if (splits == 1) {
        plan.work16.push_back({chunk, h, 0, 0, kv_len, -1});
        continue;
      }
      plan.combine16.push_back({chunk, h, 0, plan.partials16, splits});
      for (int i = 0; i < splits; ++i) {
        const int begin = std::min(kv_len, i * per), end = std::min(kv_len, (i + 1) * per);
        plan.work16.push_back({chunk, h, 0, begin, end, plan.partials16 + i});
      }
      plan.partials16 += splits;
    }
  }
  return plan;
}

}  // namespace agentrt::kernels
