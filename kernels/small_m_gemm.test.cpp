// The small-M tensor-core GEMM and its SwiGLU form (small_m_gemm.h) against products in
// double on random bf16 inputs: every row-tile size (m up to 8, 16, 32), partial row and
// column tiles, k split 1 to 8 ways, beta = 1, a padded lda and ldc, and bit-identical
// reruns.
#include <gtest/gtest.h>

#include <cmath>
#include <iostream>

#include "kernels/gemm.h"
#include "kernels/small_m_gemm.h"
#include "kernels/test_util.h"

namespace agentrt::kernels {
namespace {

using test::download;
using test::random_vector;
using test::rel_error;
using test::rounded;
using test::upload;

struct Case {
  int m, n, k, lda, ldc;
  Dtype out;
  float beta;
};

TEST(SmallMGemm, MatchesReference) {
  AGENTRT_REQUIRE_CUDA_DEVICE();
  const Case cases[] = {
      {2, 1003, 896, 896, 1003, Dtype::f32, 0.0f},
      {5, 300, 128, 136, 304, Dtype::bf16, 0.0f},
      {8, 1152, 896, 904, 1152, Dtype::f32, 1.0f},
      {9, 1003, 4096, 4096, 1011, Dtype::f32, 1.0f},
      {16, 896, 4864, 4864, 896, Dtype::f32, 0.0f},
      {17, 4100, 1024, 1032, 4100, Dtype::f32, 0.0f},
      {32, 4096, 4096, 4096, 4096, Dtype::f32, 1.0f},
      {31, 200, 4864, 4864, 200, Dtype::bf16, 0.0f},
      {25, 1152, 896, 896, 1152, Dtype::f32, 1.0f},
      {32, 1000, 14336, 14336, 1000, Dtype::f32, 0.0f},
  };
  for (const Case& cs : cases) {
    const auto a = rounded(random_vector(std::size_t(cs.m) * cs.lda, 61), Dtype::bf16);
    const auto w = rounded(random_vector(std::size_t(cs.n) * cs.k, 62, -0.05f, 0.05f), Dtype::bf16);
    const auto c0 = rounded(random_vector(std::size_t(cs.m) * cs.ldc, 63), cs.out);
    auto da = upload(a, Dtype::bf16), dw = upload(w, Dtype::bf16);
    auto dc = upload(c0, cs.out);
    if (cs.beta == 0.0f) test::poison(dc);
    ASSERT_TRUE(small_m_gemm_fits(Dtype::bf16, cs.m, cs.k, cs.lda, da.get(), dw.get()));
    ASSERT_EQ(launch_small_m_gemm(cs.out, da.get(), cs.lda, dw.get(), dc.get(), cs.ldc, cs.m, cs.n,
                                  cs.k, cs.beta, nullptr),
              cudaSuccess);
    const auto got = download(dc.get(), std::size_t(cs.m) * cs.ldc, cs.out);
    std::vector<float> out;
    std::vector<double> ref;
    for (int r = 0; r < cs.m; ++r) {
      for (int j = 0; j < cs.n; ++j) {
        double acc = cs.beta * double(c0[std::size_t(r) * cs.ldc + j]);
        for (int q = 0; q < cs.k; ++q)
          acc += double(a[std::size_t(r) * cs.lda + q]) * w[std::size_t(j) * cs.k + q];
        ref.push_back(acc);
        out.push_back(got[std::size_t(r) * cs.ldc + j]);
      }
      // Columns past n are C's padding: not written.
      for (int j = cs.n; j < cs.ldc; ++j) {
        const float v = got[std::size_t(r) * cs.ldc + j];
        if (cs.beta == 0.0f) {
          EXPECT_TRUE(std::isnan(v)) << "padding written at row " << r << " column " << j;
        } else {
          EXPECT_EQ(v, c0[std::size_t(r) * cs.ldc + j]) << "padding at " << r << ", " << j;
        }
      }
    }
    const double err = rel_error(out, ref);
    std::cout << "[rel error] small-m gemm " << cs.m << "x" << cs.n << "x" << cs.k << " -> "
              << (cs.out == Dtype::f32 ? "f32" : "bf16") << ", beta " << cs.beta << ": " << err
              << "\n";
    EXPECT_LE(err, test::tolerance(cs.out)) << cs.m << "x" << cs.n << "x" << cs.k;

    // The same product again: the k splits add in a fixed order, so bit for bit.
    if (cs.beta == 0.0f) {
      ASSERT_EQ(launch_small_m_gemm(cs.out, da.get(), cs.lda, dw.get(), dc.get(), cs.ldc, cs.m,
                                    cs.n, cs.k, 0.0f, nullptr),
                cudaSuccess);
      const auto again = download(dc.get(), std::size_t(cs.m) * cs.ldc, cs.out);
      for (std::size_t i = 0; i < got.size(); ++i) {
        if (std::isnan(got[i]) && std::isnan(again[i])) continue;
        ASSERT_EQ(got[i], again[i]) << "element " << i;
      }
    }
  }
}

TEST(SmallMGemm, SwiGluMatchesReference) {
  AGENTRT_REQUIRE_CUDA_DEVICE();
  for (const auto& [m, inter, k] : {std::tuple{3, 1000, 896}, std::tuple{32, 4864, 896},
                                    std::tuple{32, 300, 4096}, std::tuple{24, 2000, 4096}}) {
    const auto a = rounded(random_vector(std::size_t(m) * k, 64), Dtype::bf16);
    const auto w =
        rounded(random_vector(2 * std::size_t(inter) * k, 65, -0.05f, 0.05f), Dtype::bf16);
    auto da = upload(a, Dtype::bf16), dw = upload(w, Dtype::bf16);
    DeviceBuffer out;
    ASSERT_TRUE(out.allocate(std::size_t(m) * inter * 2).ok());
    test::poison(out);
    ASSERT_EQ(launch_small_m_swiglu(da.get(), k, dw.get(), out.get(), m, inter, k, nullptr),
              cudaSuccess);
    std::vector<double> ref;
    for (int r = 0; r < m; ++r) {
      for (int j = 0; j < inter; ++j) {
        double gate = 0, up = 0;
        for (int q = 0; q < k; ++q) {
          gate += double(a[std::size_t(r) * k + q]) * w[std::size_t(j) * k + q];
          up += double(a[std::size_t(r) * k + q]) * w[(std::size_t(inter) + j) * k + q];
        }
        ref.push_back(gate / (1.0 + std::exp(-gate)) * up);
      }
    }
    const double err = rel_error(download(out.get(), ref.size(), Dtype::bf16), ref);
    std::cout << "[rel error] small-m swiglu " << m << "x" << inter << "x" << k << ": " << err
              << "\n";
    EXPECT_LE(err, test::tolerance(Dtype::bf16));
  }
}

// Gemm's choice between cuBLASLt and the small-M kernel: a timed pick among the allowed
// values, kept per shape; beta != 0 takes the small-M kernel untimed unless a scratch buffer
// is given to time in; other products and set_skinny(false) stay on cuBLASLt. The product
// is right whichever kernel runs.
TEST(SmallMGemm, GemmChoosesPerShape) {
  AGENTRT_REQUIRE_CUDA_DEVICE();
  auto gemm = Gemm::create();
  ASSERT_TRUE(gemm.ok()) << gemm.error().to_string();
  const int m = 16, n = 2048, k = 4096;
  const auto a = rounded(random_vector(std::size_t(m) * k, 66), Dtype::bf16);
  const auto w = rounded(random_vector(std::size_t(n) * k, 67, -0.05f, 0.05f), Dtype::bf16);
  auto da = upload(a, Dtype::bf16), dw = upload(w, Dtype::bf16);
  DeviceBuffer dc;
  ASSERT_TRUE(dc.allocate(std::size_t(m) * n * 4).ok());
  GemmArgs g{Dtype::bf16, Dtype::f32, da.get(), dw.get(), dc.get(), m, n, k, 0, 0, 0.0f};
  auto first = (*gemm)->small_m_splits(g, nullptr);
  ASSERT_TRUE(first.ok()) << first.error().to_string();
  EXPECT_TRUE(*first == -1 || *first == 1 || *first == 2 || *first == 4 || *first == 8) << *first;
  auto again = (*gemm)->small_m_splits(g, nullptr);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, *first);
  std::cout << "[choice] " << m << "x" << n << "x" << k << ": " << *first << "\n";
  test::poison(dc);
  ASSERT_TRUE((*gemm)->run(g, nullptr).ok());
  std::vector<double> ref;
  for (int r = 0; r < m; ++r)
    for (int j = 0; j < n; ++j) {
      double acc = 0;
      for (int q = 0; q < k; ++q)
        acc += double(a[std::size_t(r) * k + q]) * w[std::size_t(j) * k + q];
      ref.push_back(acc);
    }
  EXPECT_LE(rel_error(download(dc.get(), ref.size(), Dtype::f32), ref), 1e-5);

