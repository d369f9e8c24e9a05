// plan_attention (host only, no GPU needed): on random mixes of decodes and prefill chunks,
// every (chunk, kv head, query row) is covered by exactly one tile, every tile's key range is
// covered exactly once by its splits, split partial slots are unique and match their
// combine entries, and each work list runs longest key range first.
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
    for (std::size_t i = 1; i < work.size(); ++i)  // longest key range first
      EXPECT_GE(work[i - 1].kv_end - work[i - 1].kv_begin, work[i].kv_end - work[i].kv_begin);
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

// Forked decodes: consecutive one-token chunks whose tables begin with the same blocks.
std::vector<std::int32_t> fork_tables(std::vector<AttnChunk>& chunks, int seqs, int shared_blocks,
                                      int own_blocks, std::int32_t& next_block) {
  std::vector<std::int32_t> tables;
  const std::int32_t prefix0 = next_block;
  next_block += shared_blocks;
  for (int k = 0; k < seqs; ++k) {
    const int row = static_cast<int>(chunks.size());
    chunks.push_back(
        {row, 1, (shared_blocks + own_blocks) * 16 - 1, static_cast<std::int32_t>(tables.size())});
    for (int b = 0; b < shared_blocks; ++b)
      tables.push_back(prefix0 + b);
    for (int b = 0; b < own_blocks; ++b)
      tables.push_back(next_block++);
  }
  return tables;
}

TEST(SharedPrefixes, FindsForkedRunsOnly) {
  std::vector<AttnChunk> chunks;
  std::int32_t next = 0;
  auto tables = fork_tables(chunks, 8, 32, 2, next);
  // Position 511 + 16 * 2: the shared 32 blocks are all strictly before it.
  auto runs = find_shared_prefixes(chunks, tables, 16, 4);
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].first_chunk, 0);
  EXPECT_EQ(runs[0].seqs, 8);
  EXPECT_EQ(runs[0].prefix_len, 512);
  // Too few members, too short a prefix, a group past the decode tile: none.
  std::vector<AttnChunk> few;
  next = 0;
  auto t_few = fork_tables(few, kMinCascadeSeqs - 1, 32, 1, next);
  EXPECT_TRUE(find_shared_prefixes(few, t_few, 16, 4).empty());
  std::vector<AttnChunk> shallow;
  next = 0;
  auto t_shallow = fork_tables(shallow, 8, kMinCascadeKeys / 16 - 1, 1, next);
  EXPECT_TRUE(find_shared_prefixes(shallow, t_shallow, 16, 4).empty());
  EXPECT_TRUE(find_shared_prefixes(chunks, tables, 16, 17).empty());
  // A prefill chunk in the middle splits the run; both halves are long enough.
  std::vector<AttnChunk> mixed = chunks;
  for (std::size_t i = 4; i < mixed.size(); ++i)
    mixed[i].row0 += 10;
  mixed.insert(mixed.begin() + 4, AttnChunk{4, 10, 0, 0});
  runs = find_shared_prefixes(mixed, tables, 16, 4);
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(runs[0].seqs, 4);
  EXPECT_EQ(runs[1].first_chunk, 5);
  EXPECT_EQ(runs[1].seqs, 4);
}

TEST(SharedPrefixes, PrefixStopsBeforeEveryMembersPosition) {
  std::vector<AttnChunk> chunks;
  std::int32_t next = 0;
  // Members right after the fork: the prompt's 40 blocks are whole, the position is the first
  // key of a private block.
  auto tables = fork_tables(chunks, 6, 40, 1, next);
  for (auto& c : chunks)
    c.start_pos = 40 * 16;
  auto runs = find_shared_prefixes(chunks, tables, 16, 2);
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].prefix_len, 640);
  // A member whose position falls inside the shared blocks caps the prefix before it.
  chunks[2].start_pos = 30 * 16 + 3;
  runs = find_shared_prefixes(chunks, tables, 16, 2);
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].prefix_len, 30 * 16);
}

