// Every element-wise kernel and the GEMM against a CPU reference in double precision on
// random inputs, in both storage types; each test prints its relative error.
#include <gtest/gtest.h>

#include <cmath>
#include <iostream>

#include "engine/cpu/rope.h"
#include "kernels/gemm.h"
#include "kernels/ops.h"
#include "kernels/skinny_gemm.h"
#include "kernels/test_util.h"

namespace agentrt::kernels {
namespace {

using test::download;
using test::random_vector;
using test::rel_error;
using test::rounded;
using test::upload;
using test::upload_raw;

class Ops : public ::testing::TestWithParam<Dtype> {
 protected:
  void SetUp() override { AGENTRT_REQUIRE_CUDA_DEVICE(); }
  Dtype dt() const { return GetParam(); }
  void report(const char* what, double err) {
    std::cout << "[rel error] " << what << " " << (dt() == Dtype::f32 ? "f32" : "bf16") << ": "
              << err << "\n";
    EXPECT_LE(err, test::tolerance(dt())) << what;
  }
};

// Every third row's token is pending: taken from the ids the step before sampled.
TEST_P(Ops, EmbeddingLookup) {
  const int vocab = 300, hidden = 96, rows = 17;
  auto table = rounded(random_vector(vocab * hidden, 1), dt());
  std::vector<std::int32_t> tokens(rows), ids(rows), sampled;
  for (int r = 0; r < rows; ++r) {
    ids[r] = (r * 37 + 5) % vocab;
    tokens[r] = ids[r];
    if (r % 3 != 1) continue;
    tokens[r] = -1 - static_cast<std::int32_t>(sampled.size());  // pending_token(row)
    sampled.push_back(ids[r]);
  }
  auto d_table = upload(table, dt());
  auto d_tokens = upload_raw(tokens);
  auto d_sampled = upload_raw(sampled);
  DeviceBuffer x;
  ASSERT_TRUE(x.allocate(rows * hidden * 4).ok());
  test::poison(x);
  ASSERT_EQ(launch_embed(dt(), d_table.get(), d_tokens.get<std::int32_t>(),
                         d_sampled.get<std::int32_t>(), rows, hidden, x.get<float>(), nullptr),
            cudaSuccess);
  auto out = download(x.get(), rows * hidden, Dtype::f32);
  std::vector<double> ref;
  for (int r = 0; r < rows; ++r)
    for (int i = 0; i < hidden; ++i)
      ref.push_back(table[ids[r] * hidden + i]);
  EXPECT_EQ(rel_error(out, ref), 0.0);
}

TEST_P(Ops, AddRmsNormWithBiasAndRowGather) {
  for (const int hidden : {64, 896, 4096}) {
    const int rows = 9;
    auto x = random_vector(rows * hidden, 2), y = random_vector(rows * hidden, 3);
    auto bias = random_vector(hidden, 4), w = random_vector(hidden, 5, 0.5f, 1.5f);
    auto dx = upload(x, Dtype::f32), dy = upload(y, Dtype::f32);
    auto db = upload(bias, Dtype::f32), dw = upload(w, Dtype::f32);
    DeviceBuffer out;
    ASSERT_TRUE(out.allocate(rows * hidden * dtype_bytes(dt())).ok());
    test::poison(out);
    AddNormParams p{dx.get<float>(),
                    dy.get<float>(),
                    db.get<float>(),
                    dw.get<float>(),
                    out.get(),
                    nullptr,
                    true,
                    rows,
                    hidden,
                    1e-6f};
    ASSERT_EQ(launch_add_rmsnorm(dt(), p, nullptr), cudaSuccess);
    std::vector<double> ref, ref_x;
    for (int r = 0; r < rows; ++r) {
      double ss = 0;
      std::vector<double> t(hidden);
      for (int i = 0; i < hidden; ++i) {
        t[i] = double(x[r * hidden + i]) + y[r * hidden + i] + bias[i];
        ss += t[i] * t[i];
        ref_x.push_back(t[i]);
      }
      const double inv = 1.0 / std::sqrt(ss / hidden + 1e-6);
      for (int i = 0; i < hidden; ++i)
        ref.push_back(w[i] * t[i] * inv);
    }
    report("add_rmsnorm", rel_error(download(out.get(), rows * hidden, dt()), ref));
    EXPECT_LE(rel_error(download(dx.get(), rows * hidden, Dtype::f32), ref_x), 1e-6);
    // Gather: rows 7 and 2 only, no write-back, reading the updated x.
    std::vector<std::int32_t> pick{7, 2};
    auto dpick = upload_raw(pick);
    AddNormParams g{dx.get<float>(),           nullptr, nullptr, dw.get<float>(), out.get(),
                    dpick.get<std::int32_t>(), false,   2,       hidden,          1e-6f};
    ASSERT_EQ(launch_add_rmsnorm(dt(), g, nullptr), cudaSuccess);
    std::vector<double> ref_g;
    for (int r : pick)
      ref_g.insert(ref_g.end(), ref.begin() + r * hidden, ref.begin() + (r + 1) * hidden);
    report("rmsnorm gather", rel_error(download(out.get(), 2 * hidden, dt()), ref_g));
  }
}

// q/k/v preparation against the CPU backend's own RoPE (llama3 scaling), with Qwen2-style
// bias and Qwen3-style q/k norm, writing K/V into shuffled pool blocks.
TEST_P(Ops, QkvBiasNormRopeAndKvWrite) {
  model::ModelConfig cfg;
  cfg.num_heads = 8;
  cfg.num_kv_heads = 2;
  cfg.rope_theta = 500000.0;
  cfg.rope_scaling.type = model::RopeScaling::Type::llama3;
  cfg.rope_scaling.factor = 8.0;
  cfg.rope_scaling.low_freq_factor = 1.0;
  cfg.rope_scaling.high_freq_factor = 4.0;
  cfg.rope_scaling.original_max_position_embeddings = 8192;
  // q/k/v come in f32 (the skinny norm product's output) or in the model's dtype.
  for (const auto& [hd, src] : {std::pair{64, Dtype::f32}, std::pair{128, Dtype::f32},
                                std::pair{64, dt()}, std::pair{128, dt()}}) {
    cfg.head_dim = hd;
    const int heads = cfg.num_heads, kvh = cfg.num_kv_heads, rows = 6, bs = 16, nblocks = 8;
    const int width = (heads + 2 * kvh) * hd;
    auto qkv = rounded(random_vector(rows * width, 10 + hd), src);
    auto bias = random_vector(width, 11);
    auto qn = random_vector(hd, 12, 0.5f, 1.5f), kn = random_vector(hd, 13, 0.5f, 1.5f);
    const std::vector<std::int32_t> positions{0, 1, 17, 300, 5000, 70000};
    const std::vector<std::int32_t> blocks{3, 3, 6, 1, 0, 7};
    const auto inv = cpu::rope_inv_freq(cfg);
    auto d_qkv = upload(qkv, src), d_bias = upload(bias, Dtype::f32);
    auto d_qn = upload(qn, Dtype::f32), d_kn = upload(kn, Dtype::f32);
    auto d_inv = upload(inv, Dtype::f32);
    auto d_pos = upload_raw(positions), d_blk = upload_raw(blocks);
    DeviceBuffer q, pool;
    ASSERT_TRUE(q.allocate(rows * heads * hd * dtype_bytes(dt())).ok());
    const std::size_t pool_elems = std::size_t(nblocks) * 1 * 2 * kvh * bs * hd;
    ASSERT_TRUE(pool.allocate(pool_elems * dtype_bytes(dt())).ok());
    test::poison(q);
    test::poison(pool);
    QkvParams p;
    p.qkv = d_qkv.get();
    p.qkv_dtype = src;
    p.bias = d_bias.get<float>();
    p.q_norm = d_qn.get<float>();
    p.k_norm = d_kn.get<float>();
    p.inv_freq = d_inv.get<float>();
    p.positions = d_pos.get<std::int32_t>();
    p.blocks = d_blk.get<std::int32_t>();
    p.q_out = q.get();
    p.kv = {pool.get(), nblocks, 1, kvh, bs, hd};
    p.rows = rows;
    p.num_heads = heads;
    p.eps = 1e-6f;
    ASSERT_EQ(launch_qkv_prepare(dt(), p, nullptr), cudaSuccess);
    auto q_out = download(q.get(), rows * heads * hd, dt());
    auto pool_out = download(pool.get(), pool_elems, dt());
    cpu::Rope rope(cfg);
    std::vector<float> cos(hd / 2), sin(hd / 2);
    std::vector<double> ref_q, ref_kv;
    std::vector<float> got_kv;
    for (int r = 0; r < rows; ++r) {
      rope.angles(positions[r], cos.data(), sin.data());
      for (int h = 0; h < heads + 2 * kvh; ++h) {
        std::vector<double> v(hd);
        for (int i = 0; i < hd; ++i)
          v[i] = double(qkv[r * width + h * hd + i]) + bias[h * hd + i];
        const bool is_v = h >= heads + kvh;
        if (!is_v) {
          const auto& nw = h < heads ? qn : kn;
          double ss = 0;
          for (double e : v)
            ss += e * e;
          const double ir = 1.0 / std::sqrt(ss / hd + 1e-6);
          for (int i = 0; i < hd; ++i)
            v[i] = nw[i] * v[i] * ir;
          std::vector<double> rot(hd);
          for (int i = 0; i < hd / 2; ++i) {
            rot[i] = v[i] * cos[i] - v[i + hd / 2] * sin[i];
            rot[i + hd / 2] = v[i + hd / 2] * cos[i] + v[i] * sin[i];
          }
          v = rot;
        }
        if (h < heads) {
          ref_q.insert(ref_q.end(), v.begin(), v.end());
          continue;
        }
        const int kv = is_v ? 1 : 0, head = h - heads - kv * kvh;
        const std::size_t off =
            ((std::size_t(blocks[r]) * 2 + kv) * kvh + head) * bs * hd + (positions[r] % bs) * hd;
        ref_kv.insert(ref_kv.end(), v.begin(), v.end());
        got_kv.insert(got_kv.end(), pool_out.begin() + off, pool_out.begin() + off + hd);
      }
    }
    report("qkv q (rope llama3, bias, q norm)", rel_error(q_out, ref_q));
    report("qkv k/v into pool", rel_error(got_kv, ref_kv));
  }
  QkvParams bf16_into_f32;
  bf16_into_f32.rows = 1;
  bf16_into_f32.kv.head_dim = 64;
  bf16_into_f32.qkv_dtype = Dtype::bf16;
  EXPECT_EQ(launch_qkv_prepare(Dtype::f32, bf16_into_f32, nullptr), cudaErrorInvalidValue);
}

// inter % 8 == 0 takes the vectorized bf16 kernel, 1004 the element-wise one.
TEST_P(Ops, SwiGlu) {
  for (const int inter : {1000, 1004}) {
    const int rows = 5;
    auto gu = rounded(random_vector(rows * 2 * inter, 20, -4.0f, 4.0f), dt());
    auto d_gu = upload(gu, dt());
    DeviceBuffer out;
    ASSERT_TRUE(out.allocate(rows * inter * dtype_bytes(dt())).ok());
    test::poison(out);
    ASSERT_EQ(launch_swiglu(dt(), d_gu.get(), rows, inter, out.get(), nullptr), cudaSuccess);
    std::vector<double> ref;
    for (int r = 0; r < rows; ++r)
      for (int i = 0; i < inter; ++i) {
        const double g = gu[r * 2 * inter + i], u = gu[r * 2 * inter + inter + i];
        ref.push_back(g / (1.0 + std::exp(-g)) * u);
      }
    report("swiglu", rel_error(download(out.get(), rows * inter, dt()), ref));
  }
}

TEST_P(Ops, CopyBlocksMovesWholeBlocks) {
  const std::size_t block_bytes = 4096, blocks = 6;
  auto v = random_vector(blocks * block_bytes / 4, 30);
  auto pool = upload(v, Dtype::f32);
  const std::vector<std::int32_t> pairs{0, 4, 2, 5};
  auto d_pairs = upload_raw(pairs);
  ASSERT_EQ(launch_copy_blocks(pool.get(), block_bytes, d_pairs.get<std::int32_t>(), 2, nullptr),
            cudaSuccess);
  auto out = download(pool.get(), v.size(), Dtype::f32);
  const std::size_t per = block_bytes / 4;
  for (std::size_t i = 0; i < per; ++i) {
    ASSERT_EQ(out[4 * per + i], v[0 * per + i]);
    ASSERT_EQ(out[5 * per + i], v[2 * per + i]);
    ASSERT_EQ(out[1 * per + i], v[1 * per + i]);
  }
}

TEST_P(Ops, GemmMatchesReference) {
  auto gemm = Gemm::create();
  ASSERT_TRUE(gemm.ok()) << gemm.error().to_string();
  struct Shape {
    int m, n, k;
    Dtype out;
    float beta;
    bool scratch = false;
  };
  // In bf16, m = 1 runs the skinny kernel (k a multiple of 8), m = 2-64 with k a multiple of
  // 128 the small-M kernel (8 x 1000 x 4096, 5 x 77 x 14336), the rest cuBLASLt. With beta
  // = 1 and a scratch buffer the candidates are timed there: C gets the product once.
  for (const Shape s : {Shape{1, 96, 64, Dtype::f32, 0.0f}, Shape{7, 200, 136, Dtype::f32, 1.0f},
                        Shape{130, 512, 256, dt(), 0.0f}, Shape{8, 1000, 4096, dt(), 0.0f},
                        Shape{3, 333, 520, Dtype::f32, 1.0f}, Shape{5, 77, 14336, Dtype::f32, 0.0f},
                        Shape{2, 50, 100, dt(), 0.0f}, Shape{1, 4096, 14336, dt(), 0.0f},
                        Shape{1, 1000, 520, Dtype::f32, 1.0f}, Shape{1, 30, 100, dt(), 0.0f},
                        Shape{130, 512, 256, Dtype::f32, 1.0f, true},
                        Shape{16, 1024, 4096, Dtype::f32, 1.0f, true}}) {
    auto a = rounded(random_vector(s.m * s.k, 40), dt());
    auto w = rounded(random_vector(s.n * s.k, 41), dt());
    auto c0 = random_vector(s.m * s.n, 42);
    auto da = upload(a, dt()), dw = upload(w, dt()), dc = upload(c0, s.out);
    DeviceBuffer scratch;
    if (s.scratch) {
      ASSERT_TRUE(scratch.allocate(c0.size() * 4).ok());
    }
    GemmArgs g{dt(), s.out, da.get(), dw.get(), dc.get(), s.m, s.n, s.k, 0, 0, s.beta};
    g.scratch = scratch.get();
    Status st = (*gemm)->run(g, nullptr);
    ASSERT_TRUE(st.ok()) << st.error().to_string();
    auto c0r = rounded(c0, s.out);
    std::vector<double> ref(std::size_t(s.m) * s.n);
    for (int i = 0; i < s.m; ++i)
      for (int j = 0; j < s.n; ++j) {
        double acc = s.beta * c0r[i * s.n + j];
        for (int k = 0; k < s.k; ++k)
          acc += double(a[i * s.k + k]) * w[j * s.k + k];
        ref[i * s.n + j] = acc;
      }
    const double err = rel_error(download(dc.get(), ref.size(), s.out), ref);
    std::cout << "[rel error] gemm " << s.m << "x" << s.n << "x" << s.k << ": " << err << "\n";
    EXPECT_LE(
        err, test::tolerance(s.out == Dtype::f32 && dt() == Dtype::f32 ? Dtype::f32 : Dtype::bf16));
  }
}

// A strided batch: each product on its own slices (A rows strided within a wider matrix, W
// and C contiguous), equal to the reference; m = 1 in bf16 is not taken by the skinny
// kernel. A batch below 1 is an error.
TEST_P(Ops, GemmStridedBatchMatchesReference) {
  auto gemm = Gemm::create();
  ASSERT_TRUE(gemm.ok()) << gemm.error().to_string();
  for (const int m : {1, 37}) {
    const int n = 72, k = 64, batch = 3, lda = batch * k;
    auto a = rounded(random_vector(std::size_t(m) * lda, 45), dt());
    auto w = rounded(random_vector(std::size_t(batch) * n * k, 46), dt());
    auto da = upload(a, dt()), dw = upload(w, dt());
    DeviceBuffer dc;
    ASSERT_TRUE(dc.allocate(std::size_t(batch) * m * n * 4).ok());
    GemmArgs g{dt(), Dtype::f32, da.get(), dw.get(), dc.get(), m, n, k, lda, 0, 0.0f};
    g.batch = batch;
    g.stride_a = k;
    g.stride_w = std::int64_t(n) * k;
    g.stride_c = std::int64_t(m) * n;
    const Status st = (*gemm)->run(g, nullptr);
    ASSERT_TRUE(st.ok()) << st.error().to_string();
    std::vector<double> ref(std::size_t(batch) * m * n);
    for (int b = 0; b < batch; ++b)
      for (int i = 0; i < m; ++i)
        for (int j = 0; j < n; ++j) {
          double acc = 0;
          for (int q = 0; q < k; ++q)
            acc +=
                double(a[std::size_t(i) * lda + b * k + q]) * w[(std::size_t(b) * n + j) * k + q];
          ref[(std::size_t(b) * m + i) * n + j] = acc;
        }
    const double err = rel_error(download(dc.get(), ref.size(), Dtype::f32), ref);
    std::cout << "[rel error] gemm batch " << batch << " x " << m << "x" << n << "x" << k << ": "
              << err << "\n";
    EXPECT_LE(err, test::tolerance(dt() == Dtype::f32 ? Dtype::f32 : Dtype::bf16));
  }
  GemmArgs bad{dt(), Dtype::f32, nullptr, nullptr, nullptr, 1, 1, 1, 0, 0, 0.0f};
  bad.batch = 0;
  EXPECT_FALSE((*gemm)->run(bad, nullptr).ok());
}

// GemmArgs::tf32: f32 operands on TF32 tensor cores agree with the double reference to TF32's
// rounding, and measurably less than the full-f32 product does (so the flag takes effect).
TEST(OpsTf32, Tf32ProductsAreWithinTf32Rounding) {
  AGENTRT_REQUIRE_CUDA_DEVICE();
  auto gemm = Gemm::create();
  ASSERT_TRUE(gemm.ok()) << gemm.error().to_string();
  const int m = 64, n = 96, k = 256;
  const auto a = random_vector(std::size_t(m) * k, 47), w = random_vector(std::size_t(n) * k, 48);
  auto da = upload(a, Dtype::f32), dw = upload(w, Dtype::f32);
  DeviceBuffer dc;
  ASSERT_TRUE(dc.allocate(std::size_t(m) * n * 4).ok());
  std::vector<double> ref(std::size_t(m) * n);
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < n; ++j)
      for (int q = 0; q < k; ++q)
        ref[std::size_t(i) * n + j] +=
            double(a[std::size_t(i) * k + q]) * w[std::size_t(j) * k + q];
  double err[2];
  for (const bool tf32 : {false, true}) {
    GemmArgs g{Dtype::f32, Dtype::f32, da.get(), dw.get(), dc.get(), m, n, k, 0, 0, 0.0f};
    g.tf32 = tf32;
    const Status st = (*gemm)->run(g, nullptr);
    ASSERT_TRUE(st.ok()) << st.error().to_string();
    err[tf32] = rel_error(download(dc.get(), ref.size(), Dtype::f32), ref);
  }
  std::cout << "[rel error] gemm f32 " << err[0] << ", tf32 " << err[1] << "\n";
  EXPECT_LE(err[0], 1e-5);
  EXPECT_LE(err[1], 2e-3);
  EXPECT_GT(err[1], 10 * err[0]);
}

// The batch-1 gate/up product with SwiGLU in one kernel (bf16 only), against the product and
// the activation in double; k = 4104 leaves a remainder after the unrolled loop.
TEST_P(Ops, SkinnySwiGluMatchesReference) {
  if (dt() != Dtype::bf16) GTEST_SKIP() << "the fused kernel is bf16 only";
  for (const int k : {4096, 4104}) {
    const int inter = 1000;
    auto a = rounded(random_vector(k, 43), dt());
    auto w = rounded(random_vector(2 * inter * k, 44, -0.05f, 0.05f), dt());
    auto da = upload(a, dt()), dw = upload(w, dt());
    DeviceBuffer out;
    ASSERT_TRUE(out.allocate(inter * dtype_bytes(dt())).ok());
    test::poison(out);
    ASSERT_EQ(launch_skinny_swiglu(da.get(), dw.get(), out.get(), inter, k, nullptr), cudaSuccess);
    std::vector<double> ref(inter);
    for (int j = 0; j < inter; ++j) {
      double g = 0, u = 0;
      for (int i = 0; i < k; ++i) {
        g += double(a[i]) * w[std::size_t(j) * k + i];
        u += double(a[i]) * w[(std::size_t(inter) + j) * k + i];
      }
      ref[j] = g / (1.0 + std::exp(-g)) * u;
    }
    report("skinny swiglu", rel_error(download(out.get(), inter, dt()), ref));
  }
  // Not the skinny kernel's shape: refused, not run.
  EXPECT_EQ(launch_skinny_swiglu(nullptr, nullptr, nullptr, 8, 12, nullptr), cudaErrorInvalidValue);
}

// The batch-1 products that normalize the f32 residual row themselves (skinny_gemm.h), with
// beta = 1 adding into C, against RMSNorm (rounded to bf16 as add_rmsnorm writes it) and the
// product in double; n = 1003 (8-warp blocks) and 4300 (32-warp blocks) leave a block with
// warps past the last column.
TEST_P(Ops, SkinnyNormProductsMatchReference) {
  if (dt() != Dtype::bf16) GTEST_SKIP() << "the fused kernels are bf16 only";
  for (const auto& [k, n] : {std::pair{4096, 1003}, std::pair{4104, 1003}, std::pair{4096, 4300}}) {
    const float eps = 1e-5f;
    auto x = random_vector(k, 45, -2.0f, 2.0f), g = random_vector(k, 46, 0.5f, 1.5f);
    auto w = rounded(random_vector(2 * std::size_t(n) * k, 47, -0.05f, 0.05f), dt());
    auto c0 = random_vector(n, 48);
    auto dx = upload(x, Dtype::f32), dg = upload(g, Dtype::f32), dw = upload(w, dt());
    auto dc = upload(c0, Dtype::f32);
    double ss = 0;
    for (float v : x)
      ss += double(v) * v;
    const double rs = 1.0 / std::sqrt(ss / k + eps);
    std::vector<float> h(k);
    for (int i = 0; i < k; ++i)
      h[i] = rounded(std::vector<float>{static_cast<float>(g[i] * (x[i] * rs))}, dt())[0];
    auto dot = [&](std::size_t row) {
      double acc = 0;
      for (int i = 0; i < k; ++i)
        acc += double(h[i]) * w[row * k + i];
      return acc;
    };
    ASSERT_EQ(launch_skinny_norm_gemm(dx.get<float>(), dg.get<float>(), eps, dw.get(),
                                      dc.get<float>(), 1.0f, n, k, nullptr),
              cudaSuccess);
    std::vector<double> ref(n);
    for (int j = 0; j < n; ++j)
      ref[j] = c0[j] + dot(j);
    report("skinny norm gemm, beta 1", rel_error(download(dc.get(), n, Dtype::f32), ref));

    DeviceBuffer out;
    ASSERT_TRUE(out.allocate(n * dtype_bytes(dt())).ok());
    test::poison(out);
    ASSERT_EQ(launch_skinny_norm_swiglu(dx.get<float>(), dg.get<float>(), eps, dw.get(), out.get(),
                                        n, k, nullptr),
              cudaSuccess);
    for (int j = 0; j < n; ++j) {
      const double gate = dot(j), up = dot(std::size_t(n) + j);
      ref[j] = gate / (1.0 + std::exp(-gate)) * up;
    }
    report("skinny norm swiglu", rel_error(download(out.get(), n, dt()), ref));
  }
  // Not the kernels' shape: refused, not run.
  EXPECT_EQ(
      launch_skinny_norm_gemm(nullptr, nullptr, 1e-5f, nullptr, nullptr, 0.0f, 8, 12, nullptr),
      cudaErrorInvalidValue);
}

TEST_P(Ops, RandomFillStaysInRange) {
  const std::size_t n = 100000;
  DeviceBuffer b;
  ASSERT_TRUE(b.allocate(n * dtype_bytes(dt())).ok());
  ASSERT_EQ(launch_fill_random(dt(), b.get(), n, 7, 0.02f, nullptr), cudaSuccess);
  auto v = download(b.get(), n, dt());
  double mean = 0, sq = 0;
  for (float x : v) {
    ASSERT_LE(std::fabs(x), 0.0201f);
    mean += x;
    sq += double(x) * x;
  }
  mean /= n;
  EXPECT_NEAR(mean, 0.0, 1e-3);
  EXPECT_NEAR(std::sqrt(sq / n), 0.02 / std::sqrt(3.0), 1e-3);  // uniform's standard deviation
}

INSTANTIATE_TEST_SUITE_P(Dtypes, Ops, ::testing::Values(Dtype::f32, Dtype::bf16),
                         [](const auto& param_info) {
                           return std::string(param_info.param == Dtype::f32 ? "f32" : "bf16");
                         });

}  // namespace
}  // namespace agentrt::kernels
