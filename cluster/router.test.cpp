#include "cluster/router.h"

#include <gtest/gtest.h>

#include <chrono>
#include <numeric>

#include "cluster/policy_least_loaded.h"
#include "cluster/policy_prefix_aware.h"
#include "cluster/policy_round_robin.h"

namespace agentrt::cluster {
namespace {

std::vector<kv::BlockKey> chain(int n, int first = 0) {
  kv::BlockKey parent = kv::root_key("m");
  std::vector<kv::BlockKey> out;
  for (int b = 0; b < n; ++b) {
    std::vector<std::int32_t> tokens(16);
    std::iota(tokens.begin(), tokens.end(), first + 16 * b);
    parent = kv::chain_key(parent, tokens, "m");
    out.push_back(parent);
  }
  return out;
}

RouteRequest req(std::vector<kv::BlockKey> blocks) {
  RouteRequest r;
  r.blocks = std::move(blocks);
  return r;
}

RouterOptions block_size_16() {
  RouterOptions o;
  o.block_size = 16;
  return o;
}

RouterOptions not_counting() {
  RouterOptions o;
  o.count_routed = false;
  return o;
}

NodeLoad busy() {
  NodeLoad l;
  l.running = 50;
  return l;
}

Router make_router(std::string_view policy, int nodes, RouterOptions o = {}) {
  auto p = make_policy(policy);
  EXPECT_TRUE(p.ok());
  Router r(std::move(p).value(), o);
  for (int n = 0; n < nodes; ++n)
    EXPECT_TRUE(r.join(n, NodeInfo{"node" + std::to_string(n)}).ok());
  return r;
}

TEST(Router, NoLiveNodeIsAnError) {
  Router r = make_router("round_robin", 0);
  auto d = r.route(RouteRequest{});
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.error().code, ErrorCode::not_found);
}

TEST(Router, JoinLeaveAndRejoin) {
  Router r = make_router("round_robin", 2);
  EXPECT_EQ(r.join(1, NodeInfo{}).error().code, ErrorCode::invalid_argument);
  EXPECT_EQ(r.join(-3, NodeInfo{}).error().code, ErrorCode::invalid_argument);
  EXPECT_TRUE(r.leave(1).ok());
  EXPECT_EQ(r.leave(1).error().code, ErrorCode::not_found);
  EXPECT_EQ(r.report_load(1, NodeLoad{}).error().code, ErrorCode::not_found);
  EXPECT_EQ(r.live_nodes(), std::vector<NodeId>{0});
  EXPECT_TRUE(r.join(1, NodeInfo{}).ok());
  EXPECT_EQ(r.live_nodes(), (std::vector<NodeId>{0, 1}));
}

TEST(Router, DeadNodeIsNeverChosenByAnyPolicy) {
  const auto keys = chain(6);
  for (const std::string& name : policy_names()) {
    Router r = make_router(name, 4);
    // Node 2 holds the whole prompt and is idle: every cache-aware policy's favourite.
    ASSERT_TRUE(r.apply(KvEvent{2, KvEventKind::stored, KvTierKind::device, keys}).ok());
    for (NodeId n : {0, 1, 3})
      ASSERT_TRUE(r.report_load(n, busy()).ok());
    RouteRequest rq = req(keys);
    rq.program = "prog";
    if (name != "round_robin" && name != "least_loaded") {
      EXPECT_EQ(*r.route(rq), 2) << name;
    }
    ASSERT_TRUE(r.leave(2).ok());
    rq.resume_of = 2;
    for (int i = 0; i < 20; ++i) {
      auto d = r.route(rq);
      ASSERT_TRUE(d.ok()) << name;
      EXPECT_NE(*d, 2) << name;
    }
    // Its events after leaving are dropped, not indexed.
    EXPECT_FALSE(r.apply(KvEvent{2, KvEventKind::stored, KvTierKind::device, keys}).ok());
    EXPECT_EQ(r.stats().dropped_events, 1) << name;
    EXPECT_EQ(r.index().entries(), 0u) << name;
  }
}

TEST(Router, PrefixAwareRoutesToTheCachedPrefixAndReportsIt) {
  Router r = make_router("prefix_aware", 3);
  const auto a = chain(8), b = chain(8, 100000);
  ASSERT_TRUE(r.apply(KvEvent{1, KvEventKind::stored, KvTierKind::device, a}).ok());
  ASSERT_TRUE(r.apply(KvEvent{2, KvEventKind::stored, KvTierKind::host, b}).ok());
  auto d = r.decide(RouteRequest{a, "", std::nullopt, 130});
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->node, 1);
  EXPECT_EQ(d->match.blocks, 8);
  auto e = r.decide(RouteRequest{b, "", std::nullopt, 130});
  EXPECT_EQ(e->node, 2);
  EXPECT_EQ(e->match.host_blocks, 8);
}

