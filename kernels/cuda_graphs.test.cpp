// Decode steps through CUDA graphs: a replayed graph gives bit-identical logits to the same
// bucket-padded layout run eagerly, a recapture after the buffers grew too, and the padded
// path matches the ungraphed backend within bf16 tolerance.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "kernels/cuda_backend.h"
#include "kernels/test_util.h"

namespace agentrt::kernels {
namespace {

// A small Qwen2-style config with head_dim 64, so decode runs the tensor-core kernel.
model::ModelConfig small_config() {
  auto c = model::parse_config(R"({"architectures": ["Qwen2ForCausalLM"], "vocab_size": 1000,
      "hidden_size": 256, "intermediate_size": 512, "num_hidden_layers": 2,
      "num_attention_heads": 4, "num_key_value_heads": 2, "rms_norm_eps": 1e-6,
      "rope_theta": 1000000.0, "max_position_embeddings": 4096, "tie_word_embeddings": true,
      "hidden_act": "silu", "torch_dtype": "bfloat16"})",
                               "small/config.json");
  EXPECT_TRUE(c.ok()) << c.error().to_string();
  return *c;
}

constexpr int kBlocksPerSeq = 64;  // 1024 tokens

// `batch` sequences, sequence s at position base + 37 * s, with its own blocks.
BatchPlan decode_plan(int batch, int base) {
  BatchPlan plan;
  for (int s = 0; s < batch; ++s) {
    SequenceChunk c;
    c.tokens = {(s * 131 + base) % 1000};
    c.start_pos = (base + 37 * s) % (kBlocksPerSeq * 16 - 1);
    for (int b = 0; b < kBlocksPerSeq; ++b)
      c.block_table.push_back(s * kBlocksPerSeq + b);
    plan.seqs.push_back(std::move(c));
  }
  return plan;
}

