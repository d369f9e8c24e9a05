// Golden tests: this engine's CPU backend against Hugging Face transformers (float32) on the
// tiny random-weight fixtures in tests/fixtures/models (made by make_model_fixtures.py).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "engine/cpu/cpu_backend.h"
#include "engine/generator.h"
#include "engine/model/model.h"

namespace agentrt {
namespace {

// Stated tolerance: both engines compute in f32; differences come from summation order.
constexpr double kMaxAbsError = 2e-5;
constexpr double kMaxRelError = 1e-5;  // relative to the row's largest |logit|
constexpr int kBlockSize = 16;

std::string fixture_dir(const std::string& name) {
  return std::string(AGENTRT_SOURCE_DIR) + "/tests/fixtures/models/" + name;
}

nlohmann::json load_golden(const std::string& name) {
  std::ifstream in(fixture_dir(name) + "/golden.json");
  return nlohmann::json::parse(in);
}

std::vector<std::int32_t> table_for(int first_block, int tokens) {
  std::vector<std::int32_t> table;
  for (int b = 0; b * kBlockSize < tokens; ++b)
    table.push_back(first_block + b);
  return table;
}

struct ErrorStats {
  double max_abs = 0;
  double max_rel = 0;
};

// Compares rows of `out` (starting at `row0`) with the golden logits of one prompt.
ErrorStats compare_rows(const Logits& out, int row0, const nlohmann::json& golden_rows) {
  ErrorStats s;
  for (std::size_t r = 0; r < golden_rows.size(); ++r) {
    auto row = out.row(row0 + static_cast<int>(r));
    double scale = 0;
    for (const auto& v : golden_rows[r])
      scale = std::max(scale, std::fabs(v.get<double>()));
    for (std::size_t c = 0; c < golden_rows[r].size(); ++c) {
      double err = std::fabs(row[c] - golden_rows[r][c].get<double>());
      s.max_abs = std::max(s.max_abs, err);
      s.max_rel = std::max(s.max_rel, err / std::max(scale, 1e-6));
    }
  }
  return s;
}

class GoldenModel : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    auto model = model::Model::load(fixture_dir(GetParam()));
    ASSERT_TRUE(model.ok()) << model.error().to_string();
    model_ = *model;
    auto backend = cpu::CpuBackend::create(
        model_,
        cpu::CpuBackendOptions{.num_blocks = 64, .block_size = kBlockSize, .num_threads = 2});
    ASSERT_TRUE(backend.ok()) << backend.error().to_string();
    backend_ = std::move(*backend);
    golden_ = load_golden(GetParam());
  }

  std::shared_ptr<const model::Model> model_;
  std::unique_ptr<cpu::CpuBackend> backend_;
  nlohmann::json golden_;
};

TEST_P(GoldenModel, LogitsMatchTransformers) {
  int prompt_index = 0;
  for (const auto& p : golden_["prompts"]) {
    BatchPlan plan;
    auto tokens = p["tokens"].get<std::vector<std::int32_t>>();
    plan.seqs.push_back({tokens, 0, table_for(0, static_cast<int>(tokens.size())), true});
    Logits out;
    ASSERT_TRUE(backend_->forward(plan, out).ok());
    ASSERT_EQ(out.rows, static_cast<int>(tokens.size()));
    ErrorStats s = compare_rows(out, 0, p["logits"]);
    std::cout << "[golden] " << GetParam() << " prompt " << prompt_index++ << " (" << tokens.size()
              << " tokens): max abs error " << s.max_abs << ", max rel error " << s.max_rel << "\n";
    EXPECT_LE(s.max_abs, kMaxAbsError);
    EXPECT_LE(s.max_rel, kMaxRelError);
  }
}

TEST_P(GoldenModel, GreedyContinuationMatchesTokenForToken) {
  const auto& g = golden_["greedy"];
  GenerationRequest req;
  req.prompt = g["prompt"].get<std::vector<std::int32_t>>();
  req.params.temperature = 0;
  req.params.ignore_eos = true;
  req.params.max_tokens = static_cast<int>(g["tokens"].size());
  auto result = generate(*backend_, model_->config(), std::span(&req, 1));
  ASSERT_TRUE(result.ok()) << result.error().to_string();
  auto expected = g["tokens"].get<std::vector<std::int32_t>>();
  ASSERT_GE(expected.size(), 32u);
  EXPECT_EQ((*result)[0].tokens, expected);
}

