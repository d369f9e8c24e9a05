// End to end on the GPU: the CUDA backend against transformers' golden logits and greedy
// tokens on every fixture in tests/fixtures/models and on models/tiny-calc, in f32 (the
// reference precision: tokens must be identical) and bf16 (the serving precision: logits
// within bf16 error; tokens identical wherever the golden top-2 margin exceeds that error).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "engine/cpu/cpu_backend.h"
#include "engine/generator.h"
#include "engine/model/model.h"
#include "kernels/cuda_backend.h"
#include "kernels/test_util.h"

namespace agentrt::kernels {
namespace {

constexpr int kBlockSize = 16;
// Measured errors are printed; bounds: f32 differs from transformers only by summation order.
constexpr double kF32MaxRel = 5e-5;   // of the row's largest |logit|
constexpr double kBf16MaxRel = 4e-2;  // bf16 weights, activations and KV
constexpr double kBf16Margin = 0.15;  // top-2 margins above this survive bf16 error

std::string fixture_dir(const std::string& name) {
  return std::string(AGENTRT_SOURCE_DIR) + "/tests/fixtures/models/" + name;
}

std::vector<std::int32_t> table_for(int first_block, int tokens) {
  std::vector<std::int32_t> t;
  for (int b = 0; b * kBlockSize < tokens; ++b)
    t.push_back(first_block + b);
  return t;
}

const char* dtype_name(Dtype d) {
  return d == Dtype::f32 ? "f32" : "bf16";
}

// Max |out - want| over a row, relative to the row's largest |want|.
double max_rel_error(std::span<const float> out, const nlohmann::json& want) {
  double scale = 0, err = 0;
  for (const auto& v : want)
    scale = std::max(scale, std::fabs(v.get<double>()));
  for (std::size_t c = 0; c < want.size(); ++c)
    err = std::max(err, std::fabs(out[c] - want[c].get<double>()));
  return err / std::max(scale, 1e-6);
}

// How many leading greedy steps have every margin so far above `margin`.
std::size_t safe_prefix(const nlohmann::json& margins, double margin) {
  std::size_t n = 0;
  while (n < margins.size() && margins[n].get<double>() > margin)
    ++n;
  return n;
}

using Param = std::tuple<std::string, Dtype>;

class CudaGolden : public ::testing::TestWithParam<Param> {
 protected:
  void SetUp() override {
    AGENTRT_REQUIRE_CUDA_DEVICE();
    auto m = model::Model::load(fixture_dir(std::get<0>(GetParam())));
    ASSERT_TRUE(m.ok()) << m.error().to_string();
    model_ = *m;
    auto b = CudaBackend::create(model_, {64, kBlockSize, dt(), 0});
    ASSERT_TRUE(b.ok()) << b.error().to_string();
    backend_ = std::move(*b);
    std::ifstream in(fixture_dir(std::get<0>(GetParam())) + "/golden.json");
    golden_ = nlohmann::json::parse(in);
  }
  Dtype dt() const { return std::get<1>(GetParam()); }
  double max_rel() const { return dt() == Dtype::f32 ? kF32MaxRel : kBf16MaxRel; }

