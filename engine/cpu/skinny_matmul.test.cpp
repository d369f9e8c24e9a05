#include "engine/cpu/skinny_matmul.h"

#include <gtest/gtest.h>

#include <random>
#include <vector>

namespace agentrt::cpu {
namespace {

TEST(SkinnyMatmul, MatchesNaiveProductForManyShapes) {
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> dist(-1, 1);
  for (std::size_t m : {1u, 2u, 7u, 8u, 9u, 16u, 19u}) {
    for (std::size_t k : {1u, 8u, 13u, 64u, 100u}) {
      for (float beta : {0.0f, 1.0f}) {
        const std::size_t n = 11, lda = k + 3, ldc = n + 2;
        std::vector<float> a(m * lda), b(n * k), c(m * ldc), ref;
        for (auto& v : a)
          v = dist(rng);
        for (auto& v : b)
          v = dist(rng);
        for (auto& v : c)
          v = dist(rng);
        ref = c;
        for (std::size_t i = 0; i < m; ++i) {
          for (std::size_t j = 2; j < 9; ++j) {
            double acc = 0;
            for (std::size_t t = 0; t < k; ++t)
              acc += double(a[i * lda + t]) * b[j * k + t];
            ref[i * ldc + j] = static_cast<float>(acc + beta * ref[i * ldc + j]);
          }
        }
        skinny_matmul(a.data(), lda, b.data(), k, c.data(), ldc, m, 2, 9, beta);
        for (std::size_t i = 0; i < c.size(); ++i) {
          ASSERT_NEAR(c[i], ref[i], 1e-4) << "m=" << m << " k=" << k << " beta=" << beta << " at "
                                          << i;  // columns outside [2, 9) untouched
        }
      }
    }
  }
}

}  // namespace
}  // namespace agentrt::cpu
