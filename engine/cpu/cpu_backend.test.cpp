#include "engine/cpu/cpu_backend.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numbers>

#include "engine/cpu/test_model.h"
#include "engine/kv_pool_limits.h"

namespace agentrt::cpu {
namespace {

using testing::make_test_model;
using testing::random_tokens;
using testing::TestModel;
using testing::TestModelOptions;
using Mat = std::vector<std::vector<double>>;

std::vector<double> floats(const model::TensorView* t) {
  if (t == nullptr) return {};
  std::size_t n = 1;
  for (auto d : t->shape)
    n *= static_cast<std::size_t>(d);
  std::vector<float> f(n);
  model::convert_to_f32(t->dtype, t->data.data(), n, f.data());
  return {f.begin(), f.end()};
}

// y = W x (+ b), W row-major [rows, x.size()].
std::vector<double> matvec(const std::vector<double>& w, const std::vector<double>& x,
                           const std::vector<double>& b = {}) {
  std::vector<double> y(w.size() / x.size(), 0.0);
  for (std::size_t r = 0; r < y.size(); ++r) {
    for (std::size_t c = 0; c < x.size(); ++c)
      y[r] += w[r * x.size() + c] * x[c];
    if (!b.empty()) y[r] += b[r];
  }
  return y;
}

std::vector<double> rms(const std::vector<double>& x, const std::vector<double>& w, double eps,
                        std::size_t off = 0, std::size_t n = 0) {
  if (n == 0) n = x.size();
  double ss = 0;
  for (std::size_t i = 0; i < n; ++i)
    ss += x[off + i] * x[off + i];
  const double r = 1.0 / std::sqrt(ss / static_cast<double>(n) + eps);
  std::vector<double> y(n);
  for (std::size_t i = 0; i < n; ++i)
    y[i] = x[off + i] * r * w[i];
  return y;
}

std::vector<double> ref_inv_freq(const model::ModelConfig& c) {
  std::vector<double> inv;
  for (int i = 0; i < c.head_dim / 2; ++i)
    inv.push_back(1.0 / std::pow(c.rope_theta, 2.0 * i / c.head_dim));
  const auto& s = c.rope_scaling;
  if (s.type != model::RopeScaling::Type::llama3) return inv;
  const double lo_wl = s.original_max_position_embeddings / s.low_freq_factor;
  const double hi_wl = s.original_max_position_embeddings / s.high_freq_factor;
  for (double& f : inv) {
    const double wl = 2 * std::numbers::pi / f;
    if (wl > lo_wl) {
      f /= s.factor;
    } else if (wl >= hi_wl) {
      const double sm = (s.original_max_position_embeddings / wl - s.low_freq_factor) /
                        (s.high_freq_factor - s.low_freq_factor);
      f = (1 - sm) * f / s.factor + sm * f;
    }
  }
  return inv;
}

void ref_rope(std::vector<double>& v, std::size_t off, std::size_t hd, int pos,
              const std::vector<double>& inv) {
  for (std::size_t i = 0; i < hd / 2; ++i) {
    const double a = pos * inv[i], x1 = v[off + i], x2 = v[off + i + hd / 2];
    v[off + i] = x1 * std::cos(a) - x2 * std::sin(a);
    v[off + i + hd / 2] = x2 * std::cos(a) + x1 * std::sin(a);
  }
}

// One decoder layer over every position of x, in place.
void ref_layer(const model::ModelConfig& c, const model::LayerWeights& L,
               const std::vector<double>& inv, Mat& x) {
  const std::size_t H = c.hidden_size, hd = c.head_dim, nh = c.num_heads, nkv = c.num_kv_heads;
  const std::size_t T = x.size();
  Mat q(T), k(T), v(T);
  for (std::size_t t = 0; t < T; ++t) {
    const auto h = rms(x[t], floats(L.attn_norm), c.rms_norm_eps);
    q[t] = matvec(floats(L.wq), h, floats(L.bq));
    k[t] = matvec(floats(L.wk), h, floats(L.bk));
    v[t] = matvec(floats(L.wv), h, floats(L.bv));
    for (std::size_t hh = 0; hh < nh + nkv; ++hh) {
      auto& vec = hh < nh ? q[t] : k[t];
      const std::size_t off = (hh < nh ? hh : hh - nh) * hd;
      if (c.qk_norm) {
        auto n = rms(vec, floats(hh < nh ? L.q_norm : L.k_norm), c.rms_norm_eps, off, hd);
        std::copy(n.begin(), n.end(), vec.begin() + static_cast<std::ptrdiff_t>(off));
      }
      ref_rope(vec, off, hd, static_cast<int>(t), inv);
    }
  }
  for (std::size_t t = 0; t < T; ++t) {
    std::vector<double> att(nh * hd, 0.0);
    for (std::size_t hh = 0; hh < nh; ++hh) {
      const std::size_t kh = hh / (nh / nkv);
      std::vector<double> s(t + 1);
      double mx = -1e300, sum = 0;
      for (std::size_t j = 0; j <= t; ++j) {
        double d = 0;
        for (std::size_t e = 0; e < hd; ++e)
          d += q[t][hh * hd + e] * k[j][kh * hd + e];
        s[j] = d / std::sqrt(static_cast<double>(hd));
        mx = std::max(mx, s[j]);
      }
      for (double& e : s)
        sum += (e = std::exp(e - mx));
      for (std::size_t j = 0; j <= t; ++j) {
        for (std::size_t e = 0; e < hd; ++e)
          att[hh * hd + e] += s[j] / sum * v[j][kh * hd + e];
      }
    }
    const auto o = matvec(floats(L.wo), att, floats(L.bo));
    for (std::size_t i = 0; i < H; ++i)
      x[t][i] += o[i];
    const auto h = rms(x[t], floats(L.ffn_norm), c.rms_norm_eps);
    const auto g = matvec(floats(L.w_gate), h), u = matvec(floats(L.w_up), h);
    std::vector<double> a(g.size());
    for (std::size_t i = 0; i < g.size(); ++i)
      a[i] = g[i] / (1 + std::exp(-g[i])) * u[i];
    const auto d = matvec(floats(L.w_down), a);
    for (std::size_t i = 0; i < H; ++i)
      x[t][i] += d[i];
  }
}

// Logits of every position of `tokens`, computed from scratch.
Mat reference_logits(const TestModel& m, const std::vector<std::int32_t>& tokens) {
  const auto& c = m.config;
  const std::size_t H = c.hidden_size;
  const std::size_t T = tokens.size();
  const auto inv = ref_inv_freq(c);
  const auto embed = floats(m.weights.embed);
  Mat x(T);
  for (std::size_t t = 0; t < T; ++t) {
    x[t].assign(embed.begin() + static_cast<std::ptrdiff_t>(tokens[t] * H),
                embed.begin() + static_cast<std::ptrdiff_t>((tokens[t] + 1) * H));
  }
  for (const auto& L : m.weights.layers)
    ref_layer(c, L, inv, x);
  Mat logits(T);
  for (std::size_t t = 0; t < T; ++t) {
    logits[t] =
        matvec(floats(m.weights.lm_head), rms(x[t], floats(m.weights.final_norm), c.rms_norm_eps));
  }
  return logits;
}

std::unique_ptr<CpuBackend> make_backend(const TestModel& m, int num_blocks = 64,
                                         int block_size = 16) {
  auto b = CpuBackend::create(m.config, m.weights, {num_blocks, block_size, 0});
  EXPECT_TRUE(b.ok()) << (b.ok() ? "" : b.error().to_string());
  return std::move(b).value();
}

double max_diff(std::span<const float> a, const std::vector<double>& b) {
  double d = 0;
  for (std::size_t i = 0; i < a.size(); ++i)
    d = std::max(d, std::abs(a[i] - b[i]));
  return d;
}

double max_diff(std::span<const float> a, std::span<const float> b) {
  double d = 0;
  for (std::size_t i = 0; i < a.size(); ++i)
    d = std::max(d, static_cast<double>(std::abs(a[i] - b[i])));
  return d;
}

class CpuBackendVsReference : public ::testing::TestWithParam<TestModelOptions> {};

TEST_P(CpuBackendVsReference, AllLogitsMatch) {
  const auto m = make_test_model(GetParam());
  auto backend = make_backend(*m);
  const auto tokens = random_tokens(40, m->config.vocab_size, 5);
  BatchPlan plan;
  plan.seqs.push_back({tokens, 0, {9, 2, 30}, true});  // scattered blocks
  Logits out;
  ASSERT_TRUE(backend->forward(plan, out).ok());
  ASSERT_EQ(out.rows, 40);
  ASSERT_EQ(out.vocab, m->config.vocab_size);
  const auto want = reference_logits(*m, tokens);
  for (int r = 0; r < out.rows; ++r)
    EXPECT_LT(max_diff(out.row(r), want[static_cast<std::size_t>(r)]), 1e-4) << "row " << r;
}

TestModelOptions opts(bool bias, bool qk_norm, bool llama3, bool tied = false, bool bf16 = false) {
  TestModelOptions o;
  o.bias = bias;
  o.out_bias = bias && tied;  // the all-features variant
  o.qk_norm = qk_norm;
  o.llama3_rope = llama3;
  o.tied = tied;
  o.bf16 = bf16;
  return o;
}

INSTANTIATE_TEST_SUITE_P(Variants, CpuBackendVsReference,
                         ::testing::Values(opts(false, false, false), opts(true, false, false),
                                           opts(false, true, false), opts(false, false, true),
                                           opts(true, true, true, true, true)));

TEST(CpuBackend, Llama3InvFreqFollowsHf) {
  const auto m = make_test_model(opts(false, false, true));
  const auto got = rope_inv_freq(m->config);
  const auto want = ref_inv_freq(m->config);
  ASSERT_EQ(got.size(), 4u);
  for (std::size_t i = 0; i < got.size(); ++i)
    EXPECT_NEAR(got[i], want[i], 1e-6 * want[i]);
  EXPECT_FLOAT_EQ(got[0], 1.0f);           // high frequency: unchanged
  EXPECT_FLOAT_EQ(got[3], 0.001f / 8.0f);  // low frequency: divided by factor
  EXPECT_GT(got[1], 0.1f / 8.0f);          // smooth band in between
  EXPECT_LT(got[1], 0.1f);
}

// Runs one chunk and returns its logits rows.
std::vector<std::vector<float>> run(CpuBackend& b, const std::vector<std::int32_t>& tokens,
                                    int start, const std::vector<std::int32_t>& table,
                                    bool all = true) {
  BatchPlan plan;
  plan.seqs.push_back({tokens, start, table, all});
  Logits out;
  const auto st = b.forward(plan, out);
  EXPECT_TRUE(st.ok()) << (st.ok() ? "" : st.error().to_string());
  std::vector<std::vector<float>> rows;
  for (int r = 0; r < out.rows; ++r)
    rows.emplace_back(out.row(r).begin(), out.row(r).end());
  return rows;
}

std::vector<std::int32_t> slice(const std::vector<std::int32_t>& v, std::size_t a, std::size_t b) {
  return {v.begin() + static_cast<std::ptrdiff_t>(a), v.begin() + static_cast<std::ptrdiff_t>(b)};
}

TEST(CpuBackend, ChunkedPrefillEqualsOneShotEqualsDecode) {
  const auto m = make_test_model(opts(true, true, true));
  const auto tokens = random_tokens(40, m->config.vocab_size, 11);
  const std::vector<std::int32_t> table{4, 1, 7};
  auto one = make_backend(*m);
  const auto whole = run(*one, tokens, 0, table);
  auto chunked = make_backend(*m);
  std::vector<std::vector<float>> rows;
  for (auto [a, b] : {std::pair{0, 13}, {13, 30}, {30, 40}}) {
    for (auto& r : run(*chunked, slice(tokens, a, b), a, table))
      rows.push_back(r);
  }
  auto decode = make_backend(*m);
  std::vector<std::vector<float>> steps;
  for (std::size_t t = 0; t < tokens.size(); ++t) {
    steps.push_back(run(*decode, slice(tokens, t, t + 1), static_cast<int>(t), table, false)[0]);
  }
  ASSERT_EQ(rows.size(), whole.size());
  for (std::size_t r = 0; r < whole.size(); ++r) {
    EXPECT_LT(max_diff(rows[r], whole[r]), 1e-5) << "row " << r;
    EXPECT_LT(max_diff(steps[r], whole[r]), 1e-5) << "row " << r;
  }
}

TEST(CpuBackend, MixedBatchEqualsEachSequenceAlone) {
  const auto m = make_test_model(opts(false, false, false));
  const int V = m->config.vocab_size;
  const auto a = random_tokens(20, V, 1), b = random_tokens(17, V, 2), c = random_tokens(26, V, 3);
  // Sequence b has 10 cached tokens and continues; c has 25 cached and decodes one.
  auto batched = make_backend(*m);
  (void)run(*batched, slice(b, 0, 10), 0, {5});
  (void)run(*batched, slice(c, 0, 25), 0, {6, 8});
  BatchPlan plan;
  plan.seqs.push_back({a, 0, {0, 3}, false});
  plan.seqs.push_back({slice(b, 10, 17), 10, {5, 9}, true});
  plan.seqs.push_back({slice(c, 25, 26), 25, {6, 8}, false});
  Logits out;
  ASSERT_TRUE(batched->forward(plan, out).ok());
  ASSERT_EQ(out.rows, 1 + 7 + 1);
  auto alone = make_backend(*m);
  const auto ra = run(*alone, a, 0, {0, 1}, false);
  const auto rb = run(*alone, b, 0, {2, 3});
  const auto rc = run(*alone, c, 0, {4, 5}, false);
  EXPECT_LT(max_diff(out.row(0), ra[0]), 1e-5);
  for (int i = 0; i < 7; ++i)
    EXPECT_LT(max_diff(out.row(1 + i), rb[static_cast<std::size_t>(10 + i)]), 1e-5);
  EXPECT_LT(max_diff(out.row(8), rc[0]), 1e-5);
}

TEST(CpuBackend, CopyBlocksCopiesEveryLayer) {
  const auto m = make_test_model(opts(false, false, false));
  auto b = make_backend(*m, 16, 8);
  const auto tokens = random_tokens(13, m->config.vocab_size, 4);
  (void)run(*b, tokens, 0, {3, 5});
  const std::vector<std::pair<std::int32_t, std::int32_t>> pairs{{3, 7}, {5, 9}};
  ASSERT_TRUE(b->copy_blocks(pairs).ok());
  const std::vector<std::int32_t> next{17};
  const auto orig = run(*b, next, 13, {3, 5}, false);
  const auto copy = run(*b, next, 13, {7, 9}, false);
  EXPECT_EQ(orig[0], copy[0]);
  const std::vector<std::pair<std::int32_t, std::int32_t>> bad{{1, 2}, {3, 16}};
  const auto st = b->copy_blocks(bad);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, ErrorCode::invalid_argument);
}

TEST(CpuBackend, BadPlansAreErrors) {
  const auto m = make_test_model(opts(false, false, false));
  auto b = make_backend(*m, 8, 4);
  Logits out;
  auto fails = [&](BatchPlan plan, const char* what) {
    const auto st = b->forward(plan, out);
    EXPECT_FALSE(st.ok()) << what;
    if (!st.ok()) {
      EXPECT_EQ(st.error().code, ErrorCode::invalid_argument) << st.error().to_string();
    }
  };
  fails(BatchPlan{}, "empty plan");
  fails(BatchPlan{{{{}, 0, {0}, false}}}, "empty chunk");
  fails(BatchPlan{{{{1, 64}, 0, {0}, false}}}, "token outside vocab");
  fails(BatchPlan{{{{1, -1}, 0, {0}, false}}}, "negative token");
  fails(BatchPlan{{{{1, 2}, 0, {8}, false}}}, "block id too large");
  fails(BatchPlan{{{{1, 2}, 0, {-1}, false}}}, "negative block id");
  fails(BatchPlan{{{{1, 2, 3, 4, 5}, 0, {0}, false}}}, "table too short");
  fails(BatchPlan{{{{1}, -1, {0}, false}}}, "negative start_pos");
  fails(BatchPlan{{{{1}, 512, std::vector<std::int32_t>(129, 0), false}}}, "past max positions");
  EXPECT_TRUE(b->forward(BatchPlan{{{{1, 2}, 0, {0}, false}}}, out).ok());
}

TEST(CpuBackend, BadWeightsAreErrors) {
  auto m = make_test_model(opts(false, false, false));
  auto wrong = m->views.back();
  wrong.shape = {8, 8};
  wrong.name = "lm_head.weight";
  m->weights.lm_head = &wrong;
  auto b = CpuBackend::create(m->config, m->weights, {});
  ASSERT_FALSE(b.ok());
  EXPECT_NE(b.error().message.find("lm_head.weight"), std::string::npos) << b.error().message;
  m->weights.layers[1].wq = nullptr;
  m->weights.lm_head = m->weights.embed;
  b = CpuBackend::create(m->config, m->weights, {});
  ASSERT_FALSE(b.ok());
  EXPECT_NE(b.error().message.find("q_proj"), std::string::npos) << b.error().message;
  EXPECT_FALSE(CpuBackend::create(m->config, m->weights, {0, 16, 0}).ok());
}

}  // namespace
}  // namespace agentrt::cpu

