// Cascade decode through the backend: forked sequences whose block tables share a prefix
// give the same logits (bf16 tolerance) with the cascade as without it, eagerly and from a
// CUDA graph; a graph replays while the members' own keys grow, and replay equals the same
// layout run eagerly bit for bit; forked samples through the Engine take the cascade.
#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <string>

#include "engine/engine.h"
#include "engine/model/model.h"
#include "kernels/cuda_backend.h"
#include "kernels/test_util.h"

namespace agentrt::kernels {
namespace {

// head_dim 64 with 7 query heads per kv head (Qwen2.5-0.5B's group), or head_dim 128 with 4
// (Llama-3.1-8B's).
model::ModelConfig config(int heads, int hidden) {
  auto c = model::parse_config(R"({"architectures": ["Qwen2ForCausalLM"], "vocab_size": 1000,
      "hidden_size": )" + std::to_string(hidden) +
                                   R"(, "intermediate_size": 512, "num_hidden_layers": 2,
      "num_attention_heads": )" + std::to_string(heads) +
                                   R"(, "num_key_value_heads": 1, "rms_norm_eps": 1e-6,
      "rope_theta": 1000000.0, "max_position_embeddings": 4096, "tie_word_embeddings": true,
      "hidden_act": "silu", "torch_dtype": "bfloat16"})",
                               "cascade/config.json");
  EXPECT_TRUE(c.ok()) << c.error().to_string();
  return *c;
}

constexpr int kPrefixBlocks = 24;  // 384 shared keys
constexpr int kMembers = 20;
constexpr int kOwnBlocks = 3;

// kMembers forks of one prompt at `step` tokens past it (each in its own blocks), then one
// unrelated sequence.
BatchPlan forked_plan(int step) {
  BatchPlan plan;
  for (int k = 0; k < kMembers; ++k) {
    SequenceChunk c;
    c.tokens = {(k * 37 + step) % 1000};
    c.start_pos = kPrefixBlocks * 16 + step + k % 3;
    for (int b = 0; b < kPrefixBlocks; ++b)
      c.block_table.push_back(b);
    for (int b = 0; b < kOwnBlocks; ++b)
      c.block_table.push_back(kPrefixBlocks + k * kOwnBlocks + b);
    plan.seqs.push_back(std::move(c));
  }
  SequenceChunk other;
  other.tokens = {5};
  other.start_pos = 500;
  for (int b = 0; b < 32; ++b)
    other.block_table.push_back(kPrefixBlocks + kMembers * kOwnBlocks + b);
  plan.seqs.push_back(std::move(other));
  return plan;
}

std::unique_ptr<CudaBackend> make(const model::ModelConfig& cfg, bool cascade, bool graphs) {
  CudaBackendOptions o;
  o.num_blocks = kPrefixBlocks + kMembers * kOwnBlocks + 32;
  o.dtype = Dtype::bf16;
  o.cascade_decode = cascade;
  o.decode_graphs = graphs;
  return test::random_backend(cfg, o, 3, 9);
}

double rel_error(const std::vector<float>& got, const std::vector<float>& ref) {
  return test::rel_error(got, std::vector<double>(ref.begin(), ref.end()));
}

void check_shape(int heads, int hidden) {
  const auto cfg = config(heads, hidden);
  auto plain = make(cfg, false, false);
  auto eager = make(cfg, true, false);
  auto graphed = make(cfg, true, true);
  ASSERT_TRUE(plain && eager && graphed);
  for (int step = 0; step < 4; ++step) {
    const BatchPlan plan = forked_plan(step);
    const std::vector<float> ref = test::forward_logits(*plain, plan);
    const std::vector<float> got = test::forward_logits(*eager, plan);
    const std::vector<float> replayed = test::forward_logits(*graphed, plan);
    ASSERT_EQ(got.size(), ref.size());
    const double err = rel_error(got, ref), gerr = rel_error(replayed, ref);
    std::cout << "[rel error] cascade d" << cfg.head_dim << " group " << heads << " step " << step
              << ": eager " << err << ", graph " << gerr << "\n";
    EXPECT_LE(err, 1e-2);
    EXPECT_LE(gerr, 1e-2);
    graphed->set_graph_replay(false);
    const std::vector<float> same_layout = test::forward_logits(*graphed, plan);
    graphed->set_graph_replay(true);
    EXPECT_EQ(std::memcmp(same_layout.data(), replayed.data(), replayed.size() * 4), 0);
  }
  EXPECT_EQ(plain->cascade_steps(), 0);
  EXPECT_EQ(eager->cascade_steps(), 4);
  // Steps 1-3 replay step 0's graph: the members' own keys grew, the lists' sizes did not.
  EXPECT_EQ(graphed->graphs_captured(), 1);
  EXPECT_EQ(graphed->graph_replays(), 3);
}

