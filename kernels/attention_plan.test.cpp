// plan_attention (host only, no GPU needed): on random mixes of decodes and prefill chunks,
// every (chunk, kv head, query row) is covered by exactly one tile, every tile's key range is
// covered exactly once by its splits, and split partial slots are unique and match their
// combine entries.
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>
#include <tuple>

#include "kernels/attention.h"

namespace agentrt::kernels {
namespace {

void check_plan(const std::vector<AttnChunk>& chunks, int heads, int kv_heads, int target,
                int decode_slots) {
  const AttentionPlan p = plan_attention(chunks, heads, kv_heads, target, decode_slots);
  const int group = heads / kv_heads;
  // (chunk, kv head, row_begin) -> covered key ranges
  std::map<std::tuple<int, int, int>, std::vector<std::pair<int, int>>> ranges;
  std::set<std::tuple<int, int, int>> tiles16, tiles_tall;
  auto add = [&](const std::vector<AttnWork>& work, const std::vector<AttnCombine>& combine,
                 int partials, int tile_rows, std::set<std::tuple<int, int, int>>& tiles) {
    std::set<int> slots;
    for (const AttnWork& w : work) {
      ranges[{w.chunk, w.kv_head, w.row_begin}].push_back({w.kv_begin, w.kv_end});
      tiles.insert({w.chunk, w.kv_head, w.row_begin});
      EXPECT_EQ(w.row_begin % tile_rows, 0);
      if (w.partial >= 0) {
        EXPECT_LT(w.partial, partials);
        EXPECT_TRUE(slots.insert(w.partial).second) << "partial slot used twice";
      }
    }
    int split_works = 0;
    for (const AttnCombine& c : combine) {
      EXPECT_GT(c.splits, 1);
      split_works += c.splits;
      for (int s = 0; s < c.splits; ++s)
        EXPECT_EQ(slots.count(c.first + s), 1u);
    }
    EXPECT_EQ(split_works, static_cast<int>(slots.size()));
  };
  add(p.work16, p.combine16, p.partials16, 16, tiles16);
  add(p.work_tall, p.combine_tall, p.partials_tall, kTallRows, tiles_tall);
  for (std::size_t c = 0; c < chunks.size(); ++c) {
    const int rows = chunks[c].count * group;
    const int tile = rows > 16 ? kTallRows : 16;
    auto& tiles = rows > 16 ? tiles_tall : tiles16;
    for (int h = 0; h < kv_heads; ++h) {
      for (int r = 0; r < rows; r += tile) {
        const auto key = std::make_tuple(static_cast<int>(c), h, r);
        ASSERT_EQ(tiles.count(key), 1u) << "chunk " << c << " head " << h << " row " << r;
        // Keys [0, position of the tile's last token] are covered once, in order.
        const int last_token = std::min(rows, r + tile) - 1;
        const int kv_len = chunks[c].start_pos + last_token / group + 1;
        auto rs = ranges[key];
        std::sort(rs.begin(), rs.end());
        int next = 0;
        for (const auto& [b, e] : rs) {
          EXPECT_EQ(b, next);
          EXPECT_GT(e, b);
          next = e;
        }
        EXPECT_EQ(next, kv_len);
      }
    }
  }
}

TEST(AttentionPlanProperties, RandomMixesCoverEveryRowAndKeyOnce) {
  std::mt19937 rng(11);
  for (int trial = 0; trial < 200; ++trial) {
    const int kv_heads = 1 + static_cast<int>(rng() % 8);
    const int heads = kv_heads * (1 + static_cast<int>(rng() % 7));
    std::vector<AttnChunk> chunks;
    int row = 0;
    const int n = 1 + static_cast<int>(rng() % 40);
    const bool all_decode = trial % 2 == 1;  // where the wave rule applies
    for (int i = 0; i < n; ++i) {
      const bool decode = all_decode || rng() % 3 != 0;
      const int count = decode ? 1 : 1 + static_cast<int>(rng() % 300);
      const int start = static_cast<int>(rng() % 5000);
      chunks.push_back({row, count, start, 0});
      row += count;
    }
    const int target = 8 * (1 + static_cast<int>(rng() % 200));
    const int slots = trial % 4 < 2 ? 0 : 132 * (1 + static_cast<int>(rng() % 4));
    check_plan(chunks, heads, kv_heads, target, slots);
    if (HasFatalFailure()) return;
  }
}

// The fixed-shape decode plan of CUDA graphs: list sizes depend on the chunk count alone,
// each (chunk, kv head)'s splits cover [0, kv_len) in order without overlap, split ranges
// start on key tiles of 64, and every combine entry names its own consecutive partials.
TEST(AttentionPlanFixed, ShapeDependsOnBatchOnlyAndRangesCoverEveryKey) {
  std::mt19937 rng(3);
  for (int trial = 0; trial < 200; ++trial) {
    const int batch = 1 + static_cast<int>(rng() % 40), kv_heads = 1 + static_cast<int>(rng() % 8);
    const int splits = fixed_splits(batch, kv_heads, 1056);
    std::vector<AttnChunk> chunks;
    for (int b = 0; b < batch; ++b)
      chunks.push_back({b, 1, static_cast<std::int32_t>(rng() % 5000), 0});
    const AttentionPlan p = plan_attention_fixed(chunks, kv_heads, splits);
    ASSERT_EQ(p.work16.size(), static_cast<std::size_t>(batch * kv_heads * splits));
    ASSERT_EQ(p.combine16.size(), splits > 1 ? static_cast<std::size_t>(batch * kv_heads) : 0u);
    EXPECT_TRUE(p.work_tall.empty() && p.combine_tall.empty());
    EXPECT_EQ(p.partials16, splits > 1 ? batch * kv_heads * splits : 0);
    for (std::size_t t = 0; t < static_cast<std::size_t>(batch * kv_heads); ++t) {
      const AttnWork* w = &p.work16[t * splits];
      const int kv_len = chunks[static_cast<std::size_t>(w->chunk)].start_pos + 1;
      int next = 0;
      for (int i = 0; i < splits; ++i) {
        EXPECT_EQ(w[i].chunk, w[0].chunk);
        EXPECT_EQ(w[i].kv_head, w[0].kv_head);
        EXPECT_EQ(w[i].kv_begin, next);
        EXPECT_LE(w[i].kv_begin, w[i].kv_end);
        EXPECT_TRUE(w[i].kv_begin % 64 == 0 || w[i].kv_begin == kv_len);
        EXPECT_EQ(w[i].partial, splits > 1 ? static_cast<int>(t) * splits + i : -1);
        next = w[i].kv_end;
      }
      EXPECT_EQ(next, kv_len);
      if (splits > 1) {
        EXPECT_EQ(p.combine16[t].first, static_cast<int>(t) * splits);
        EXPECT_EQ(p.combine16[t].splits, splits);
      }
    }
  }
}

}  // namespace
}  // namespace agentrt::kernels