TEST_P(GoldenModel, BatchedRunEqualsUnbatchedRuns) {
  // All prompts in one step, each in its own blocks, against the golden rows.
  BatchPlan plan;
  int next_block = 0;
  for (const auto& p : golden_["prompts"]) {
    auto tokens = p["tokens"].get<std::vector<std::int32_t>>();
    auto table = table_for(next_block, static_cast<int>(tokens.size()));
    next_block += static_cast<int>(table.size());
    plan.seqs.push_back({tokens, 0, table, true});
  }
  Logits batched;
  ASSERT_TRUE(backend_->forward(plan, batched).ok());
  int row = 0;
  for (std::size_t i = 0; i < plan.seqs.size(); ++i) {
    BatchPlan single;
    single.seqs.push_back(plan.seqs[i]);
    Logits alone;
    ASSERT_TRUE(backend_->forward(single, alone).ok());
    for (int r = 0; r < alone.rows; ++r) {
      auto a = alone.row(r);
      auto b = batched.row(row + r);
      for (int c = 0; c < alone.vocab; ++c)
        ASSERT_NEAR(a[c], b[c], 1e-5) << "seq " << i;
    }
    row += alone.rows;
  }
  // Greedy generation of all prompts in one batch equals each prompt alone.
  std::vector<GenerationRequest> reqs;
  for (const auto& p : golden_["prompts"]) {
    GenerationRequest req;
    req.prompt = p["tokens"].get<std::vector<std::int32_t>>();
    req.params.temperature = 0;
    req.params.ignore_eos = true;
    req.params.max_tokens = 24;
    reqs.push_back(req);
  }
  auto together = generate(*backend_, model_->config(), reqs);
  ASSERT_TRUE(together.ok()) << together.error().to_string();
  for (std::size_t i = 0; i < reqs.size(); ++i) {
    auto alone = generate(*backend_, model_->config(), std::span(&reqs[i], 1));
    ASSERT_TRUE(alone.ok());
    EXPECT_EQ((*together)[i].tokens, (*alone)[0].tokens) << "prompt " << i;
  }
}

TEST_P(GoldenModel, ChunkedPrefillAfterCachedPrefixMatches) {
  const auto& p = golden_["prompts"][2];
  auto tokens = p["tokens"].get<std::vector<std::int32_t>>();
  auto table = table_for(0, static_cast<int>(tokens.size()));
  // Three chunks that do not align with block boundaries.
  const int cuts[] = {0, 7, 30, static_cast<int>(tokens.size())};
  Logits all;
  all.vocab = 0;
  std::vector<float> rows;
  for (int c = 0; c < 3; ++c) {
    BatchPlan plan;
    std::vector<std::int32_t> chunk(tokens.begin() + cuts[c], tokens.begin() + cuts[c + 1]);
    plan.seqs.push_back({chunk, cuts[c], table, true});
    Logits out;
    ASSERT_TRUE(backend_->forward(plan, out).ok());
    rows.insert(rows.end(), out.data.begin(), out.data.end());
    all.vocab = out.vocab;
  }
  all.data = rows;
  all.rows = static_cast<int>(tokens.size());
  ErrorStats s = compare_rows(all, 0, p["logits"]);
  EXPECT_LE(s.max_abs, kMaxAbsError);
  EXPECT_LE(s.max_rel, kMaxRelError);
}

INSTANTIATE_TEST_SUITE_P(Architectures, GoldenModel,
                         ::testing::Values("llama-gqa", "llama3-rope-tied", "qwen2-bias",
                                           "qwen3-qknorm", "mistral-gqa"),
                         [](const auto& param_info) {
                           std::string n = param_info.param;
                           std::replace(n.begin(), n.end(), '-', '_');
                           return n;
                         });

}  // namespace
}  // namespace agentrt