namespace agentrt::cpu {
namespace {

// Pool sizes and thread counts are checked before anything is allocated: a block count in
// the hundreds of millions or a pool over max_kv_bytes is an error, not a bad_alloc.
TEST(CpuBackend, OversizedPoolsAndThreadCountsAreRefusedBeforeAllocating) {
  const auto m = make_test_model(opts(false, false, false));
  // 2 layers x K|V x 16 slots x 2 kv heads x head_dim 8 x 4 bytes.
  constexpr std::uint64_t kBlockBytes = 4096;
  CpuBackendOptions o;
  o.num_blocks = 300000000;
  auto many = CpuBackend::create(m->config, m->weights, o);
  ASSERT_FALSE(many.ok());
  EXPECT_EQ(many.error().code, ErrorCode::invalid_argument);
  EXPECT_NE(many.error().message.find("300000000 KV blocks is outside [1, 4194304]"),
            std::string::npos)
      << many.error().message;
  o.num_blocks = static_cast<int>(kMaxKvBlocks);  // 16 GiB at 4 KiB a block
  o.max_kv_bytes = 1u << 20;
  auto big = CpuBackend::create(m->config, m->weights, o);
  ASSERT_FALSE(big.ok());
  EXPECT_EQ(big.error().code, ErrorCode::out_of_memory);
  EXPECT_NE(big.error().message.find("exceed the KV memory limit of 1048576 bytes "
                                     "(CpuBackendOptions::max_kv_bytes)"),
            std::string::npos)
      << big.error().message;
  o.num_blocks = (1 << 20) / kBlockBytes;  // exactly the limit
  auto b = CpuBackend::create(m->config, m->weights, o);
  ASSERT_TRUE(b.ok()) << b.error().to_string();
  EXPECT_EQ((*b)->block_bytes(), kBlockBytes);
  o.num_blocks = 8;
  o.max_kv_bytes = 0;
  o.num_threads = kMaxCpuThreads + 1;
  auto threads = CpuBackend::create(m->config, m->weights, o);
  ASSERT_FALSE(threads.ok());
  EXPECT_NE(threads.error().message.find("num_threads 257 is outside [0, 256]"), std::string::npos)
      << threads.error().message;
}

// A model whose f32 copy cannot fit in RAM is refused before the conversion allocates.
TEST(CpuBackend, WeightsLargerThanRamAreRefusedBeforeConverting) {
  for (bool extras : {false, true}) {  // the estimate is exact
    auto small = make_test_model(opts(extras, extras, false, extras));
    auto w = CpuWeights::convert(small->config, small->weights);
    ASSERT_TRUE(w.ok());
    std::size_t floats = w->embed.size() + w->final_norm.size() + w->lm_head.size();
    for (const auto& l : w->layers) {
      for (const auto* v : {&l.attn_norm, &l.bqkv, &l.q_norm, &l.k_norm, &l.bo, &l.ffn_norm})
        floats += v->size();
      for (const auto* v : {&l.wqkv, &l.wo, &l.w_gate_up, &l.w_down})
        floats += v->size();
    }
    EXPECT_EQ(CpuWeights::f32_bytes(small->config, extras), 4.0 * static_cast<double>(floats));
  }
  auto m = make_test_model(opts(false, false, false));
  EXPECT_TRUE(CpuBackend::create(m->config, m->weights, {}).ok());
  // A 2^30 x 2^15 f32 embedding: 128 TiB, on any machine more than its RAM.
  m->config.vocab_size = 1 << 30;
  m->config.hidden_size = 1 << 15;
  auto b = CpuBackend::create(m->config, m->weights, {});
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.error().code, ErrorCode::out_of_memory);
  EXPECT_NE(b.error().message.find("as f32, more than the"), std::string::npos)
      << b.error().message;
  EXPECT_GT(CpuWeights::f32_bytes(m->config, false), 2 * 4.0 * (1 << 30) * (1 << 15) - 1);
}

}  // namespace
}  // namespace agentrt::cpu
