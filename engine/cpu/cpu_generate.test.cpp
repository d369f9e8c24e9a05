// generate() over the CPU backend with an in-memory random model.
#include <gtest/gtest.h>

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

}  // namespace
}  // namespace agentrt::cpu
