#include "cluster/kv_index.h"

#include <gtest/gtest.h>

#include <numeric>

namespace agentrt::cluster {
namespace {

// n chained keys of a prompt whose tokens start at `first` (16 tokens a block).
std::vector<kv::BlockKey> chain(int n, int first = 0, std::vector<kv::BlockKey> prefix = {}) {
  kv::BlockKey parent = prefix.empty() ? kv::root_key("m") : prefix.back();
  std::vector<kv::BlockKey> out = std::move(prefix);
  for (int b = 0; b < n; ++b) {
    std::vector<std::int32_t> tokens(16);
    std::iota(tokens.begin(), tokens.end(), first + 16 * b);
    parent = kv::chain_key(parent, tokens, "m");
    out.push_back(parent);
  }
  return out;
}

KvEvent event(NodeId node, KvEventKind kind, KvTierKind tier, std::vector<kv::BlockKey> keys) {
  return KvEvent{node, kind, tier, std::move(keys)};
}

TEST(KvIndex, LongestPrefixPerNodeSortedById) {
  KvIndex index;
  const auto keys = chain(8);
  index.apply(event(3, KvEventKind::stored, KvTierKind::device, {keys.begin(), keys.begin() + 5}));
  index.apply(event(1, KvEventKind::stored, KvTierKind::device, {keys.begin(), keys.begin() + 2}));
  // Node 2 holds blocks 0 and 2 but not 1: its prefix ends at one block.
  index.apply(event(2, KvEventKind::stored, KvTierKind::device, {keys[0], keys[2]}));
  std::vector<PrefixMatch> out;
  index.match(keys, out);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].node, 1);
  EXPECT_EQ(out[0].blocks, 2);
  EXPECT_EQ(out[1].node, 2);
  EXPECT_EQ(out[1].blocks, 1);
  EXPECT_EQ(out[2].node, 3);
  EXPECT_EQ(out[2].blocks, 5);
  EXPECT_EQ(out[2].device_blocks, 5);
}

TEST(KvIndex, NoHolderOfTheFirstBlockMeansNoMatch) {
  KvIndex index;
  const auto keys = chain(4);
  index.apply(event(0, KvEventKind::stored, KvTierKind::device, {keys[1], keys[2]}));
  std::vector<PrefixMatch> out{PrefixMatch{7, 9}};
  index.match(keys, out);
  EXPECT_TRUE(out.empty());
}

TEST(KvIndex, TiersCountTheFastestHolderAndEvictionMovesDown) {
  KvIndex index;
  const auto keys = chain(4);
  index.apply(event(0, KvEventKind::stored, KvTierKind::device, keys));
  index.apply(event(0, KvEventKind::stored, KvTierKind::persisted, keys));
  // Blocks 2 and 3 go from the device to the host tier.
  index.apply(event(0, KvEventKind::evicted, KvTierKind::device, {keys[2], keys[3]}));
  index.apply(event(0, KvEventKind::stored, KvTierKind::host, {keys[2]}));
  std::vector<PrefixMatch> out;
  index.match(keys, out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].blocks, 4);
  EXPECT_EQ(out[0].device_blocks, 2);
  EXPECT_EQ(out[0].host_blocks, 1);
  EXPECT_EQ(out[0].persisted_blocks, 1);
  EXPECT_TRUE(index.holds(0, keys[2], KvTierKind::host));
  EXPECT_FALSE(index.holds(0, keys[2], KvTierKind::device));
  // Evicted from every tier: the key leaves the index.
  index.apply(event(0, KvEventKind::evicted, KvTierKind::persisted, {keys[3]}));
  index.match(keys, out);
  EXPECT_EQ(out[0].blocks, 3);
  EXPECT_EQ(index.entries(), 3u);
}

TEST(KvIndex, PinsCountPerEventOnHeldKeysOnly) {
  KvIndex index;
  const auto keys = chain(3);
  index.apply(event(0, KvEventKind::pinned, KvTierKind::device, keys));  // unknown: ignored
  EXPECT_EQ(index.keys(), 0u);
  index.apply(event(0, KvEventKind::stored, KvTierKind::device, keys));
  index.apply(event(0, KvEventKind::pinned, KvTierKind::device, {keys[0], keys[1]}));
  index.apply(event(0, KvEventKind::pinned, KvTierKind::device, {keys[0]}));
  index.apply(event(0, KvEventKind::unpinned, KvTierKind::device, {keys[0], keys[1]}));
  std::vector<PrefixMatch> out;
  index.match(keys, out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].pinned_blocks, 1);  // key 0: pinned twice, unpinned once
}

TEST(KvIndex, RemoveNodeDropsOnlyItsEntries) {
  KvIndex index;
  const auto keys = chain(4);
  index.apply(event(0, KvEventKind::stored, KvTierKind::device, keys));
  index.apply(event(1, KvEventKind::stored, KvTierKind::device, {keys[0], keys[1]}));
  EXPECT_EQ(index.entries(), 6u);
  index.remove_node(0);
  EXPECT_EQ(index.entries(), 2u);
  EXPECT_EQ(index.keys(), 2u);
  std::vector<PrefixMatch> out;
  index.match(keys, out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].node, 1);
  EXPECT_EQ(out[0].blocks, 2);
}

TEST(KvIndex, CapDropsTheLeastRecentlyUsedKeys) {
  KvIndex index(KvIndexOptions{.max_entries = 64});
  const auto hot = chain(4, 1'000'000);
  index.apply(event(0, KvEventKind::stored, KvTierKind::device, hot));
  std::vector<PrefixMatch> out;
  for (int i = 0; i < 40; ++i) {
    index.apply(event(1, KvEventKind::stored, KvTierKind::device, chain(4, i * 64)));
    index.match(hot, out);  // keeps the hot prefix recent
  }
  EXPECT_LE(index.entries(), 64u);
  EXPECT_GT(index.dropped_entries(), 0);
  index.match(hot, out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].blocks, 4);
}

TEST(KvIndex, SharedPrefixThenDivergingSuffixes) {
  KvIndex index;
  const auto sys = chain(4);
  const auto a = chain(3, 5000, sys), b = chain(3, 9000, sys);
  index.apply(event(0, KvEventKind::stored, KvTierKind::device, a));
  index.apply(event(1, KvEventKind::stored, KvTierKind::device, b));
  std::vector<PrefixMatch> out;
  index.match(b, out);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].blocks, 4);  // the shared system prompt
  EXPECT_EQ(out[1].blocks, 7);
}

TEST(KvIndex, ManyHoldersOfTheSharedPrefixFewOfTheRest) {
  KvIndex index;
  const auto sys = chain(4);
  const auto mine = chain(3, 7000, sys);
  for (NodeId n = 0; n < 100; ++n)
    index.apply(event(n, KvEventKind::stored, KvTierKind::device, sys));
  index.apply(event(57, KvEventKind::stored, KvTierKind::device, mine));
  index.apply(event(90, KvEventKind::stored, KvTierKind::device, {mine[5], mine[6]}));
  std::vector<PrefixMatch> out;
  index.match(mine, out);
  ASSERT_EQ(out.size(), 100u);
  for (const PrefixMatch& m : out)
    EXPECT_EQ(m.blocks, m.node == 57 ? 7 : 4) << m.node;
}

}  // namespace
}  // namespace agentrt::cluster