TEST(Router, CountsRoutedRequestsUntilTheNextLoadReport) {
  Router r = make_router("least_loaded", 2, block_size_16());
  // Without a report in between, three requests spread instead of all landing on node 0.
  EXPECT_EQ(*r.route(req(chain(2))), 0);
  EXPECT_EQ(*r.route(req(chain(2))), 1);
  EXPECT_EQ(*r.route(req(chain(2))), 0);
  EXPECT_EQ(r.load(0)->waiting, 2);
  EXPECT_EQ(r.load(0)->pending_tokens, 64);
  ASSERT_TRUE(r.report_load(0, NodeLoad{}).ok());
  EXPECT_EQ(r.load(0)->waiting, 0);
  EXPECT_EQ(r.stats().routed, 3);
}

TEST(Router, AReportInsideTheGraceKeepsTheRecentRoutesCounted) {
  auto t = std::chrono::steady_clock::time_point{};
  RouterOptions o = block_size_16();
  o.routed_grace = std::chrono::milliseconds(500);
  o.now = [&t] { return t; };
  Router r = make_router("least_loaded", 2, o);
  EXPECT_EQ(*r.route(req(chain(2))), 0);
  // Node 0's report left it before that request arrived: the burst must still spread.
  t += std::chrono::milliseconds(100);
  ASSERT_TRUE(r.report_load(0, NodeLoad{}).ok());
  EXPECT_EQ(r.load(0)->waiting, 1);
  EXPECT_EQ(r.load(0)->pending_tokens, 32);
  EXPECT_EQ(*r.route(req(chain(2))), 1);
  // Past the grace the report stands alone.
  t += std::chrono::milliseconds(500);
  ASSERT_TRUE(r.report_load(0, NodeLoad{}).ok());
  EXPECT_EQ(r.load(0)->waiting, 0);
  EXPECT_EQ(r.load(0)->pending_tokens, 0);
}

TEST(Router, WithoutCountingEveryRouteSeesTheReportedLoad) {
  Router r = make_router("least_loaded", 2, not_counting());
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(*r.route(req(chain(2))), 0);
}

TEST(Router, LeaveDropsTheNodesIndexEntries) {
  Router r = make_router("prefix_aware", 2);
  const auto keys = chain(4);
  ASSERT_TRUE(r.apply(KvEvent{0, KvEventKind::stored, KvTierKind::device, keys}).ok());
  ASSERT_TRUE(r.apply(KvEvent{1, KvEventKind::stored, KvTierKind::device, keys}).ok());
  EXPECT_EQ(r.index().entries(), 8u);
  ASSERT_TRUE(r.leave(0).ok());
  EXPECT_EQ(r.index().entries(), 4u);
  // Rejoining starts empty.
  ASSERT_TRUE(r.join(0, NodeInfo{}).ok());
  auto d = r.decide(req(keys));
  EXPECT_EQ(d->node, 1);
}

TEST(Router, ClearDropsTheNodesEntriesAndKeepsItLive) {
  Router r = make_router("prefix_aware", 2, not_counting());
  const auto keys = chain(4);
  ASSERT_TRUE(r.apply(KvEvent{0, KvEventKind::stored, KvTierKind::device, keys}).ok());
  ASSERT_TRUE(r.apply(KvEvent{1, KvEventKind::stored, KvTierKind::device, chain(2)}).ok());
  EXPECT_EQ(r.decide(req(keys))->node, 0);
  ASSERT_TRUE(r.clear(0).ok());
  EXPECT_EQ(r.index().entries(), 2u);
  EXPECT_TRUE(r.live(0));
  EXPECT_EQ(r.decide(req(keys))->node, 1);  // the longer prefix it knew is forgotten
  EXPECT_FALSE(r.clear(7).ok());
}

}  // namespace
}  // namespace agentrt::cluster
