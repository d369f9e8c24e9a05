// SessionTable: pins chosen by longest prefix, expiry, gaps learned (also from tombstones),
// retain_s, modes, the cap, (client, model, tool) separation, and concurrent use. Time is a
// kv::FakeClock: nothing sleeps.
#include "api/session_table.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <thread>

namespace agentrt::api {
namespace {

using namespace std::chrono_literals;

PausedTurn turn(std::string key, std::vector<std::int32_t> tokens, kv::Duration ttl,
                std::string client = "c", std::string model = "m",
                std::vector<std::string> tools = {"calculator"}) {
  PausedTurn t;
  t.key = std::move(key);
  t.client = std::move(client);
  t.model = std::move(model);
  t.tools = std::move(tools);
  t.request = static_cast<RequestId>(tokens.empty() ? 0 : tokens.back());
  t.tokens = std::move(tokens);
  t.ttl = ttl;
  return t;
}

// Context large enough that recomputing always costs more than holding.
SessionPressure roomy() {
  SessionPressure p;
  p.context_tokens = 100000;
  p.seq_blocks = 1;
  p.total_blocks = 100;
  p.available_blocks = 100;
  return p;
}

kv::Duration predicted(const SessionTable& t, const std::string& client = "c",
                       const std::string& model = "m", const std::string& tool = "calculator") {
  return t.predict(client, model, {tool}, std::nullopt, roomy());
}

// Pauses and resumes `n` turns of key k after `gap` each.
void teach(SessionTable& table, kv::FakeClock& clock, int n, kv::Duration gap,
           const std::string& client = "c") {
  for (int i = 0; i < n; ++i) {
    auto cancel = table.put(turn("k", {1, 2, 3}, 60s, client));
    ASSERT_TRUE(cancel.empty());
    clock.advance(gap);
    ASSERT_TRUE(table.take("k", client, {1, 2, 3, 4}).has_value());
  }
}

chat::Conversation conversation(std::string system, std::string user) {
  chat::Conversation c;
  c.messages.push_back({chat::Role::system, std::move(system), {}, {}, {}, {}});
  c.messages.push_back({chat::Role::user, std::move(user), {}, {}, {}, {}});
  chat::ToolDefinition tool;
  tool.name = "calculator";
  tool.raw = {{"type", "function"}, {"function", {{"name", "calculator"}}}};
  c.tools.push_back(tool);
  return c;
}

TEST(SessionTable, ParsesModes) {
  EXPECT_EQ(parse_session_mode("predict"), SessionMode::predict);
  EXPECT_EQ(parse_session_mode("off"), SessionMode::off);
  EXPECT_EQ(parse_session_mode("fixed"), SessionMode::fixed);
  EXPECT_EQ(parse_session_mode("Fixed"), std::nullopt);
  EXPECT_EQ(parse_session_mode(""), std::nullopt);
  EXPECT_STREQ(to_string(SessionMode::fixed), "fixed");
}

TEST(SessionTable, ConversationKeyIsThePrefixUpToTheFirstUserMessage) {
  const auto base = conversation("sys", "What is 2+3?");
  auto later = base;
  later.messages.push_back({chat::Role::assistant, "", {}, {{"id", "calculator", "{}"}}, {}, {}});
  later.messages.push_back({chat::Role::tool, "5", {}, {}, "id", "calculator"});
  EXPECT_EQ(conversation_key("m", base), conversation_key("m", later));
  EXPECT_NE(conversation_key("m", base), conversation_key("m2", base));
  EXPECT_NE(conversation_key("m", base), conversation_key("m", conversation("sys", "2+4?")));
  EXPECT_NE(conversation_key("m", base),
            conversation_key("m", conversation("sys2", "What is 2+3?")));
  auto no_tools = base;
  no_tools.tools.clear();
  EXPECT_NE(conversation_key("m", base), conversation_key("m", no_tools));
  EXPECT_NE(explicit_session_key("m", "a"), explicit_session_key("m", "b"));
  EXPECT_NE(explicit_session_key("m", "a"), explicit_session_key("n", "a"));
}

TEST(SessionTable, TakesTheEntryWithTheLongestCommonPrefix) {
  kv::FakeClock clock;
  SessionTable table({}, &clock);
  ASSERT_TRUE(table.put(turn("k", {1, 2, 9, 9}, 10s)).empty());
  ASSERT_TRUE(table.put(turn("k", {1, 2, 3, 4, 5}, 10s)).empty());
  ASSERT_TRUE(table.put(turn("other", {1, 2, 3, 4, 5, 6}, 10s)).empty());
  auto got = table.take("k", "c", {1, 2, 3, 4, 5, 7, 8});
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->tokens, (std::vector<std::int32_t>{1, 2, 3, 4, 5}));
  got = table.take("k", "c", {1, 2, 3, 4, 5, 7, 8});
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->tokens, (std::vector<std::int32_t>{1, 2, 9, 9}));
  EXPECT_FALSE(table.take("k", "c", {1, 2}).has_value());
  const auto m = table.metrics();
  EXPECT_EQ(m.created, 3);
  EXPECT_EQ(m.hits, 2);
  EXPECT_EQ(m.active, 1);
  EXPECT_EQ(m.pinned_tokens, 6);
}