  // The gate|up form: n = 2 inter, C in bf16, SwiGLU into act.
  DeviceBuffer gate_up, act;
  ASSERT_TRUE(gate_up.allocate(std::size_t(m) * n * 2).ok());
  ASSERT_TRUE(act.allocate(std::size_t(m) * (n / 2) * 2).ok());
  GemmArgs gu{Dtype::bf16, Dtype::bf16, da.get(), dw.get(), gate_up.get(), m, n, k, 0, 0, 0.0f};
  auto gated = (*gemm)->small_m_swiglu_splits(gu, act.get(), nullptr);
  ASSERT_TRUE(gated.ok()) << gated.error().to_string();
  EXPECT_TRUE(*gated == -1 || *gated == 1 || *gated == 2 || *gated == 4 || *gated == 8) << *gated;
  std::cout << "[choice] swiglu " << m << "x" << n / 2 << "x" << k << ": " << *gated << "\n";
  GemmArgs odd = gu;
  odd.n = n - 1;
  EXPECT_EQ(*(*gemm)->small_m_swiglu_splits(odd, act.get(), nullptr), -1);

  GemmArgs beta = g;
  beta.beta = 1.0f;
  EXPECT_EQ(*(*gemm)->small_m_splits(beta, nullptr), 0);
  DeviceBuffer scratch;
  ASSERT_TRUE(scratch.allocate(std::size_t(m) * n * 4).ok());
  beta.scratch = scratch.get();
  beta.m = m / 2;  // a shape not chosen yet
  auto timed = (*gemm)->small_m_splits(beta, nullptr);
  ASSERT_TRUE(timed.ok()) << timed.error().to_string();
  EXPECT_TRUE(*timed == -1 || *timed == 1 || *timed == 2 || *timed == 4 || *timed == 8) << *timed;
  // C = ref + C: the timing ran in the scratch buffer.
  const auto c_before = download(dc.get(), std::size_t(m / 2) * n, Dtype::f32);
  ASSERT_TRUE((*gemm)->run(beta, nullptr).ok());
  std::vector<double> twice(ref.begin(), ref.begin() + std::size_t(m / 2) * n);
  for (std::size_t i = 0; i < twice.size(); ++i)
    twice[i] += c_before[i];
  EXPECT_LE(rel_error(download(dc.get(), twice.size(), Dtype::f32), twice), 1e-5);
  GemmArgs wide = g;
  wide.m = kSmallMMaxRows + 1;
  EXPECT_EQ(*(*gemm)->small_m_splits(wide, nullptr), -1);
  (*gemm)->set_skinny(false);
  EXPECT_EQ(*(*gemm)->small_m_splits(g, nullptr), -1);
}

TEST(SmallMGemm, RefusesOtherShapes) {
  AGENTRT_REQUIRE_CUDA_DEVICE();
  DeviceBuffer buf;
  ASSERT_TRUE(buf.allocate(1 << 20).ok());
  const void* p = buf.get();
  EXPECT_FALSE(small_m_gemm_fits(Dtype::bf16, 1, 128, 128, p, p));   // one row: skinny kernel
  EXPECT_FALSE(small_m_gemm_fits(Dtype::bf16, 33, 128, 128, p, p));  // past kSmallMMaxRows
  EXPECT_FALSE(small_m_gemm_fits(Dtype::bf16, 8, 200, 200, p, p));   // k not whole chunks
  EXPECT_FALSE(small_m_gemm_fits(Dtype::f32, 8, 128, 128, p, p));
  EXPECT_FALSE(small_m_gemm_fits(Dtype::bf16, 8, 128, 132, p, p));  // lda not 16-byte rows
  EXPECT_FALSE(small_m_gemm_fits(Dtype::bf16, 8, 128, 128, static_cast<const char*>(p) + 2, p));
  EXPECT_EQ(launch_small_m_gemm(Dtype::f32, p, 200, p, buf.get(), 8, 8, 8, 200, 0.0f, nullptr),
            cudaErrorInvalidValue);
  EXPECT_EQ(launch_small_m_swiglu(p, 128, p, buf.get(), 8, 0, 128, nullptr), cudaErrorInvalidValue);
}

}  // namespace
}  // namespace agentrt::kernels