TEST(CudaCascade, HeadDim64Group7MatchesPlainDecode) {
  AGENTRT_REQUIRE_CUDA_DEVICE();
  check_shape(7, 448);
}

TEST(CudaCascade, HeadDim128Group4MatchesPlainDecode) {
  AGENTRT_REQUIRE_CUDA_DEVICE();
  check_shape(4, 512);
}

// Through the Engine on tiny-calc (bf16, head_dim 64): 8 greedy samples forked after a
// 300-token prompt decode with the cascade (the KV manager gave them the prompt's blocks),
// all alike, and equal to the same run without it.
TEST(CudaCascade, EngineForksDecodeThroughTheCascade) {
  AGENTRT_REQUIRE_CUDA_DEVICE();
  auto model = model::Model::load(std::string(AGENTRT_SOURCE_DIR) + "/models/tiny-calc");
  ASSERT_TRUE(model.ok()) << model.error().to_string();
  auto run = [&](bool cascade, std::int64_t& cascade_steps) {
    CudaBackendOptions o;
    o.num_blocks = 128;
    o.dtype = Dtype::bf16;
    o.cascade_decode = cascade;
    auto b = CudaBackend::create(*model, o);
    EXPECT_TRUE(b.ok()) << b.error().to_string();
    auto e = Engine::create(
        {b->get(), &(*model)->config(), (*model)->fingerprint(), nullptr, nullptr}, {});
    EXPECT_TRUE(e.ok()) << e.error().to_string();
    EngineRequest r;
    for (int i = 0; i < 300; ++i)
      r.prompt.push_back((i * 31 + 7) % 100 + 20);
    r.params.temperature = 0;
    r.params.ignore_eos = true;
    r.params.max_tokens = 24;
    auto parent = (*e)->add_request(r);
    EXPECT_TRUE(parent.ok());
    std::map<RequestId, std::vector<std::int32_t>> out;
    while (out[*parent].empty()) {  // the prompt's prefill gives the first token
      auto ev = (*e)->step();
      EXPECT_TRUE(ev.ok());
      if (!ev.ok()) return out;
      for (const auto& x : *ev)
        if (x.kind == EventKind::token) out[x.request].push_back(x.token);
    }
    for (int k = 0; k < 7; ++k) {
      const RequestId child = (*e)->fork(*parent);
      out[child] = out[*parent];
    }
    while ((*e)->has_work()) {
      auto ev = (*e)->step();
      EXPECT_TRUE(ev.ok());
      if (!ev.ok()) break;
      for (const auto& x : *ev)
        if (x.kind == EventKind::token) out[x.request].push_back(x.token);
    }
    cascade_steps = (*b)->cascade_steps();
    return out;
  };
  std::int64_t with = 0, without = 0;
  const auto a = run(true, with), ref = run(false, without);
  EXPECT_GT(with, 10);
  EXPECT_EQ(without, 0);
  ASSERT_EQ(a.size(), 8u);
  const auto& first = a.begin()->second;
  EXPECT_EQ(first.size(), 24u);
  for (const auto& [id, tokens] : a)
    EXPECT_EQ(tokens, first) << "request " << id;
  EXPECT_EQ(first, ref.begin()->second);
}

}  // namespace
}  // namespace agentrt::kernels
