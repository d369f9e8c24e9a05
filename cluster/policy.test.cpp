#include "cluster/policy.h"

#include <gtest/gtest.h>

#include "cluster/policy_least_loaded.h"
#include "cluster/policy_prefix_aware.h"
#include "cluster/policy_program_affinity.h"
#include "cluster/policy_round_robin.h"

namespace agentrt::cluster {
namespace {

Candidate node(NodeId id, std::int32_t active, std::int32_t device_blocks = 0,
               std::int64_t pending = 0) {
  Candidate c;
  c.node = id;
  c.load.running = active;
  c.load.pending_tokens = pending;
  c.match = PrefixMatch{id, device_blocks, device_blocks};
  return c;
}

RouteRequest request(int blocks, std::string program = {}) {
  RouteRequest r;
  r.blocks.resize(static_cast<std::size_t>(blocks));
  r.program = std::move(program);
  return r;
}

TEST(RoutingPolicy, MakePolicyByName) {
  for (const std::string& name : policy_names()) {
    auto p = make_policy(name);
    ASSERT_TRUE(p.ok()) << name;
    EXPECT_EQ((*p)->name(), name);
  }
  auto bad = make_policy("random");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, ErrorCode::invalid_argument);
  EXPECT_NE(bad.error().message.find("'random'"), std::string::npos);
}

TEST(RoundRobinPolicy, CyclesByIdAndSkipsMissingNodes) {
  RoundRobinPolicy p;
  std::vector<Candidate> nodes{node(0, 9), node(2, 0), node(5, 0)};
  const RouteRequest r = request(1);
  EXPECT_EQ(p.choose(r, nodes), 0);
  EXPECT_EQ(p.choose(r, nodes), 2);
  EXPECT_EQ(p.choose(r, nodes), 5);
  EXPECT_EQ(p.choose(r, nodes), 0);
  // Node 2 is gone (not offered): the turn after 0 is 5.
  std::vector<Candidate> without{node(0, 0), node(5, 0)};
  EXPECT_EQ(p.choose(r, without), 5);
  EXPECT_EQ(p.choose(r, without), 0);
}

TEST(LeastLoadedPolicy, FewestActiveThenPendingTokensThenLowestId) {
  LeastLoadedPolicy p;
  const RouteRequest r = request(1);
  std::vector<Candidate> nodes{node(0, 3), node(1, 2, 0, 500), node(2, 2, 0, 100)};
  EXPECT_EQ(p.choose(r, nodes), 2);
  std::vector<Candidate> tied{node(4, 1, 0, 7), node(6, 1, 0, 7), node(9, 5)};
  EXPECT_EQ(p.choose(r, tied), 4);
}

TEST(PrefixAwarePolicy, LongerPrefixWinsAtEqualLoad) {
  PrefixAwarePolicy p;
  std::vector<Candidate> nodes{node(0, 2, 1), node(1, 2, 6), node(2, 2, 3)};
  EXPECT_EQ(p.choose(request(8), nodes), 1);
}

TEST(PrefixAwarePolicy, LoadOutweighsASmallPrefix) {
  PrefixAwarePolicy p;  // load_weight 0.5
  // Node 0 holds 1 of 10 blocks (hit 0.1) but runs 12 sequences; mean active 6.5.
  std::vector<Candidate> nodes{node(0, 12, 1), node(1, 1, 0)};
  const RouteRequest r = request(10);
  EXPECT_LT(p.score(r, nodes[0], nodes), p.score(r, nodes[1], nodes));
  EXPECT_EQ(p.choose(r, nodes), 1);
  // With 9 of 10 blocks cached there, the prefix wins.
  nodes[0].match = PrefixMatch{0, 9, 9};
  EXPECT_EQ(p.choose(r, nodes), 0);
}

TEST(PrefixAwarePolicy, HostAndPersistedBlocksWeighLess) {
  PrefixAwarePolicy p;
  std::vector<Candidate> nodes{node(0, 0), node(1, 0)};
  nodes[0].match = PrefixMatch{0, 4, 0, 0, 4};  // 4 persisted blocks: 4 x 0.5
  nodes[1].match = PrefixMatch{1, 3, 3};        // 3 device blocks
  EXPECT_EQ(p.choose(request(4), nodes), 1);
}

TEST(PrefixAwarePolicy, TiesGoToLongerPrefixThenLessLoadedThenLowestId) {
  PrefixAwareOptions o;
  o.load_weight = 0.0;
  PrefixAwarePolicy p(o);
  // Same score (weighted hit 2.0) from 2 device blocks or from 4 persisted ones.
  std::vector<Candidate> nodes{node(0, 0, 2), node(1, 0)};
  nodes[1].match = PrefixMatch{1, 4, 0, 0, 4};
  EXPECT_EQ(p.choose(request(8), nodes), 1);
  std::vector<Candidate> loads{node(3, 5, 2), node(4, 2, 2), node(7, 2, 2)};
  EXPECT_EQ(p.choose(request(8), loads), 4);
  std::vector<Candidate> none{node(3, 0), node(4, 0)};
  EXPECT_EQ(p.choose(request(8), none), 3);
}

TEST(PrefixAwarePolicy, ImbalanceGuardIgnoresTheCache) {
  PrefixAwareOptions o;
  o.balance_abs = 4;
  o.balance_rel = 1.5;
  PrefixAwarePolicy p(o);
  std::vector<Candidate> nodes{node(0, 10, 8), node(1, 3, 0), node(2, 3, 1)};
  // 10 - 3 > 4 and 10 > 1.5 x 3: least loaded, the longer prefix breaking the tie.
  EXPECT_EQ(p.choose(request(8), nodes), 2);
}

TEST(ProgramAffinityPolicy, TurnsStickToTheFirstNode) {
  ProgramAffinityPolicy p;
  std::vector<Candidate> nodes{node(0, 0), node(1, 0), node(2, 0)};
  const NodeId first = p.choose(request(4, "prog-a"), nodes);
  // Another node now holds a longer prefix; the program stays home.
  for (Candidate& c : nodes)
    if (c.node != first) c.match = PrefixMatch{c.node, 4, 4};
  EXPECT_EQ(p.choose(request(4, "prog-a"), nodes), first);
  EXPECT_EQ(p.programs(), 1u);
  p.program_done("prog-a");
  EXPECT_EQ(p.programs(), 0u);
  EXPECT_NE(p.choose(request(4, "prog-a"), nodes), first);
}

TEST(ProgramAffinityPolicy, OverloadedHomeMovesTheProgram) {
  ProgramAffinityOptions o;
  o.overload_factor = 1.5;
  o.overload_slack = 2;
  ProgramAffinityPolicy p(o);
  std::vector<Candidate> nodes{node(0, 0), node(1, 1)};
  EXPECT_EQ(p.choose(request(4, "x"), nodes), 0);
  // Mean 5, limit 1.5 x 5 + 2 = 9.5: 9 stays, 12 moves.
  nodes[0].load.running = 9;
  EXPECT_EQ(p.choose(request(4, "x"), nodes), 0);
  nodes[0].load.running = 12;
  nodes[1].load.running = 0;  // mean 6, limit 11
  EXPECT_EQ(p.choose(request(4, "x"), nodes), 1);
  EXPECT_EQ(p.moved(), 1);
  nodes[0].load.running = 0;  // the new home is kept
  EXPECT_EQ(p.choose(request(4, "x"), nodes), 1);
}

TEST(ProgramAffinityPolicy, ResumeGoesBackToItsNode) {
  ProgramAffinityPolicy p;
  std::vector<Candidate> nodes{node(0, 0, 4), node(1, 0), node(2, 0)};
  RouteRequest r = request(4);
  r.resume_of = 2;
  EXPECT_EQ(p.choose(r, nodes), 2);
}

TEST(ProgramAffinityPolicy, DeadHomeIsNeverChosen) {
  ProgramAffinityPolicy p;
  std::vector<Candidate> nodes{node(0, 0), node(1, 3)};
  EXPECT_EQ(p.choose(request(2, "y"), nodes), 0);
  // Node 0 is gone without node_left() having been called yet: not offered, not chosen.
  std::vector<Candidate> rest{node(1, 3)};
  EXPECT_EQ(p.choose(request(2, "y"), rest), 1);
  RouteRequest r = request(2, "z");
  r.resume_of = 0;
  EXPECT_EQ(p.choose(r, rest), 1);
  EXPECT_EQ(p.moved(), 0);
}

TEST(ProgramAffinityPolicy, NodeLeftForgetsItsPrograms) {
  ProgramAffinityPolicy p;
  std::vector<Candidate> nodes{node(0, 0), node(1, 1)};
  EXPECT_EQ(p.choose(request(1, "a"), nodes), 0);
  EXPECT_EQ(p.choose(request(1, "b"), nodes), 0);
  p.node_left(0);
  EXPECT_EQ(p.programs(), 0u);
}

TEST(ProgramAffinityPolicy, ProgramTableIsBounded) {
  ProgramAffinityOptions o;
  o.max_programs = 16;
  ProgramAffinityPolicy p(o);
  std::vector<Candidate> nodes{node(0, 0), node(1, 0)};
  for (int i = 0; i < 100; ++i)
    (void)p.choose(request(1, "p" + std::to_string(i)), nodes);
  EXPECT_LE(p.programs(), 16u);
}

}  // namespace
}  // namespace agentrt::cluster