  std::shared_ptr<const model::Model> model_;
  std::unique_ptr<CudaBackend> backend_;
  nlohmann::json golden_;
};

TEST_P(CudaGolden, LogitsMatchTransformers) {
  int i = 0;
  for (const auto& p : golden_["prompts"]) {
    auto tokens = p["tokens"].get<std::vector<std::int32_t>>();
    BatchPlan plan;
    plan.seqs.push_back({tokens, 0, table_for(0, static_cast<int>(tokens.size())), true});
    Logits out;
    Status st = backend_->forward(plan, out);
    ASSERT_TRUE(st.ok()) << st.error().to_string();
    ASSERT_EQ(out.rows, static_cast<int>(tokens.size()));
    double err = 0;
    for (int r = 0; r < out.rows; ++r)
      err = std::max(err, max_rel_error(out.row(r), p["logits"][r]));
    std::cout << "[golden cuda " << dtype_name(dt()) << "] " << std::get<0>(GetParam())
              << " prompt " << i++ << ": max rel error " << err << "\n";
    EXPECT_LE(err, max_rel());
  }
}

TEST_P(CudaGolden, ChunkedPrefillAfterCachedPrefixMatches) {
  const auto& p = golden_["prompts"][2];
  auto tokens = p["tokens"].get<std::vector<std::int32_t>>();
  auto table = table_for(3, static_cast<int>(tokens.size()));
  const int cuts[] = {0, 7, 30, static_cast<int>(tokens.size())};
  int row = 0;
  double err = 0;
  for (int c = 0; c < 3; ++c) {
    BatchPlan plan;
    std::vector<std::int32_t> chunk(tokens.begin() + cuts[c], tokens.begin() + cuts[c + 1]);
    plan.seqs.push_back({chunk, cuts[c], table, true});
    Logits out;
    ASSERT_TRUE(backend_->forward(plan, out).ok());
    for (int r = 0; r < out.rows; ++r)
      err = std::max(err, max_rel_error(out.row(r), p["logits"][row++]));
  }
  std::cout << "[golden cuda " << dtype_name(dt()) << "] " << std::get<0>(GetParam())
            << " chunked: max rel error " << err << "\n";
  EXPECT_LE(err, max_rel());
}

TEST_P(CudaGolden, GreedyTokensMatchTransformersAndCpu) {
  const auto& g = golden_["greedy"];
  GenerationRequest req;
  req.prompt = g["prompt"].get<std::vector<std::int32_t>>();
  req.params.temperature = 0;
  req.params.ignore_eos = true;
  req.params.max_tokens = static_cast<int>(g["tokens"].size());
  auto result = generate(*backend_, model_->config(), std::span(&req, 1));
  ASSERT_TRUE(result.ok()) << result.error().to_string();
  const auto expected = g["tokens"].get<std::vector<std::int32_t>>();
  const auto& got = (*result)[0].tokens;
  auto cpu = cpu::CpuBackend::create(model_, {64, kBlockSize, 2});
  ASSERT_TRUE(cpu.ok());
  auto cpu_result = generate(**cpu, model_->config(), std::span(&req, 1));
  ASSERT_TRUE(cpu_result.ok());
  const std::size_t n =
      dt() == Dtype::f32 ? expected.size() : safe_prefix(g["margins"], kBf16Margin);
  std::size_t same = 0;
  while (same < expected.size() && got[same] == expected[same])
    ++same;
  std::cout << "[golden cuda " << dtype_name(dt()) << "] " << std::get<0>(GetParam())
            << " greedy: " << same << "/" << expected.size() << " tokens equal (required " << n
            << ")\n";
  ASSERT_EQ(got.size(), expected.size());
  EXPECT_GE(same, n);
  EXPECT_EQ((*cpu_result)[0].tokens, expected);
  if (dt() == Dtype::f32) {
    EXPECT_EQ(got, (*cpu_result)[0].tokens);
  }
}

TEST_P(CudaGolden, BatchedEqualsUnbatchedAndBlocksRoundTrip) {
  std::vector<GenerationRequest> reqs;
  for (const auto& p : golden_["prompts"]) {
    GenerationRequest r;
    r.prompt = p["tokens"].get<std::vector<std::int32_t>>();
    r.params.temperature = 0;
    r.params.ignore_eos = true;
    r.params.max_tokens = 24;
    reqs.push_back(r);
  }
  auto together = generate(*backend_, model_->config(), reqs);
  ASSERT_TRUE(together.ok()) << together.error().to_string();
  for (std::size_t i = 0; i < reqs.size(); ++i) {
    auto alone = generate(*backend_, model_->config(), std::span(&reqs[i], 1));
    ASSERT_TRUE(alone.ok());
    if (dt() == Dtype::f32) {
      EXPECT_EQ((*together)[i].tokens, (*alone)[0].tokens) << i;
    }
  }
  // read_block / write_block / copy_blocks round trip.
  std::vector<std::byte> a(backend_->block_bytes()), b(backend_->block_bytes());
  ASSERT_TRUE(backend_->read_block(1, a).ok());
  ASSERT_TRUE(backend_->write_block(9, a).ok());
  ASSERT_TRUE(backend_->read_block(9, b).ok());
  EXPECT_EQ(a, b);
  const std::pair<std::int32_t, std::int32_t> pair{2, 10};
  ASSERT_TRUE(backend_->copy_blocks(std::span(&pair, 1)).ok());
  ASSERT_TRUE(backend_->read_block(2, a).ok());
  ASSERT_TRUE(backend_->read_block(10, b).ok());
  EXPECT_EQ(a, b);
  EXPECT_FALSE(backend_->read_block(64, a).ok());
  EXPECT_FALSE(backend_->write_block(0, std::span(a.data(), a.size() - 1)).ok());
  const std::pair<std::int32_t, std::int32_t> bad{0, 64};
  EXPECT_FALSE(backend_->copy_blocks(std::span(&bad, 1)).ok());

  // Batched copies to and from registered host memory (the host tier's slab, DMA without
  // staging) and from unregistered memory (staged) give the same bytes.
  const std::size_t n = backend_->block_bytes();
  std::vector<std::byte> slab(4 * n), plain(4 * n);
  ASSERT_TRUE(backend_->register_host_memory(slab.data(), slab.size()).ok());
  ASSERT_TRUE(backend_->host_registered(slab.data() + n, n));
  ASSERT_FALSE(backend_->host_registered(slab.data() + n, 4 * n));
  ASSERT_FALSE(backend_->host_registered(plain.data(), n));
  const std::vector<std::int32_t> src{1, 2, 3, 4}, dst{20, 21, 22, 23};
  auto spans = [&](std::vector<std::byte>& v) {
    std::vector<std::span<std::byte>> out;
    for (std::size_t i = 0; i < 4; ++i)
      out.push_back(std::span<std::byte>(v).subspan(i * n, n));
    return out;
  };
  ASSERT_TRUE(backend_->read_blocks(src, spans(slab)).ok());   // direct
  ASSERT_TRUE(backend_->read_blocks(src, spans(plain)).ok());  // staged
  EXPECT_EQ(slab, plain);
  ASSERT_TRUE(backend_->read_block(3, b).ok());
  EXPECT_TRUE(std::equal(b.begin(), b.end(), slab.begin() + 2 * static_cast<std::ptrdiff_t>(n)));
  // Mixed: registered and staged spans in one batch.
  std::vector<std::span<const std::byte>> in;
  for (std::size_t i = 0; i < 4; ++i)
    in.push_back(std::span<const std::byte>(i % 2 == 0 ? slab : plain).subspan(i * n, n));
  ASSERT_TRUE(backend_->write_blocks(dst, in).ok());
  for (std::size_t i = 0; i < 4; ++i) {
    ASSERT_TRUE(backend_->read_block(dst[i], b).ok());
    ASSERT_TRUE(backend_->read_block(src[i], a).ok());
    EXPECT_EQ(a, b) << "block " << dst[i];
  }
  // Single-block copies into the registered slab.
  ASSERT_TRUE(backend_->write_block(30, std::span<const std::byte>(slab).subspan(n, n)).ok());
  ASSERT_TRUE(backend_->read_block(30, std::span<std::byte>(slab).subspan(3 * n, n)).ok());
  EXPECT_TRUE(std::equal(slab.begin() + static_cast<std::ptrdiff_t>(n),
                         slab.begin() + 2 * static_cast<std::ptrdiff_t>(n),
                         slab.begin() + 3 * static_cast<std::ptrdiff_t>(n)));
  EXPECT_FALSE(
      backend_->write_blocks(std::vector<std::int32_t>{0, 64}, std::span(in).first(2)).ok());
  backend_->unregister_host_memory(slab.data());
  EXPECT_FALSE(backend_->host_registered(slab.data(), n));

  // swap_blocks: 12 blocks read out while new contents are written into them in reverse
  // order (each write waits for its block's read), on registered memory.
  constexpr std::size_t kSwap = 12;
  std::vector<std::byte> big(2 * kSwap * n), before(kSwap * n), after(kSwap * n);
  for (std::size_t i = 0; i < big.size(); ++i)
    big[i] = static_cast<std::byte>((i * 13 + i / n) & 0xff);
  ASSERT_TRUE(backend_->register_host_memory(big.data(), big.size()).ok());
  std::vector<std::int32_t> ids, reversed;
  std::vector<std::span<std::byte>> outs, before_spans, after_spans;
  std::vector<std::span<const std::byte>> ins;
  for (std::size_t i = 0; i < kSwap; ++i) {
    ids.push_back(static_cast<std::int32_t>(20 + i));
    reversed.push_back(static_cast<std::int32_t>(20 + kSwap - 1 - i));
    outs.push_back(std::span<std::byte>(big).subspan(i * n, n));
    ins.push_back(std::span<const std::byte>(big).subspan((kSwap + i) * n, n));
    before_spans.push_back(std::span<std::byte>(before).subspan(i * n, n));
    after_spans.push_back(std::span<std::byte>(after).subspan(i * n, n));
  }
  ASSERT_TRUE(backend_->read_blocks(ids, before_spans).ok());
  ASSERT_TRUE(backend_->swap_blocks(ids, outs, reversed, ins).ok());
  EXPECT_TRUE(std::equal(before.begin(), before.end(), big.begin()));
  ASSERT_TRUE(backend_->read_blocks(reversed, after_spans).ok());
  EXPECT_TRUE(std::equal(after.begin(), after.end(), big.begin() + kSwap * n));
  backend_->unregister_host_memory(big.data());
}

TEST_P(CudaGolden, BadPlansAreRejected) {
  Logits out;
  BatchPlan empty;
  EXPECT_FALSE(backend_->forward(empty, out).ok());
  BatchPlan bad_token;
  bad_token.seqs.push_back({{1, 100000}, 0, {0}, false});
  auto st = backend_->forward(bad_token, out);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("vocabulary"), std::string::npos) << st.error().message;
  BatchPlan short_table;
  short_table.seqs.push_back({{1, 2, 3}, 15, {0}, false});
  EXPECT_FALSE(backend_->forward(short_table, out).ok());
  BatchPlan bad_block;
  bad_block.seqs.push_back({{1}, 0, {64}, false});
  EXPECT_FALSE(backend_->forward(bad_block, out).ok());
}

INSTANTIATE_TEST_SUITE_P(Fixtures, CudaGolden,
                         ::testing::Combine(::testing::Values("llama-gqa", "llama3-rope-tied",
                                                              "qwen2-bias", "qwen3-qknorm",
                                                              "mistral-gqa"),
                                            ::testing::Values(Dtype::f32, Dtype::bf16)),
                         [](const auto& param_info) {
                           std::string n = std::get<0>(param_info.param) + "_" +
                                           dtype_name(std::get<1>(param_info.param));
                           std::replace(n.begin(), n.end(), '-', '_');
                           return n;
                         });

// models/tiny-calc: its golden conversations (tests/fixtures/tiny_calc/golden.json).
class TinyCalcCuda : public ::testing::TestWithParam<Dtype> {};

TEST_P(TinyCalcCuda, GreedyRepliesMatchTransformers) {
  AGENTRT_REQUIRE_CUDA_DEVICE();
  auto m = model::Model::load(std::string(AGENTRT_SOURCE_DIR) + "/models/tiny-calc");
  ASSERT_TRUE(m.ok()) << m.error().to_string();
  auto b = CudaBackend::create(*m, {128, kBlockSize, GetParam(), 0});
  ASSERT_TRUE(b.ok()) << b.error().to_string();
  std::ifstream in(std::string(AGENTRT_SOURCE_DIR) + "/tests/fixtures/tiny_calc/golden.json");
  const auto golden = nlohmann::json::parse(in);
  std::vector<GenerationRequest> reqs;
  for (const auto& c : golden["conversations"]) {
    GenerationRequest r;
    r.prompt = c["ids"].get<std::vector<std::int32_t>>();
    r.params.temperature = 0;
    r.params.ignore_eos = true;
    r.params.max_tokens = static_cast<int>(c["greedy"]["tokens"].size());
    reqs.push_back(r);
  }
  auto result = generate(**b, (*m)->config(), reqs);
  ASSERT_TRUE(result.ok()) << result.error().to_string();
  std::size_t i = 0;
  for (const auto& c : golden["conversations"]) {
    const auto want = c["greedy"]["tokens"].get<std::vector<std::int32_t>>();
    const std::size_t need =
        GetParam() == Dtype::f32 ? want.size() : safe_prefix(c["greedy"]["margins"], kBf16Margin);
    const auto& got = (*result)[i++].tokens;
    std::size_t same = 0;
    while (same < want.size() && same < got.size() && got[same] == want[same])
      ++same;
    std::cout << "[golden cuda " << dtype_name(GetParam()) << "] tiny-calc "
              << c["name"].get<std::string>() << ": " << same << "/" << want.size()
              << " tokens equal (required " << need << ")\n";
    EXPECT_GE(same, need) << c["name"];
  }
}

INSTANTIATE_TEST_SUITE_P(Dtypes, TinyCalcCuda, ::testing::Values(Dtype::f32, Dtype::bf16),
                         [](const auto& param_info) {
                           return std::string(dtype_name(param_info.param));
                         });

}  // namespace
}  // namespace agentrt::kernels
