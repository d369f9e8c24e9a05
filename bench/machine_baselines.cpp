#include "bench/machine_baselines.h"

#include <cblas.h>

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
        float acc[8] = {};
        for (std::size_t i = lo; i + 8 <= hi; i += 8) {
          for (int j = 0; j < 8; ++j)
            acc[j] += buf[i + j];
        }
        double s = 0;
        for (float v : acc)
          s += v;
        sums[static_cast<std::size_t>(t)] = s;
      });
    }
    for (auto& th : pool)
      th.join();
  };
  double s = median_seconds(read_all, 5);
  return static_cast<double>(n * sizeof(float)) / s / 1e9;
}

}  // namespace agentrt::bench
