#include "bench/machine_baselines.h"

#include <cblas.h>
#include <immintrin.h>

#include <algorithm>
#include <chrono>
#include <random>
#include <thread>
#include <vector>

namespace agentrt::bench {
namespace {

template <class Fn>
double median_seconds(Fn&& fn, int reps) {
  std::vector<double> t;
  fn();  // warm-up
  for (int i = 0; i < reps; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    fn();
    t.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

// Vector loads with four independent accumulators, so the sum is bound by memory, not adds.
__attribute__((target("avx2"))) double sum_avx2(const float* p, std::size_t n) {
  __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(),
                   _mm256_setzero_ps()};
  std::size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    for (int j = 0; j < 4; ++j)
      acc[j] = _mm256_add_ps(acc[j], _mm256_loadu_ps(p + i + 8 * j));
  }
  alignas(32) float lanes[8];
  _mm256_store_ps(lanes,
                  _mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3])));
  double s = 0;
  for (float v : lanes)
    s += v;
  for (; i < n; ++i)
    s += p[i];
  return s;
}

double sum_floats(const float* p, std::size_t n) {
  if (__builtin_cpu_supports("avx2")) return sum_avx2(p, n);
  double s = 0;
  for (std::size_t i = 0; i < n; ++i)
    s += p[i];
  return s;
}

}  // namespace

double measure_sgemm_gflops(int m, int n, int k, int threads) {
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> dist(-1, 1);
  std::vector<float> a(static_cast<std::size_t>(m) * k), b(static_cast<std::size_t>(n) * k),
      c(static_cast<std::size_t>(m) * n);
  for (auto& v : a)
    v = dist(rng);
  for (auto& v : b)
    v = dist(rng);
  openblas_set_num_threads(threads);
  double s = median_seconds(
      [&] {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, k, 1.0f, a.data(), k, b.data(),
                    k, 0.0f, c.data(), n);
      },
      5);
  openblas_set_num_threads(1);
  return 2.0 * m * n * k / s / 1e9;
}

double measure_read_gbps(int megabytes, int threads) {
  const std::size_t n = static_cast<std::size_t>(megabytes) * 1024 * 1024 / sizeof(float);
  std::vector<float> buf(n, 1.0f);
  std::vector<double> sums(static_cast<std::size_t>(threads));
  auto read_all = [&] {
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) {
      pool.emplace_back([&, t] {
        const std::size_t lo = n * t / threads, hi = n * (t + 1) / threads;
        sums[static_cast<std::size_t>(t)] = sum_floats(buf.data() + lo, hi - lo);
      });
    }
    for (auto& th : pool)
      th.join();
  };
  double s = median_seconds(read_all, 5);
  return static_cast<double>(n * sizeof(float)) / s / 1e9;
}

}  // namespace agentrt::bench
