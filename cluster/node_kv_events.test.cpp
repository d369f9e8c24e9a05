// Tests of NodeKvEvents: runs of one kind and tier become one message, batches are capped,
// and a full backlog drops its oldest events and announces it with a clear marker.
#include "cluster/node_kv_events.h"

#include <gtest/gtest.h>

namespace agentrt::cluster {
namespace {

kv::KvBlockEvent ev(kv::KvEventType type, int tier, std::uint64_t n) {
  return {type, static_cast<std::uint8_t>(tier), kv::BlockKey{n, n + 1000}};
}

TEST(NodeKvEvents, RunsOfOneKindAndTierBecomeOneMessageInOrder) {
  NodeKvEvents q;
  EXPECT_TRUE(q.drain().empty());
  const std::vector<kv::KvBlockEvent> a = {ev(kv::KvEventType::stored, 0, 1),
                                           ev(kv::KvEventType::stored, 0, 2),
                                           ev(kv::KvEventType::evicted, 0, 1)};
  const std::vector<kv::KvBlockEvent> b = {ev(kv::KvEventType::stored, 1, 1),
                                           ev(kv::KvEventType::pinned, 0, 2)};
  q.listener()(a);
  q.push(b);
  auto m = q.drain();
  ASSERT_EQ(m.size(), 4u);
  EXPECT_EQ(m[0].kind, 0);
  EXPECT_EQ(m[0].tier, 0);
  EXPECT_EQ(m[0].keys, (std::vector<std::uint64_t>{1, 1001, 2, 1002}));
  EXPECT_EQ(m[1].kind, 1);
  EXPECT_EQ(m[1].keys, (std::vector<std::uint64_t>{1, 1001}));
  EXPECT_EQ(m[2].kind, 0);
  EXPECT_EQ(m[2].tier, 1);
  EXPECT_EQ(m[3].kind, 2);
  EXPECT_TRUE(q.drain().empty()) << "drained events are gone";
}

TEST(NodeKvEvents, BatchesHoldAtMostMaxBatchKeys) {
  NodeKvEvents q({3, 100});
  std::vector<kv::KvBlockEvent> a;
  for (std::uint64_t i = 0; i < 7; ++i)
    a.push_back(ev(kv::KvEventType::stored, 0, i));
  q.push(a);
  auto m = q.drain();
  ASSERT_EQ(m.size(), 3u);
  EXPECT_EQ(m[0].keys.size(), 6u);
  EXPECT_EQ(m[1].keys.size(), 6u);
  EXPECT_EQ(m[2].keys.size(), 2u);
  EXPECT_EQ(m[2].keys[0], 6u);
}

TEST(NodeKvEvents, AFullBacklogDropsTheOldestAndSendsAClearMarker) {
  NodeKvEvents q({100, 4});
  std::vector<kv::KvBlockEvent> a;
  for (std::uint64_t i = 0; i < 6; ++i)
    a.push_back(ev(kv::KvEventType::stored, 0, i));
  q.push(a);
  EXPECT_EQ(q.dropped(), 2);
  auto m = q.drain();
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(m[0].kind, kKvEventClear);
  EXPECT_TRUE(m[0].keys.empty());
  EXPECT_EQ(m[1].keys, (std::vector<std::uint64_t>{2, 1002, 3, 1003, 4, 1004, 5, 1005}));
  q.push(std::span(a).first(1));
  m = q.drain();
  ASSERT_EQ(m.size(), 1u) << "the marker is sent once";
  EXPECT_EQ(m[0].kind, 0);
}

}  // namespace
}  // namespace agentrt::cluster
