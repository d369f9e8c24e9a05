// OpenBLAS's kernels after ensure_blas_core(): never its Prescott fallback on a CPU with AVX2
// or better (unless OPENBLAS_CORETYPE asks), and sgemm still computes the product.
#include "engine/cpu/blas_core.h"

#include <cblas.h>
#include <gtest/gtest.h>
#include <strings.h>

#include <cmath>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

extern "C" char* openblas_get_corename(void);

namespace agentrt::cpu {
namespace {

TEST(BlasCore, NoPrescottKernelsOnAnAvx2Cpu) {
  const std::string core = ensure_blas_core();
  EXPECT_EQ(core, std::string(openblas_get_corename()));
  EXPECT_EQ(ensure_blas_core(), core);  // once per process
  if (std::getenv("OPENBLAS_CORETYPE") != nullptr) GTEST_SKIP() << "OPENBLAS_CORETYPE is set";
  __builtin_cpu_init();
  if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma"))
    GTEST_SKIP() << "no AVX2 + FMA: Prescott may be right";
  EXPECT_NE(strcasecmp(core.c_str(), "Prescott"), 0) << core;
}

TEST(BlasCore, SgemmMatchesANaiveProduct) {
  ensure_blas_core();
  const int m = 37, n = 53, k = 301;
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> dist(-1, 1);
  std::vector<float> a(m * k), b(n * k), c(m * n, 0.0f);
  for (auto& v : a)
    v = dist(rng);
  for (auto& v : b)
    v = dist(rng);
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, k, 1.0f, a.data(), k, b.data(), k,
              0.0f, c.data(), n);
  for (int i = 0; i < m; ++i) {
    for (int j = 0; j < n; ++j) {
      double want = 0;
      for (int t = 0; t < k; ++t)
        want += static_cast<double>(a[i * k + t]) * b[j * k + t];
      ASSERT_NEAR(c[i * n + j], want, 1e-3) << i << "," << j;
    }
  }
}

}  // namespace
}  // namespace agentrt::cpu
