// KV that outlives a Runtime: two runtimes, one after the other, over the same persistent
// tier (a thread-safe in-memory stand-in for storage::KvStore), on the CPU with tiny-calc.
// The second run of the same agent and input prefills only what the first did not leave
// in the tier, and gives the same greedy output.
#include <gtest/gtest.h>

#include "actors/runtime.h"
#include "engine/kv/memory_tier.h"

namespace agentrt::actors {
namespace {

RuntimeOptions options(std::shared_ptr<kv::testing::MemoryTier> tier, std::string* fingerprint) {
  RuntimeOptions o;
  o.model_dir = std::string(AGENTRT_SOURCE_DIR) + "/models/tiny-calc";
  o.kv_blocks = 256;
  o.cpu_threads = 2;
  o.actor_threads = 2;
  o.tools.push_back(ToolConfig{});  // calculator
  o.persistent = [tier, fingerprint](const std::string& fp) -> Result<std::shared_ptr<kv::KvTier>> {
    *fingerprint = fp;
    return std::shared_ptr<kv::KvTier>(tier);
  };
  return o;
}

AgentSpec solver() {
  AgentSpec a;
  a.name = "solver";
  a.system_prompt =
      "You solve arithmetic word problems. Use the calculator tool for every operation, then "
      "give the final line as 'Answer: N'.";
  a.tools = {"calculator"};
  a.sampling.temperature = 0.0f;
  a.sampling.max_tokens = 96;
  a.max_turns = 6;
  return a;
}

const char* kProblem =
    "Sam has 13 stamps. Kate has 7 more stamps than Sam. Rosa has 4 coins. How many stamps "
    "does Kate have?";

struct Outcome {
  AgentResult result;
  RuntimeMetrics metrics;
};

Outcome run_once(const std::shared_ptr<kv::testing::MemoryTier>& tier, std::string* fp) {
  auto rt = Runtime::create(options(tier, fp));
  EXPECT_TRUE(rt.ok()) << rt.error().to_string();
  auto r = (*rt)->run_agent(solver(), kProblem);
  EXPECT_TRUE(r.ok()) << r.error().to_string();
  return {*r, (*rt)->metrics()};  // ~Runtime flushes what the tier lacks
}

TEST(RuntimePersist, SecondRuntimePrefillsOnlyTheTail) {
  auto tier = std::make_shared<kv::testing::MemoryTier>();
  std::string fingerprint;
  const Outcome first = run_once(tier, &fingerprint);
  EXPECT_FALSE(fingerprint.empty());
  EXPECT_GE(first.result.tool_calls, 1) << "tiny-calc calls the calculator";
  EXPECT_EQ(first.metrics.kv.hit_tokens[2], 0);
  const std::size_t stored = tier->size();
  EXPECT_GT(stored, 0u);
  const auto puts = tier->puts();

  const Outcome second = run_once(tier, &fingerprint);
  EXPECT_EQ(second.result.output, first.result.output);
  EXPECT_EQ(second.result.conversation.messages.size(), first.result.conversation.messages.size());
  EXPECT_EQ(second.result.generated_tokens, first.result.generated_tokens);
  const std::int64_t restored = second.metrics.kv.hit_tokens[2];
  EXPECT_GT(restored, 0);
  EXPECT_EQ(second.metrics.engine.prefilled_tokens,
            first.metrics.engine.prefilled_tokens - restored);
  // Nothing new to store. Only blocks the second run computed itself (the tail of each
  // prompt and the replies) are written again, once.
  EXPECT_EQ(tier->size(), stored);
  const auto& e = second.metrics.engine;
  EXPECT_LE(tier->puts() - puts,
            (e.prefilled_tokens + e.decoded_tokens) / 16 + second.result.turns);
}

TEST(RuntimePersist, FlushWithoutATierIsOk) {
  RuntimeOptions o;
  o.model_dir = std::string(AGENTRT_SOURCE_DIR) + "/models/tiny-calc";
  o.kv_blocks = 64;
  o.cpu_threads = 1;
  o.host_tier_bytes = 0;
  auto rt = Runtime::create(o);
  ASSERT_TRUE(rt.ok()) << rt.error().to_string();
  EXPECT_TRUE((*rt)->flush_kv().ok());
}

TEST(RuntimePersist, TierFactoryErrorsFailTheCreate) {
  RuntimeOptions o;
  o.model_dir = std::string(AGENTRT_SOURCE_DIR) + "/models/tiny-calc";
  o.kv_blocks = 64;
  o.persistent = [](const std::string&) -> Result<std::shared_ptr<kv::KvTier>> {
    return make_error(ErrorCode::io, "kv store: disk on fire");
  };
  auto rt = Runtime::create(o);
  ASSERT_FALSE(rt.ok());
  EXPECT_EQ(rt.error().code, ErrorCode::io);
  EXPECT_NE(rt.error().message.find("persistent KV tier"), std::string::npos);
}

}  // namespace
}  // namespace agentrt::actors