TEST(SessionTable, PinsNeverCrossClients) {
  kv::FakeClock clock;
  SessionTable table({}, &clock);
  ASSERT_TRUE(table.put(turn("k", {1, 2, 3}, 10s, "alice")).empty());
  EXPECT_FALSE(table.take("k", "bob", {1, 2, 3, 4}).has_value());
  EXPECT_TRUE(table.take("k", "alice", {1, 2, 3, 4}).has_value());
}

TEST(SessionTable, ExpiresAtTheTtl) {
  kv::FakeClock clock;
  SessionTable table({}, &clock);
  ASSERT_TRUE(table.put(turn("k", {1, 2, 3}, 1s)).empty());
  clock.advance(999ms);
  EXPECT_TRUE(table.expire().empty());
  EXPECT_EQ(table.metrics().active, 1);
  clock.advance(1ms);
  const auto gone = table.expire();
  ASSERT_EQ(gone.size(), 1u);
  EXPECT_EQ(gone[0].request, 3);
  const auto m = table.metrics();
  EXPECT_EQ(m.active, 0);
  EXPECT_EQ(m.pinned_tokens, 0);
  EXPECT_EQ(m.expired, 1);
  EXPECT_EQ(m.late, 0);
}

TEST(SessionTable, ATakeAfterTheTtlButBeforeTheSweepIsLate) {
  kv::FakeClock clock;
  SessionTable table({}, &clock);
  ASSERT_TRUE(table.put(turn("k", {1, 2, 3}, 1s)).empty());
  clock.advance(2s);
  EXPECT_TRUE(table.take("k", "c", {1, 2, 3, 4}).has_value());  // still returned: cancel it
  const auto m = table.metrics();
  EXPECT_EQ(m.hits, 0);
  EXPECT_EQ(m.late, 1);
  EXPECT_EQ(m.expired, 1);
}

TEST(SessionTable, PredictsFromTheGapsSeen) {
  kv::FakeClock clock;
  SessionOptions opt;
  opt.ttl = 2s;
  SessionTable table(opt, &clock);
  EXPECT_EQ(predicted(table), 2550ms);  // the cold-start gap x 1.25 + 50 ms
  teach(table, clock, 3, 500ms);
  // margin 1.25 x the 0.9-quantile + 50 ms slack.
  EXPECT_EQ(predicted(table), 675ms);
  EXPECT_EQ(table.metrics().hits, 3);
}

TEST(SessionTable, ALateReturnAfterExpiryTeachesTheLongGap) {
  kv::FakeClock clock;
  SessionTable table({}, &clock);
  teach(table, clock, 3, 500ms);
  const auto before = predicted(table);
  ASSERT_TRUE(table.put(turn("k", {1, 2, 3}, before)).empty());
  clock.advance(5s);
  ASSERT_EQ(table.expire().size(), 1u);
  EXPECT_FALSE(table.take("k", "c", {1, 2, 3, 4}).has_value());  // the tombstone
  EXPECT_GT(predicted(table), before);
  EXPECT_EQ(predicted(table), 6300ms);  // 1.25 x 5 s + 50 ms
  const auto m = table.metrics();
  EXPECT_EQ(m.late, 1);
  EXPECT_EQ(m.expired, 1);
  // The tombstone is used once.
  EXPECT_FALSE(table.take("k", "c", {1, 2, 3, 4}).has_value());
  EXPECT_EQ(table.metrics().late, 1);
}

