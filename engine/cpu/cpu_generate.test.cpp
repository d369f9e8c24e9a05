// generate() over the CPU backend with an in-memory random model.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>

#include "engine/cpu/cpu_backend.h"
#include "engine/cpu/test_model.h"
#include "engine/generator.h"

namespace agentrt::cpu {
namespace {

using testing::make_test_model;
using testing::TestModelOptions;

GenerationRequest greedy(std::vector<std::int32_t> prompt, int max_tokens) {
  GenerationRequest r;
  r.prompt = std::move(prompt);
  r.params.temperature = 0.0f;
  r.params.max_tokens = max_tokens;
  r.params.ignore_eos = true;
  return r;
}

TEST(CpuGenerate, BatchedEqualsEachAlone) {
  TestModelOptions o;
  o.qk_norm = true;
  o.bias = true;
  const auto m = make_test_model(o);
  auto backend = CpuBackend::create(m->config, m->weights, {64, 16, 2});
  ASSERT_TRUE(backend.ok());
  std::vector<GenerationRequest> reqs{greedy({1, 2, 3}, 12), greedy({5}, 20),
                                      greedy(std::vector<std::int32_t>(45, 7), 9)};
  reqs[2].prompt[10] = 3;
  reqs.push_back(reqs[0]);
  reqs.back().params.temperature = 0.8f;
  reqs.back().params.seed = 3;
  GeneratorOptions opts;
  opts.max_prefill_tokens_per_step = 20;
  auto batched = generate(**backend, m->config, reqs, opts);
  ASSERT_TRUE(batched.ok()) << batched.error().to_string();
  for (std::size_t i = 0; i < reqs.size(); ++i) {
    auto alone = generate(**backend, m->config, std::span(&reqs[i], 1));
    ASSERT_TRUE(alone.ok());
    EXPECT_EQ((*batched)[i].tokens, (*alone)[0].tokens) << "request " << i;
    EXPECT_EQ((*batched)[i].tokens.size(), static_cast<std::size_t>(reqs[i].params.max_tokens));
  }
}

// Decode speed of a hidden-512 model; run with --gtest_also_run_disabled_tests.
TEST(CpuGenerate, DISABLED_DecodeSpeed) {
  TestModelOptions o;
  o.hidden = 512;
  o.layers = 8;
  o.heads = 8;
  o.kv_heads = 4;
  o.intermediate = 1536;
  o.vocab = 32000;
  o.max_positions = 4096;
  const auto m = make_test_model(o);
  auto backend = CpuBackend::create(m->config, m->weights, {512, 16, 0});
  ASSERT_TRUE(backend.ok());
  for (int batch : {1, 8}) {
    std::vector<GenerationRequest> reqs(static_cast<std::size_t>(batch),
                                        greedy(std::vector<std::int32_t>(128, 5), 128));
    const auto t0 = std::chrono::steady_clock::now();
    auto r = generate(**backend, m->config, reqs);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    ASSERT_TRUE(r.ok());
    std::printf("batch %d: prompt 128 + 128 new tokens each: %.2f s, %.1f generated tok/s\n", batch,
                s, batch * 128 / s);
  }
}

}  // namespace
}  // namespace agentrt::cpu