std::unique_ptr<CudaBackend> make(const model::ModelConfig& cfg, bool graphs, int batch) {
  CudaBackendOptions o;
  o.num_blocks = batch * kBlocksPerSeq;
  o.dtype = Dtype::bf16;
  o.decode_graphs = graphs;
  return test::random_backend(cfg, o, 11, 5);
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

TEST(CudaGraphs, ReplayEqualsEagerBucketLayoutBitForBit) {
  AGENTRT_REQUIRE_CUDA_DEVICE();
  const auto cfg = small_config();
  auto b = make(cfg, true, 40);
  ASSERT_TRUE(b);
  for (int batch : {1, 5, 33}) {  // buckets 1, 8, 48
    const BatchPlan plan = decode_plan(batch, 300 + batch);
    const std::vector<float> first = test::forward_logits(*b, plan);  // eager, then captured
    ASSERT_EQ(first.size(), static_cast<std::size_t>(batch) * cfg.vocab_size);
    const std::int64_t replays = b->graph_replays();
    const std::vector<float> replayed = test::forward_logits(*b, plan);
    EXPECT_EQ(b->graph_replays(), replays + 1);
    b->set_graph_replay(false);
    const std::vector<float> eager = test::forward_logits(*b, plan);
    b->set_graph_replay(true);
    EXPECT_TRUE(same_bits(first, replayed)) << "batch " << batch;
    EXPECT_TRUE(same_bits(eager, replayed)) << "batch " << batch;
    // Another step of the same bucket (new positions and tokens; maybe another split count).
    const BatchPlan next = decode_plan(batch, 700 + batch);
    const std::vector<float> next_replayed = test::forward_logits(*b, next);
    b->set_graph_replay(false);
    const std::vector<float> next_eager = test::forward_logits(*b, next);
    b->set_graph_replay(true);
    EXPECT_TRUE(same_bits(next_replayed, next_eager)) << "batch " << batch;
  }
  EXPECT_GE(b->graphs_captured(), 3);
}

TEST(CudaGraphs, RecapturesAfterBuffersGrow) {
  AGENTRT_REQUIRE_CUDA_DEVICE();
  const auto cfg = small_config();
  auto b = make(cfg, true, 4);
  ASSERT_TRUE(b);
  const BatchPlan plan = decode_plan(3, 500);
  test::forward_logits(*b, plan);
  const std::vector<float> before = test::forward_logits(*b, plan);
  // A 600-token prefill of sequence 3 (its own blocks) grows every activation buffer.
  BatchPlan prefill;
  SequenceChunk c;
  for (int i = 0; i < 600; ++i)
    c.tokens.push_back((i * 7) % 1000);
  c.start_pos = 0;
  for (int blk = 0; blk < kBlocksPerSeq; ++blk)
    c.block_table.push_back(3 * kBlocksPerSeq + blk);
  prefill.seqs.push_back(c);
  test::forward_logits(*b, prefill);
  const std::vector<float> after = test::forward_logits(*b, plan);  // recaptured
  const std::vector<float> replayed = test::forward_logits(*b, plan);
  EXPECT_TRUE(same_bits(before, after));
  EXPECT_TRUE(same_bits(after, replayed));
}

TEST(CudaGraphs, MatchUngraphedBackendWithinBf16Tolerance) {
  AGENTRT_REQUIRE_CUDA_DEVICE();
  const auto cfg = small_config();
  auto with = make(cfg, true, 40), without = make(cfg, false, 40);
  ASSERT_TRUE(with && without);
  for (int batch : {1, 5, 33}) {
    for (int base : {20, 900}) {
      const BatchPlan plan = decode_plan(batch, base);
      test::forward_logits(*with, plan);  // capture
      const std::vector<float> g = test::forward_logits(*with, plan);
      const std::vector<float> ref = test::forward_logits(*without, plan);
      ASSERT_EQ(g.size(), ref.size());
      const double err = test::rel_error(g, std::vector<double>(ref.begin(), ref.end()));
      EXPECT_LT(err, test::tolerance(Dtype::bf16)) << "batch " << batch << " base " << base;
    }
  }
}

// The Engine's device-sampling path at temperature 0: forward_sample() gives the argmax of
// forward()'s rows (lowest id on ties) and its raw log-softmax, with and without graphs.
TEST(CudaGraphs, ForwardSampleGreedyIsArgmaxOfForward) {
  AGENTRT_REQUIRE_CUDA_DEVICE();
  const auto cfg = small_config();
  for (bool graphs : {false, true}) {
    auto b = make(cfg, graphs, 40);
    ASSERT_TRUE(b);
    for (int batch : {1, 6, 40}) {
      const BatchPlan plan = decode_plan(batch, 450);
      const std::vector<float> rows = test::forward_logits(*b, plan);
      std::vector<DeviceSample> out;
      const std::vector<DeviceSampling> greedy(static_cast<std::size_t>(batch));
      const Status st = b->forward_sample(plan, greedy, {}, true, out);
      ASSERT_TRUE(st.ok()) << st.error().to_string();
      ASSERT_EQ(out.size(), static_cast<std::size_t>(batch));
      for (int r = 0; r < batch; ++r) {
        const auto row = rows.begin() + static_cast<std::ptrdiff_t>(r) * cfg.vocab_size;
        const auto best = std::max_element(row, row + cfg.vocab_size) - row;
        EXPECT_EQ(out[static_cast<std::size_t>(r)].token, best)
            << "graphs " << graphs << " row " << r;
        double sum = 0;
        for (int i = 0; i < cfg.vocab_size; ++i)
          sum += std::exp(double(row[i]) - row[best]);
        EXPECT_NEAR(out[static_cast<std::size_t>(r)].logprob, -std::log(sum), 1e-4);
      }
    }
    // A params count that does not match the sequences is refused.
    std::vector<DeviceSample> out;
    const std::vector<DeviceSampling> two(2);
    EXPECT_FALSE(b->forward_sample(decode_plan(3, 450), two, {}, false, out).ok());
  }
}

// Overlapped steps: a step launched before the one before it is collected takes that step's
// ids on the device (pending tokens, here in reversed row order), with and without graphs,
// and gives bit for bit what forward_sample() gives with the ids known on the host.
TEST(CudaGraphs, LaunchedStepsTakePendingTokensOnTheDevice) {
  AGENTRT_REQUIRE_CUDA_DEVICE();
  const auto cfg = small_config();
  constexpr int kBatch = 12;
  const BatchPlan first = decode_plan(kBatch, 450);
  auto next = [&](const std::vector<DeviceSample>* ids) {
    BatchPlan plan;
    for (int s = kBatch - 1; s >= 0; --s) {
      SequenceChunk c = first.seqs[static_cast<std::size_t>(s)];
      ++c.start_pos;
      c.tokens = {ids ? (*ids)[static_cast<std::size_t>(s)].token : pending_token(s)};
      plan.seqs.push_back(std::move(c));
    }
    return plan;
  };
  std::vector<DeviceSampling> params(kBatch);
  for (int r = 0; r < kBatch; r += 3)  // some rows sampled, the rest greedy
    params[static_cast<std::size_t>(r)] = {0.9f, 40, 0.95f, 0.0f, 7u + r, 100u, -1};
  for (bool graphs : {false, true}) {
    auto over = make(cfg, graphs, kBatch), sync = make(cfg, graphs, kBatch);
    ASSERT_TRUE(over && sync);
    ASSERT_TRUE(over->launch_sample(first, params, true).ok());
    const Status second = over->launch_sample(next(nullptr), params, true);
    ASSERT_TRUE(second.ok()) << second.error().to_string();
    const Status third = over->launch_sample(next(nullptr), params, true);
    EXPECT_FALSE(third.ok());  // two launches outstanding
    std::vector<DeviceSample> a1, a2, b1, b2;
    ASSERT_TRUE(over->collect_sample(a1).ok());
    ASSERT_TRUE(over->collect_sample(a2).ok());
    EXPECT_FALSE(over->collect_sample(a2).ok());  // none left
    ASSERT_TRUE(sync->forward_sample(first, params, {}, true, b1).ok());
    ASSERT_TRUE(sync->forward_sample(next(&b1), params, {}, true, b2).ok());
    ASSERT_EQ(a1.size(), b1.size());
    ASSERT_EQ(a2.size(), b2.size());
    for (std::size_t r = 0; r < a1.size(); ++r) {
      EXPECT_EQ(a1[r].token, b1[r].token) << "graphs " << graphs << " row " << r;
      EXPECT_EQ(a2[r].token, b2[r].token) << "graphs " << graphs << " row " << r;
      EXPECT_EQ(std::memcmp(&a2[r].logprob, &b2[r].logprob, sizeof(float)), 0)
          << "graphs " << graphs << " row " << r;
    }
    // A pending token needs a launch before it with that row; forward_sample takes none.
    BatchPlan bad = next(nullptr);
    bad.seqs[0].tokens[0] = pending_token(kBatch);
    EXPECT_FALSE(over->launch_sample(bad, params, false).ok());
    std::vector<DeviceSample> out;
    EXPECT_FALSE(sync->forward_sample(next(nullptr), params, {}, false, out).ok());
  }
}

}  // namespace
}  // namespace agentrt::kernels