TEST(SessionTable, TombstonesAreForgottenAfterTheirLifetime) {
  kv::FakeClock clock;
  SessionOptions opt;
  opt.tombstone_lifetime = 1min;
  SessionTable table(opt, &clock);
  ASSERT_TRUE(table.put(turn("k", {1, 2, 3}, 1s)).empty());
  clock.advance(2min);
  ASSERT_EQ(table.expire().size(), 1u);
  EXPECT_FALSE(table.take("k", "c", {1, 2, 3, 4}).has_value());
  EXPECT_EQ(table.metrics().late, 0);
  EXPECT_EQ(predicted(table), 2550ms);  // nothing learned: the cold start
}

TEST(SessionTable, AShortPromptDoesNotMatchALongerTombstone) {
  kv::FakeClock clock;
  SessionTable table({}, &clock);
  ASSERT_TRUE(table.put(turn("k", {1, 2, 3, 4, 5}, 1s)).empty());
  clock.advance(2s);
  ASSERT_EQ(table.expire().size(), 1u);
  EXPECT_FALSE(table.take("k", "c", {1, 2}).has_value());  // a new conversation, same start
  EXPECT_EQ(table.metrics().late, 0);
}

TEST(SessionTable, RetainSecondsOverridesWithinBounds) {
  kv::FakeClock clock;
  SessionOptions opt;
  opt.max_ttl = 100s;
  SessionTable table(opt, &clock);
  const auto p = roomy();
  const std::vector<std::string> tools{"calculator"};
  EXPECT_EQ(table.predict("c", "m", tools, 12.5, p), 12500ms);
  EXPECT_EQ(table.predict("c", "m", tools, 3600.0, p), 100s);
  EXPECT_EQ(table.predict("c", "m", tools, 0.0, p), 0s);
  EXPECT_EQ(table.predict("c", "m", tools, -1.0, p), 0s);
  EXPECT_EQ(table.predict("c", "m", tools, std::nan(""), p), 0s);
  EXPECT_EQ(table.predict("c", "m", tools, std::numeric_limits<double>::infinity(), p), 0s);
  // A put's ttl is bounded as well.
  ASSERT_TRUE(table.put(turn("k", {1}, 1h)).empty());
  clock.advance(100s);
  EXPECT_EQ(table.expire().size(), 1u);
}

TEST(SessionTable, ModeOffNeverPins) {
  kv::FakeClock clock;
  SessionOptions opt;
  opt.mode = SessionMode::off;
  SessionTable table(opt, &clock);
  EXPECT_EQ(table.predict("c", "m", {"calculator"}, std::nullopt, roomy()), 0s);
  EXPECT_EQ(table.predict("c", "m", {"calculator"}, 30.0, roomy()), 0s);  // operator's switch
  const auto cancel = table.put(turn("k", {1, 2, 3}, 10s));
  ASSERT_EQ(cancel.size(), 1u);  // the caller cancels it at once
  EXPECT_EQ(cancel[0].request, 3);
  EXPECT_FALSE(table.take("k", "c", {1, 2, 3, 4}).has_value());
  const auto m = table.metrics();
  EXPECT_EQ(m.created, 0);
  EXPECT_EQ(m.active, 0);
  EXPECT_EQ(m.late, 0);
}

TEST(SessionTable, ModeFixedIgnoresTheGaps) {
  kv::FakeClock clock;
  SessionOptions opt;
  opt.mode = SessionMode::fixed;
  opt.ttl = 7s;
  SessionTable table(opt, &clock);
  teach(table, clock, 5, 100ms);
  EXPECT_EQ(predicted(table), 7s);
  EXPECT_EQ(table.predict("c", "m", {"calculator"}, 1.5, roomy()), 1500ms);
}

