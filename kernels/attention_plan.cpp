// Host planning of the attention work split: tiles of query rows per (chunk, kv head) and,
// for short work lists over long contexts, key-range splits combined afterwards.
#include <algorithm>
#include <utility>

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

std::vector<SharedPrefix> find_shared_prefixes(const std::vector<AttnChunk>& chunks,
                                               const std::vector<std::int32_t>& tables,
                                               int block_size, int group) {
  std::vector<SharedPrefix> runs;
  if (group > 16 || block_size <= 0) return runs;
  const std::size_t n = chunks.size();
  std::size_t c = 0;
  while (c < n) {
    if (chunks[c].count != 1) {
      ++c;
      continue;
    }
    // Blocks strictly before the decode position: the token's own block is private.
    int common = chunks[c].start_pos / block_size;
    std::size_t e = c + 1;
    for (; e < n && chunks[e].count == 1 && chunks[e].row0 == chunks[e - 1].row0 + 1; ++e) {
      const int limit = std::min(common, chunks[e].start_pos / block_size);
      const std::int32_t* a = tables.data() + chunks[c].table_offset;
      const std::int32_t* b = tables.data() + chunks[e].table_offset;
      int lcp = 0;
      while (lcp < limit && a[lcp] == b[lcp])
        ++lcp;
      if (lcp * block_size < kMinCascadeKeys || 2 * lcp < common) break;
      common = lcp;
    }
    const int seqs = static_cast<int>(e - c);
    if (seqs >= kMinCascadeSeqs && common * block_size >= kMinCascadeKeys) {
      runs.push_back({static_cast<int>(c), seqs, common * block_size});
      c = e;
    } else {
      ++c;
    }
  }
  return runs;
}

namespace {

// Key ranges of whole key tiles over [begin, end), at most `splits` of them.
std::vector<std::pair<int, int>> key_ranges(int begin, int end, int splits) {
  const int key_tiles = (end - begin + kKeyTile - 1) / kKeyTile;
  const int per = (key_tiles + splits - 1) / splits * kKeyTile;
  std::vector<std::pair<int, int>> out;
  for (int k = begin; k < end; k += per)
    out.emplace_back(k, std::min(end, k + per));
  return out;
}

}  // namespace

int cascade_prefix_splits(const SharedPrefix& sp, int group, int num_kv_heads, int tall_slots) {
  const int per_tile = kTallRows / group;
  const int tiles = (sp.seqs + per_tile - 1) / per_tile * num_kv_heads;
  const int one_wave = std::max(1, tall_slots) / tiles;
  return std::max(1, std::min({one_wave, kMaxSplits, std::max(1, sp.prefix_len / kMinSplitKeys)}));
}

namespace {

// Suffix keys per split of a cascade member's own range.
constexpr int kSuffixSplitKeys = 1024;
constexpr int kMaxSuffixSplits = 8;
static_assert(kMaxSplits + kMaxSuffixSplits <= kMaxCascadeSources);

void plan_cascade(const std::vector<AttnChunk>& chunks, const SharedPrefix& sp, int group,
                  int num_kv_heads, int target_ctas, AttentionPlan& plan) {
  const AttnChunk& first = chunks[static_cast<std::size_t>(sp.first_chunk)];
  const auto vchunk = static_cast<std::int32_t>(chunks.size() + plan.extra_chunks.size());
  // Every row's position is past the prefix, so the causal mask keeps all its keys.
  plan.extra_chunks.push_back({first.row0, sp.seqs, sp.prefix_len, first.table_offset});
  const int per_tile = kTallRows / group;  // whole sequences per prefix tile
  const int tiles = (sp.seqs + per_tile - 1) / per_tile;
  const int splits =
      std::min(kMaxSplits, sp.prefix_splits > 0
                               ? sp.prefix_splits
                               : cascade_prefix_splits(sp, group, num_kv_heads, target_ctas / 4));
  const auto prefix = key_ranges(0, sp.prefix_len, splits);
  std::vector<int> prefix_first(static_cast<std::size_t>(tiles * num_kv_heads));
  for (int h = 0; h < num_kv_heads; ++h) {
    for (int t = 0; t < tiles; ++t) {
      prefix_first[static_cast<std::size_t>(h * tiles + t)] = plan.partials_tall;
      for (const auto& [b, e] : prefix)
        plan.work_tall.push_back({vchunk, h, t * per_tile * group, b, e, plan.partials_tall++});
    }
  }
  for (int k = 0; k < sp.seqs; ++k) {
    const int chunk = sp.first_chunk + k;
    const int kv_len = chunks[static_cast<std::size_t>(chunk)].start_pos + 1;
    const int own = kv_len - sp.prefix_len;
    const int ss = std::max(1, std::min(kMaxSuffixSplits, own / kSuffixSplitKeys));
    const auto suffix = key_ranges(sp.prefix_len, kv_len, ss);
    for (int h = 0; h < num_kv_heads; ++h) {
      const int suffix_first = plan.partials16;
      for (const auto& [b, e] : suffix)
        plan.work16.push_back({chunk, h, 0, b, e, plan.partials16++});
      plan.cascade.push_back({chunk, h,
                              prefix_first[static_cast<std::size_t>(h * tiles + k / per_tile)],
                              static_cast<std::int32_t>(prefix.size()), (k % per_tile) * group,
                              suffix_first, static_cast<std::int32_t>(suffix.size())});
    }
  }
}

}  // namespace