void check_cascade(const std::vector<AttnChunk>& chunks, const AttentionPlan& p, int prefix,
                   int seqs, int group, int kv_heads) {
  ASSERT_EQ(p.extra_chunks.size(), 1u);
  const int vchunk = static_cast<int>(chunks.size());
  const AttnChunk& vc = p.extra_chunks[0];
  EXPECT_EQ(vc.row0, 20);
  EXPECT_EQ(vc.count, seqs);
  EXPECT_EQ(vc.start_pos, prefix);
  ASSERT_EQ(p.cascade.size(), static_cast<std::size_t>(seqs * kv_heads));
  std::map<int, const AttnWork*> tall_by_slot, short_by_slot;
  for (const AttnWork& w : p.work_tall) {
    if (w.chunk != vchunk) continue;
    ASSERT_GE(w.partial, 0);
    ASSERT_TRUE(tall_by_slot.emplace(w.partial, &w).second) << "tall slot used twice";
    EXPECT_EQ(w.row_begin % group, 0);
  }
  for (const AttnWork& w : p.work16) {
    if (w.chunk == 0) continue;
    ASSERT_GE(w.partial, 0);
    ASSERT_TRUE(short_by_slot.emplace(w.partial, &w).second) << "16-row slot used twice";
  }
  for (const AttnCascade& e : p.cascade) {
    const int k = e.chunk - 1;  // member index
    ASSERT_GE(k, 0);
    int next_key = 0;
    for (int s = 0; s < e.prefix_splits; ++s) {
      const AttnWork* w = tall_by_slot.at(e.prefix_first + s);
      EXPECT_EQ(w->kv_head, e.kv_head);
      EXPECT_EQ(w->kv_begin, next_key);
      next_key = w->kv_end;
      // The member's rows sit inside the tile at prefix_row.
      EXPECT_EQ(w->row_begin + e.prefix_row, k * group);
      EXPECT_LE(e.prefix_row + group, kTallRows);
    }
    EXPECT_EQ(next_key, prefix);
    const int kv_len = chunks[static_cast<std::size_t>(e.chunk)].start_pos + 1;
    for (int s = 0; s < e.suffix_splits; ++s) {
      const AttnWork* w = short_by_slot.at(e.suffix_first + s);
      EXPECT_EQ(w->chunk, e.chunk);
      EXPECT_EQ(w->kv_head, e.kv_head);
      EXPECT_EQ(w->kv_begin, next_key);
      next_key = w->kv_end;
    }
    EXPECT_EQ(next_key, kv_len);
  }
  EXPECT_EQ(static_cast<int>(tall_by_slot.size()), p.partials_tall);
}

// The cascade plan: every (member, kv head, head of the group) sees the prefix once through
// its tall tile's splits, at its own row of that tile, and its own keys once through its
// 16-row splits; partial slots are never shared.
TEST(SharedPrefixes, CascadePlanCoversPrefixAndSuffixOnce) {
  std::mt19937 rng(5);
  for (int trial = 0; trial < 100; ++trial) {
    const int kv_heads = 1 + static_cast<int>(rng() % 8);
    const int group = 1 + static_cast<int>(rng() % 16);
    const int seqs = kMinCascadeSeqs + static_cast<int>(rng() % 80);
    const int shared_blocks = 16 + static_cast<int>(rng() % 300);
    std::vector<AttnChunk> chunks{{0, 20, 0, 0}};  // a prefill before the run
    std::int32_t next = 2;
    std::vector<std::int32_t> tables{0, 1};
    std::vector<AttnChunk> members;
    auto mt = fork_tables(members, seqs, shared_blocks, 1, next);
    for (auto& m : members) {
      m.row0 += 20;
      m.table_offset += 2;
      if (rng() % 5 == 0) m.start_pos -= static_cast<int>(rng() % 16);  // still in its own block
      chunks.push_back(m);
    }
    tables.insert(tables.end(), mt.begin(), mt.end());
    const auto runs = find_shared_prefixes(chunks, tables, 16, group);
    ASSERT_EQ(runs.size(), 1u);
    ASSERT_EQ(runs[0].seqs, seqs);
    const int prefix = runs[0].prefix_len;
    ASSERT_EQ(prefix, shared_blocks * 16);
    const int target = 8 * (1 + static_cast<int>(rng() % 200));
    check_cascade(chunks, plan_attention(chunks, kv_heads * group, kv_heads, target, 0, runs),
                  prefix, seqs, group, kv_heads);
    // The graphs' fixed plan holds the same cascade (chunk 0, no member, is not checked).
    check_cascade(chunks, plan_attention_fixed(chunks, kv_heads, 3, runs, kv_heads * group, target),
                  prefix, seqs, group, kv_heads);
    if (HasFatalFailure()) return;
  }
}

}  // namespace
}  // namespace agentrt::kernels
