// KV shipping's batches (kv_shipping.h): what a draining node exports is what the receiver
// stores, under the same keys; a batch of another model or layout, another block size, a
// block of the wrong length or more blocks than its tokens hold is refused.
#include "cluster/kv_shipping.h"

#include <gtest/gtest.h>

#include "cluster/node_drain.h"
#include "cluster/node_kv_store.h"

namespace agentrt::cluster {
namespace {

constexpr int kBlock = 16;
const std::string kPrint = "model-a|cpu-f32";

std::vector<std::int32_t> tokens(int n) {
  std::vector<std::int32_t> t;
  for (int i = 0; i < n; ++i)
    t.push_back(i * 7 % 101);
  return t;
}

std::vector<std::byte> block_bytes(int i) {
  return std::vector<std::byte>(64, static_cast<std::byte>(i + 1));
}

// A store holding the first `blocks` blocks of `t`.
void fill(NodeKvStore& store, const std::vector<std::int32_t>& t, int blocks) {
  const auto keys = chain_keys(t, kBlock, kPrint);
  for (int i = 0; i < blocks; ++i)
    ASSERT_TRUE(store.put(keys[i], block_bytes(i)).ok());
}

TEST(KvShipping, ExportedBatchesImportUnderTheSameKeys) {
  const auto t = tokens(16 * 10 + 5);  // 10 full blocks and a partial one
  NodeKvStore from(1 << 20);
  fill(from, t, 10);
  auto batches = export_session(from, "s1", t, kPrint, kBlock, 4);
  ASSERT_TRUE(batches.ok()) << batches.error().message;
  ASSERT_EQ(batches->size(), 3u);  // 4 + 4 + 2 blocks
  EXPECT_EQ((*batches)[1].first_block, 4);
  EXPECT_EQ((*batches)[2].blocks.size(), 2u);
  EXPECT_FALSE((*batches)[1].last);
  EXPECT_TRUE((*batches)[2].last);
  EXPECT_EQ((*batches)[0].tokens.size(), 4u * kBlock);  // only the tokens its keys need

  NodeKvStore to(1 << 20);
  int stored = 0;
  for (const auto& b : *batches) {
    auto n = import_shipment(to, b, kPrint, kBlock, 0);
    ASSERT_TRUE(n.ok()) << n.error().message;
    stored += *n;
  }
  EXPECT_EQ(stored, 10);
  const auto keys = chain_keys(t, kBlock, kPrint);
  for (int i = 0; i < 10; ++i) {
    auto v = to.get(keys[i]);
    ASSERT_TRUE(v.ok() && v->has_value()) << i;
    EXPECT_EQ(**v, block_bytes(i)) << i;
  }
}

TEST(KvShipping, ExportStopsAtTheFirstBlockTheStoreLacks) {
  const auto t = tokens(16 * 6);
  NodeKvStore from(1 << 20);
  fill(from, t, 6);
  ASSERT_TRUE(from.erase(chain_keys(t, kBlock, kPrint)[3]).ok());
  auto batches = export_session(from, "s", t, kPrint, kBlock, 32);
  ASSERT_TRUE(batches.ok());
  ASSERT_EQ(batches->size(), 1u);
  EXPECT_EQ((*batches)[0].blocks.size(), 3u);
  NodeKvStore empty(1 << 20);
  auto none = export_session(empty, "s", t, kPrint, kBlock, 32);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
  EXPECT_FALSE(export_session(from, "s", t, kPrint, kBlock, 0).ok());
}

TEST(KvShipping, ImportRefusesWhatDoesNotFitTheEngine) {
  const auto t = tokens(16 * 4);
  NodeKvStore from(1 << 20);
  fill(from, t, 4);
  auto batches = export_session(from, "s", t, kPrint, kBlock, 32);
  ASSERT_TRUE(batches.ok() && batches->size() == 1u);
  const KvShipment good = (*batches)[0];
  NodeKvStore to(1 << 20);
  auto other_model = import_shipment(to, good, "model-b|cpu-f32", kBlock, 0);
  ASSERT_FALSE(other_model.ok());
  EXPECT_NE(other_model.error().message.find("another model or block layout"), std::string::npos);
  EXPECT_FALSE(import_shipment(to, good, kPrint, 32, 0).ok());        // another block size
  EXPECT_FALSE(import_shipment(to, good, kPrint, kBlock, 128).ok());  // this engine's blocks
  KvShipment short_tokens = good;
  short_tokens.tokens.resize(16 * 3);
  EXPECT_FALSE(import_shipment(to, short_tokens, kPrint, kBlock, 0).ok());
  KvShipment ragged = good;
  ragged.blocks[2].pop_back();
  EXPECT_FALSE(import_shipment(to, ragged, kPrint, kBlock, 0).ok());
  KvShipment negative = good;
  negative.first_block = -1;
  EXPECT_FALSE(import_shipment(to, negative, kPrint, kBlock, 0).ok());
  EXPECT_EQ(to.stored_bytes(), 0);  // nothing of a refused batch is stored
  auto ok = import_shipment(to, good, kPrint, kBlock, 64);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(*ok, 4);
}

TEST(NodeKvStore, DropsTheLeastRecentlyUsedBlocksPastItsCapacity) {
  NodeKvStore store(3 * 64);
  const auto keys = chain_keys(tokens(16 * 4), kBlock, kPrint);
  for (int i = 0; i < 3; ++i)
    ASSERT_TRUE(store.put(keys[i], block_bytes(i)).ok());
  ASSERT_TRUE(store.get(keys[0]).ok());  // now the most recent
  ASSERT_TRUE(store.put(keys[3], block_bytes(3)).ok());
  EXPECT_TRUE(store.get(keys[0])->has_value());
  EXPECT_FALSE(store.get(keys[1])->has_value());
  EXPECT_EQ(store.stored_bytes(), 3 * 64);
  EXPECT_FALSE(store.put(keys[0], std::vector<std::byte>(4 * 64)).ok());
  std::vector<kv::BlockKey> dropped;  // told once, for the node's KV events
  store.take_dropped(dropped);
  EXPECT_EQ(dropped, std::vector<kv::BlockKey>{keys[1]});
  dropped.clear();
  store.take_dropped(dropped);
  EXPECT_TRUE(dropped.empty());
}

// A load move ships a session by the tokens of its last paused turn, also once its pin is
// gone: the node's record keeps them, the latest turn's, and drops the least recently seen
// past its cap.
TEST(RecentSessions, KeepsTheLastPausedTokensOfEachSessionWithinItsCap) {
  RecentSessions recent;
  auto turn = [](const std::string& key, int n) {
    api::PausedTurn t;
    t.key = key;
    t.tokens = tokens(n);
    return t;
  };
  recent.update({turn("a", 40), turn("b", 20)});
  recent.update({});  // both pins gone
  ASSERT_TRUE(recent.find("a").has_value());
  EXPECT_EQ(*recent.find("a"), tokens(40));
  recent.update({turn("a", 90)});  // a's next turn paused
  EXPECT_EQ(*recent.find("a"), tokens(90));
  EXPECT_FALSE(recent.find("c").has_value());
  for (std::size_t i = 0; i <= RecentSessions::kMaxRecentSessions; ++i)
    recent.update({turn("s" + std::to_string(i), 1), turn("a", 90)});
  EXPECT_TRUE(recent.find("a").has_value()) << "seen at every update";
  EXPECT_FALSE(recent.find("b").has_value()) << "the least recently seen go first";
  EXPECT_TRUE(recent.find("s" + std::to_string(RecentSessions::kMaxRecentSessions)).has_value());
}

}  // namespace
}  // namespace agentrt::cluster
