#include "engine/cpu/cpu_ops.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "engine/cpu/cpu_isa.h"

namespace agentrt::cpu {
namespace {

// rms_norm and silu_mul on every ISA the CPU has, against double references, with lengths
// that leave vector tails.
TEST(CpuOps, NormAndSiluMatchReferenceOnEveryIsa) {
  std::mt19937 rng(21);
  std::uniform_real_distribution<float> dist(-6, 6);
  for (CpuIsa isa : {CpuIsa::scalar, CpuIsa::avx2, CpuIsa::avx512}) {
    if (isa > detected_cpu_isa()) continue;
    force_cpu_isa(isa);
    for (std::size_t n : {1u, 15u, 64u, 257u, 896u}) {
      std::vector<float> x(n), w(n), u(n), out(n);
      for (std::size_t i = 0; i < n; ++i) {
        x[i] = dist(rng);
        w[i] = dist(rng);
        u[i] = dist(rng);
      }
      double ss = 0;
      for (float v : x)
        ss += double(v) * v;
      const double r = 1.0 / std::sqrt(ss / double(n) + 1e-6);
      rms_norm(x.data(), w.data(), n, 1e-6f, out.data());
      for (std::size_t i = 0; i < n; ++i)
        ASSERT_NEAR(out[i], w[i] * x[i] * r, 1e-5 * std::fabs(w[i] * x[i] * r) + 1e-6)
            << cpu_isa_name(isa) << " n " << n << " at " << i;
      silu_mul(x.data(), u.data(), n, out.data());
      for (std::size_t i = 0; i < n; ++i) {
        const double want = x[i] / (1.0 + std::exp(-double(x[i]))) * u[i];
        ASSERT_NEAR(out[i], want, 1e-6 * std::fabs(want) + 1e-6)
            << cpu_isa_name(isa) << " n " << n << " at " << i;
      }
    }
  }
  force_cpu_isa(std::nullopt);
}

}  // namespace
}  // namespace agentrt::cpu
