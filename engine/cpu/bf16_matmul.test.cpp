#include "engine/cpu/bf16_matmul.h"

#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "engine/cpu/cpu_isa.h"
#include "engine/cpu/cpu_ops.h"
#include "engine/model/dtype.h"

namespace agentrt::cpu {
namespace {

struct Case {
  std::size_t m, k, n;
};

// C = A . B^T + beta C in double, B given as bf16 bits.
std::vector<float> reference(const std::vector<float>& a, std::size_t lda,
                             const std::vector<std::uint16_t>& b, std::vector<float> c,
                             std::size_t ldc, Case s, std::size_t n0, std::size_t n1, float beta) {
  for (std::size_t i = 0; i < s.m; ++i) {
    for (std::size_t j = n0; j < n1; ++j) {
      double acc = 0;
      for (std::size_t t = 0; t < s.k; ++t)
        acc += double(a[i * lda + t]) * model::bf16_to_f32(b[j * s.k + t]);
      c[i * ldc + j] = static_cast<float>(acc + beta * c[i * ldc + j]);
    }
  }
  return c;
}

struct Data {
  std::vector<float> a, c;
  std::vector<std::uint16_t> b;
  std::size_t lda, ldc;
};

Data random_data(Case s, std::mt19937& rng) {
  std::uniform_real_distribution<float> dist(-1, 1);
  Data d{{}, {}, {}, s.k + 3, s.n + 2};
  d.a.resize(s.m * d.lda);
  d.c.resize(s.m * d.ldc);
  d.b.resize(s.n * s.k);
  for (auto& v : d.a)
    v = dist(rng);
  for (auto& v : d.c)
    v = dist(rng);
  for (auto& v : d.b)
    v = model::f32_to_bf16(dist(rng));
  return d;
}

// Every ISA path, every tile shape (1-32 rows of A, odd column counts, k with tails).
TEST(Bf16Matmul, SkinnyMatchesReferenceOnEveryIsa) {
  std::mt19937 rng(5);
  for (CpuIsa isa : {CpuIsa::scalar, CpuIsa::avx2, CpuIsa::avx512}) {
    if (static_cast<int>(isa) > static_cast<int>(detected_cpu_isa())) continue;
    force_cpu_isa(isa);
    for (std::size_t m : {1u, 2u, 3u, 4u, 5u, 8u, 9u, 17u, 32u}) {
      for (std::size_t k : {1u, 8u, 13u, 16u, 33u, 100u}) {
        for (float beta : {0.0f, 1.0f}) {
          const Case s{m, k, 13};
          Data d = random_data(s, rng);
          const auto want = reference(d.a, d.lda, d.b, d.c, d.ldc, s, 2, 12, beta);
          bf16_skinny_matmul(d.a.data(), d.lda, d.b.data(), k, d.c.data(), d.ldc, m, 2, 12, beta);
          for (std::size_t i = 0; i < d.c.size(); ++i) {
            ASSERT_NEAR(d.c[i], want[i], 1e-5 * (1 + k))
                << cpu_isa_name(isa) << " m=" << m << " k=" << k << " beta=" << beta << " at "
                << i;  // columns outside [2, 12) untouched
          }
        }
      }
    }
  }
  force_cpu_isa(std::nullopt);
}

// matmul_bt with a bf16 WeightMatrix: skinny slices for few rows, widened panels + sgemm for
// many, split over a pool.
TEST(Bf16Matmul, MatmulBtWithBf16WeightsMatchesReference) {
  std::mt19937 rng(9);
  ThreadPool pool(2);
  for (std::size_t m : {1u, 4u, 8u, 9u, 32u, 33u, 40u}) {
    const Case s{m, 300, 700};
    Data d = random_data(s, rng);
    WeightMatrix w;
    w.bf16 = d.b;
    const auto want = reference(d.a, d.lda, d.b, d.c, d.ldc, s, 0, s.n, 1.0f);
    matmul_bt(pool, {d.a.data(), d.lda, nullptr, nullptr, d.c.data(), d.ldc, m, s.n, s.k, 1.0f}, w);
    for (std::size_t i = 0; i < d.c.size(); ++i)
      ASSERT_NEAR(d.c[i], want[i], 1e-4) << "m=" << m << " at " << i;
  }
}

// A row's result does not depend on how many rows share the call (decode batches, best-of-N
// up to kBf16SkinnyMaxRows rows) nor on the column range a thread takes.
TEST(Bf16Matmul, RowResultIsIndependentOfBatchSize) {
  std::mt19937 rng(11);
  for (CpuIsa isa : {CpuIsa::scalar, CpuIsa::avx2, CpuIsa::avx512}) {
    if (static_cast<int>(isa) > static_cast<int>(detected_cpu_isa())) continue;
    force_cpu_isa(isa);
    for (std::size_t m : {std::size_t{2}, std::size_t{3}, std::size_t{5}, std::size_t{8},
                          std::size_t{9}, std::size_t{17}, kBf16SkinnyMaxRows}) {
      const Case s{m, 77, 21};
      Data d = random_data(s, rng);
      std::vector<float> all(d.c.size(), 0.0f), one(d.ldc, 0.0f);
      bf16_skinny_matmul(d.a.data(), d.lda, d.b.data(), s.k, all.data(), d.ldc, m, 0, 5, 0.0f);
      bf16_skinny_matmul(d.a.data(), d.lda, d.b.data(), s.k, all.data(), d.ldc, m, 5, s.n, 0.0f);
      for (std::size_t i = 0; i < m; ++i) {
        bf16_skinny_matmul(d.a.data() + i * d.lda, d.lda, d.b.data(), s.k, one.data(), d.ldc, 1, 0,
                           s.n, 0.0f);
        for (std::size_t j = 0; j < s.n; ++j)
          ASSERT_EQ(one[j], all[i * d.ldc + j])
              << cpu_isa_name(isa) << " m=" << m << " row " << i << " col " << j;
      }
    }
  }
  force_cpu_isa(std::nullopt);
}

TEST(Bf16Matmul, WidensExactly) {
  std::vector<std::uint16_t> b(37);
  for (std::size_t i = 0; i < b.size(); ++i)
    b[i] = static_cast<std::uint16_t>(0x3f80 + 997 * i);
  std::vector<float> out(b.size());
  bf16_to_f32(b.data(), b.size(), out.data());
  for (std::size_t i = 0; i < b.size(); ++i)
    EXPECT_EQ(out[i], model::bf16_to_f32(b[i])) << i;
}

}  // namespace
}  // namespace agentrt::cpu
