// KV persistence across engines on the CPU backend with the embedded model (tiny-calc): a
// second engine over the same persistent tier, as a new process would be, prefills only
// the uncached tail and gives the same greedy tokens.
#include <gtest/gtest.h>

#include "engine/cpu/cpu_backend.h"
#include "engine/engine.h"
#include "engine/kv/memory_tier.h"

namespace agentrt::cpu {
namespace {

struct Outcome {
  std::vector<std::int32_t> tokens;
  EngineStats stats;
  kv::KvMetrics kv;
};

Outcome run_once(const std::shared_ptr<const model::Model>& m, kv::KvTier* tier,
                 const std::vector<std::int32_t>& prompt) {
  auto backend = CpuBackend::create(m, {64, 16, 2});
  EXPECT_TRUE(backend.ok());
  auto engine = Engine::create({backend->get(), &m->config(), m->fingerprint(), tier, nullptr}, {});
  EXPECT_TRUE(engine.ok());
  Outcome out;
  EngineRequest r;
  r.prompt = prompt;
  r.params.temperature = 0.0f;
  r.params.max_tokens = 12;
  r.params.ignore_eos = true;
  EXPECT_TRUE((*engine)->add_request(std::move(r)).ok());
  while ((*engine)->has_work()) {
    auto ev = (*engine)->step();
    EXPECT_TRUE(ev.ok());
    if (!ev.ok()) break;
    for (const auto& e : *ev)
      if (e.kind == EventKind::token) out.tokens.push_back(e.token);
  }
  EXPECT_TRUE((*engine)->flush_persistent().ok());
  out.stats = (*engine)->stats();
  out.kv = (*engine)->kv_metrics();
  return out;
}

TEST(KvPersistence, SecondEngineRestoresFromTheTier) {
  auto m = model::Model::load(std::string(AGENTRT_SOURCE_DIR) + "/models/tiny-calc");
  ASSERT_TRUE(m.ok()) << m.error().to_string();
  std::vector<std::int32_t> prompt;
  for (int i = 0; i < 50; ++i)
    prompt.push_back(100 + (i * 37) % 500);
  kv::testing::MemoryTier tier;
  const Outcome first = run_once(*m, &tier, prompt);
  EXPECT_EQ(first.stats.prefilled_tokens, 50);
  EXPECT_EQ(first.kv.persisted_blocks, 3);  // 61 tokens of KV
  const Outcome second = run_once(*m, &tier, prompt);
  EXPECT_EQ(second.tokens, first.tokens);
  EXPECT_EQ(second.stats.prefilled_tokens, 2);  // 3 blocks of 16 restored
  EXPECT_EQ(second.kv.hit_tokens[2], 48);
  EXPECT_EQ(second.kv.persisted_blocks, 0);  // its full blocks came from the tier
}

}  // namespace
}  // namespace agentrt::cpu
