#include "engine/cpu/bf16_dot_matmul.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <random>
#include <vector>

#include "engine/cpu/amx_matmul.h"
#include "engine/cpu/cpu_isa.h"
#include "engine/cpu/cpu_ops.h"
#include "engine/model/dtype.h"

namespace agentrt::cpu {
namespace {

// C = bf16(A) . B^T + beta C in double.
std::vector<float> reference(const std::vector<float>& a, std::size_t lda,
                             const std::vector<std::uint16_t>& b, std::vector<float> c,
                             std::size_t ldc, std::size_t m, std::size_t k, std::size_t n0,
                             std::size_t n1, float beta, bool round_a = true) {
  for (std::size_t i = 0; i < m; ++i) {
    for (std::size_t j = n0; j < n1; ++j) {
      double acc = 0;
      for (std::size_t t = 0; t < k; ++t) {
        const float x = a[i * lda + t];
        acc += double(round_a ? model::bf16_to_f32(model::f32_to_bf16(x)) : x) *
               model::bf16_to_f32(b[j * k + t]);
      }
      c[i * ldc + j] = static_cast<float>(acc + beta * c[i * ldc + j]);
    }
  }
  return c;
}

// Every tile shape (1-9 rows), odd column ranges, k with and without a 32-element tail.
TEST(Bf16DotMatmul, MatchesBf16RoundedReference) {
  if (!bf16_dot_supported()) GTEST_SKIP() << "no AVX512-BF16 on this CPU";
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> dist(-1, 1);
  for (std::size_t k : {32, 45, 256, 896}) {
    for (std::size_t m = 1; m <= 9; ++m) {
      const std::size_t n = 37, lda = k + 3, ldc = n + 2;
      std::vector<float> a(m * lda), c(m * ldc);
      std::vector<std::uint16_t> b(n * k);
      for (auto& v : a)
        v = dist(rng);
      for (auto& v : c)
        v = dist(rng);
      for (auto& v : b)
        v = model::f32_to_bf16(dist(rng));
      std::vector<std::uint16_t> a16(m * k);
      round_rows_to_bf16(a.data(), lda, m, k, a16.data(), k);
      for (float beta : {0.0f, 1.0f}) {
        auto got = c;
        bf16_dot_matmul(a16.data(), b.data(), k, got.data(), ldc, m, 3, 36, beta);
        const auto want = reference(a, lda, b, c, ldc, m, k, 3, 36, beta);
        for (std::size_t i = 0; i < got.size(); ++i)
          ASSERT_NEAR(got[i], want[i], 1e-4 * std::sqrt(double(k)))
              << "k " << k << " m " << m << " beta " << beta << " at " << i;
      }
    }
  }
}

// A row's result is bit-identical whatever the batch it is computed in and the column split
// (decode and prefill, batched and alone, give the same logits).
TEST(Bf16DotMatmul, RowResultDoesNotDependOnBatchOrSplit) {
  if (!bf16_dot_supported()) GTEST_SKIP() << "no AVX512-BF16 on this CPU";
  std::mt19937 rng(11);
  std::uniform_real_distribution<float> dist(-1, 1);
  const std::size_t k = 200, n = 50, m = 11;
  std::vector<float> a(m * k);
  std::vector<std::uint16_t> b(n * k);
  for (auto& v : a)
    v = dist(rng);
  for (auto& v : b)
    v = model::f32_to_bf16(dist(rng));
  std::vector<std::uint16_t> a16(m * k);
  round_rows_to_bf16(a.data(), k, m, k, a16.data(), k);
  std::vector<float> all(m * n);
  bf16_dot_matmul(a16.data(), b.data(), k, all.data(), n, m, 0, n, 0.0f);
  for (std::size_t i = 0; i < m; ++i) {
    std::vector<float> one(n);
    bf16_dot_matmul(a16.data() + i * k, b.data(), k, one.data(), n, 1, 0, 7, 0.0f);
    bf16_dot_matmul(a16.data() + i * k, b.data(), k, one.data(), n, 1, 7, n, 0.0f);
    for (std::size_t j = 0; j < n; ++j)
      ASSERT_EQ(one[j], all[i * n + j]) << "row " << i << " col " << j;
  }
}

// Rounding is to nearest even, as torch and llama.cpp round f32 to bf16.
TEST(Bf16DotMatmul, RoundsToNearestEven) {
  if (!bf16_dot_supported()) GTEST_SKIP() << "no AVX512-BF16 on this CPU";
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> dist(-100, 100);
  std::vector<float> a(67);
  for (auto& v : a)
    v = dist(rng);
  std::vector<std::uint16_t> out(a.size());
  round_rows_to_bf16(a.data(), a.size(), 1, a.size(), out.data(), a.size());
  for (std::size_t i = 0; i < a.size(); ++i)
    EXPECT_EQ(out[i], model::f32_to_bf16(a[i])) << i;
}

// AMX tiles: rows and columns that are not multiples of the 16 x 16 tiles, k with a tail,
// a column range inside B.
TEST(AmxMatmul, MatchesBf16RoundedReference) {
  if (!amx_supported()) GTEST_SKIP() << "no AMX-BF16 (or no tile permission) here";
  std::mt19937 rng(13);
  std::uniform_real_distribution<float> dist(-1, 1);
  for (std::size_t k : {45, 256}) {
    for (std::size_t m : {1, 17, 40}) {
      const std::size_t n = 75, lda = k + 1, ldc = n + 3;
      std::vector<float> a(m * lda), c(m * ldc);
      std::vector<std::uint16_t> b(n * k);
      for (auto& v : a)
        v = dist(rng);
      for (auto& v : c)
        v = dist(rng);
      for (auto& v : b)
        v = model::f32_to_bf16(dist(rng));
      const std::size_t ld16 = amx_lda(k);
      std::vector<std::uint16_t> a16(amx_rows(m) * ld16, 0);
      round_rows_to_bf16(a.data(), lda, m, k, a16.data(), ld16);
      for (float beta : {0.0f, 1.0f}) {
        auto got = c;
        amx_matmul(a16.data(), b.data(), k, got.data(), ldc, m, 5, 70, beta);
        const auto want = reference(a, lda, b, c, ldc, m, k, 5, 70, beta);
        for (std::size_t i = 0; i < got.size(); ++i)
          ASSERT_NEAR(got[i], want[i], 1e-4 * std::sqrt(double(k)))
              << "k " << k << " m " << m << " beta " << beta << " at " << i;
      }
    }
  }
}

// matmul_bt under avx512bf16: vdpbf16ps for a few rows, AMX (or the exact path) for more.
TEST(Bf16DotMatmul, MatmulBtOnTheBf16PathMatchesReference) {
  if (detected_cpu_isa() < CpuIsa::avx512bf16) GTEST_SKIP() << "no AVX512-BF16 on this CPU";
  std::mt19937 rng(17);
  std::uniform_real_distribution<float> dist(-1, 1);
  ThreadPool pool(2);
  force_cpu_isa(CpuIsa::avx512bf16);
  for (std::size_t m : {1u, 8u, 9u, 40u}) {
    const std::size_t k = 300, n = 700;
    std::vector<float> a(m * k), c(m * n);
    std::vector<std::uint16_t> b(n * k);
    for (auto& v : a)
      v = dist(rng);
    for (auto& v : c)
      v = dist(rng);
    for (auto& v : b)
      v = model::f32_to_bf16(dist(rng));
    WeightMatrix w;
    w.bf16 = b;
    // More than 8 rows take AMX where the CPU has it, else the exact path (activations
    // not rounded).
    const bool rounded = m <= 8 || amx_supported();
    const auto want = reference(a, k, b, c, n, m, k, 0, n, 1.0f, rounded);
    matmul_bt(pool, {a.data(), k, nullptr, nullptr, c.data(), n, m, n, k, 1.0f}, w);
    for (std::size_t i = 0; i < c.size(); ++i)
      ASSERT_NEAR(c[i], want[i], 2e-3) << "m=" << m << " at " << i;
  }
  force_cpu_isa(std::nullopt);
}

// Without AGENTRT_CPU_ISA the kernels stay exact: bf16 activations only by name.
TEST(Bf16DotMatmul, DefaultIsaIsExact) {
  if (cpu_isa_from_env()) GTEST_SKIP() << "AGENTRT_CPU_ISA is set";
  force_cpu_isa(std::nullopt);
  EXPECT_LE(cpu_isa(), CpuIsa::avx512);
  force_cpu_isa(CpuIsa::avx512bf16);
  EXPECT_EQ(cpu_isa(),
            detected_cpu_isa() >= CpuIsa::avx512bf16 ? CpuIsa::avx512bf16 : detected_cpu_isa());
  force_cpu_isa(std::nullopt);
}

// set_default_cpu_isa raises (or lowers) the level used without an override, never above the
// CPU's; force_cpu_isa still wins over it.
TEST(Bf16DotMatmul, ProcessDefaultIsaIsLoweredToTheCpus) {
  if (cpu_isa_from_env()) GTEST_SKIP() << "AGENTRT_CPU_ISA is set";
  force_cpu_isa(std::nullopt);
  set_default_cpu_isa(CpuIsa::avx512bf16);
  EXPECT_EQ(cpu_isa(), detected_cpu_isa());
  set_default_cpu_isa(CpuIsa::scalar);
  EXPECT_EQ(cpu_isa(), CpuIsa::scalar);
  force_cpu_isa(CpuIsa::avx2);
  EXPECT_EQ(cpu_isa(), detected_cpu_isa() >= CpuIsa::avx2 ? CpuIsa::avx2 : CpuIsa::scalar);
  force_cpu_isa(std::nullopt);
  set_default_cpu_isa(CpuIsa::avx512);
  EXPECT_LE(cpu_isa(), CpuIsa::avx512);
}

}  // namespace
}  // namespace agentrt::cpu