TEST(SessionTable, AZeroTtlPauseIsCancelledButStillTeaches) {
  kv::FakeClock clock;
  SessionTable table({}, &clock);
  teach(table, clock, 3, 500ms);
  const auto cancel = table.put(turn("k", {1, 2, 3}, 0s));  // the policy chose not to pin
  ASSERT_EQ(cancel.size(), 1u);
  clock.advance(5s);
  EXPECT_FALSE(table.take("k", "c", {1, 2, 3, 4}).has_value());
  EXPECT_EQ(predicted(table), 6300ms);
  EXPECT_EQ(table.metrics().late, 0);
  EXPECT_EQ(table.metrics().created, 3);
}

TEST(SessionTable, RecomputeCheaperThanHoldingMeansNoPin) {
  kv::FakeClock clock;
  SessionTable table({}, &clock);
  SessionPressure p;
  p.context_tokens = 10;  // 2 ms to recompute at the default rate
  p.seq_blocks = 50;
  p.total_blocks = 100;
  p.available_blocks = 0;  // full pressure: holding half the pool for 2 s costs 1 s
  EXPECT_EQ(table.predict("c", "m", {"calculator"}, std::nullopt, p), 0s);
}

TEST(SessionTable, EvictsTheOldestBeyondMaxEntries) {
  kv::FakeClock clock;
  SessionOptions opt;
  opt.max_entries = 2;
  SessionTable table(opt, &clock);
  ASSERT_TRUE(table.put(turn("a", {1}, 10s)).empty());
  clock.advance(1ms);
  ASSERT_TRUE(table.put(turn("b", {2}, 10s)).empty());
  clock.advance(1ms);
  const auto cancel = table.put(turn("c", {3}, 10s));
  ASSERT_EQ(cancel.size(), 1u);
  EXPECT_EQ(cancel[0].key, "a");
  const auto m = table.metrics();
  EXPECT_EQ(m.evicted, 1);
  EXPECT_EQ(m.active, 2);
  EXPECT_EQ(m.created, 3);
  EXPECT_FALSE(table.take("a", "c", {1, 2}).has_value());
  EXPECT_EQ(table.metrics().late, 0);  // an eviction is not an expiry
}

TEST(SessionTable, GapsAreLearnedPerClientModelAndTool) {
  kv::FakeClock clock;
  SessionTable table({}, &clock);
  teach(table, clock, 3, 500ms, "alice");
  EXPECT_EQ(predicted(table, "alice"), 675ms);
  EXPECT_EQ(predicted(table, "bob"), 2550ms);
  EXPECT_EQ(predicted(table, "alice", "other-model"), 2550ms);
  EXPECT_EQ(predicted(table, "alice", "m", "search"), 2550ms);
  // Several tools: the longest prediction counts.
  EXPECT_EQ(table.predict("alice", "m", {"calculator", "search"}, std::nullopt, roomy()), 2550ms);
}

TEST(SessionTable, ConcurrentUseKeepsTheCountsConsistent) {
  kv::FakeClock clock;
  SessionOptions opt;
  opt.max_entries = 64;
  SessionTable table(opt, &clock);
  constexpr int kThreads = 4;
  constexpr int kRounds = 500;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&table, t] {
      const std::string key = "k" + std::to_string(t);
      for (int i = 0; i < kRounds; ++i) {
        (void)table.put(turn(key, {t, i}, 10s, "c" + std::to_string(t)));
        (void)table.take(key, "c" + std::to_string(t), {t, i, 7});
        (void)table.expire();
        (void)table.metrics();
        (void)table.predict("c", "m", {"calculator"}, std::nullopt, roomy());
      }
    });
  }
  for (auto& th : threads)
    th.join();
  const auto m = table.metrics();
  EXPECT_EQ(m.created, kThreads * kRounds);
  EXPECT_EQ(m.hits + m.active + m.evicted + m.expired, m.created);
  EXPECT_EQ(m.active, 0);
}

}  // namespace
}  // namespace agentrt::api