AttentionPlan plan_attention(const std::vector<AttnChunk>& chunks, int num_heads, int num_kv_heads,
                             int target_ctas, int decode_slots,
                             const std::vector<SharedPrefix>& shared) {
  const int group = num_heads / num_kv_heads;
  std::vector<char> in_cascade(chunks.size(), 0);
  for (const SharedPrefix& sp : shared)
    std::fill_n(in_cascade.begin() + sp.first_chunk, sp.seqs, 1);
  std::vector<Tile> tiles;
  for (std::size_t c = 0; c < chunks.size(); ++c) {
    if (in_cascade[c]) continue;
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
  // The two tile heights run as two launches, so each gets the split count that lets it fill
  // the device alone. target_ctas counts one-warp CTAs; a tall tile is kTallRows / 16 warps.
  int count16 = 0, count_tall = 0, longest16 = 0, longest_tall = 0;
  for (const Tile& t : tiles) {
    (t.tall ? count_tall : count16) += 1;
    int& longest = t.tall ? longest_tall : longest16;
    longest = std::max(longest, t.kv_len);
  }
  const auto fill = [&](int units, int longest) {
    if (units == 0 || units >= target_ctas) return 1;
    const int want = (target_ctas + units - 1) / units;
    return std::max(1, std::min(want, longest / kMinSplitKeys));
  };
  const int splits16 = decode_slots > 0 && count_tall == 0 && count16 > 0 && count16 < decode_slots
                           ? decode_wave_splits(count16, longest16, decode_slots)
                           : fill(count16, longest16);
  const int splits_tall = fill(count_tall * (kTallRows / 16), longest_tall);
  AttentionPlan plan;
  for (const Tile& t : tiles) {
    auto& work = t.tall ? plan.work_tall : plan.work16;
    int& partials = t.tall ? plan.partials_tall : plan.partials16;
    // Splits of whole key tiles; a short range gets fewer.
    const int tiles_of_keys = (t.kv_len + kKeyTile - 1) / kKeyTile;
    const int s = std::max(1, std::min(t.tall ? splits_tall : splits16, t.kv_len / kMinSplitKeys));
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
  for (const SharedPrefix& sp : shared)
    plan_cascade(chunks, sp, group, num_kv_heads, target_ctas, plan);
  // CTAs start in work order. Causal prefill tiles' key ranges grow with their rows, so in
  // row order the longest ones would start last and run alone at the end of the kernel.
  const auto longest_first = [](std::vector<AttnWork>& work) {
    std::stable_sort(work.begin(), work.end(), [](const AttnWork& a, const AttnWork& b) {
      return a.kv_end - a.kv_begin > b.kv_end - b.kv_begin;
    });
  };
  longest_first(plan.work_tall);
  longest_first(plan.work16);
  return plan;
}

AttentionPlan plan_attention_fixed(const std::vector<AttnChunk>& chunks, int num_kv_heads,
                                   int splits, const std::vector<SharedPrefix>& shared,
                                   int num_heads, int target_ctas) {
  AttentionPlan plan;
  std::vector<char> in_cascade(chunks.size(), 0);
  for (const SharedPrefix& sp : shared)
    std::fill_n(in_cascade.begin() + sp.first_chunk, sp.seqs, 1);
  for (std::size_t c = 0; c < chunks.size(); ++c) {
    if (in_cascade[c]) continue;
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
  for (const SharedPrefix& sp : shared)
    plan_cascade(chunks, sp, num_heads / num_kv_heads, num_kv_heads, target_ctas, plan);
  return plan;
}

}  // namespace agentrt::kernels
