// Helpers for the CUDA tests: skipping without a device, random inputs, host<->device
// copies in either storage type, the relative error ||out - ref|| / ||ref||, and backends
// with random weights and KV whose logits the tests compare.
#pragma once

#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "engine/model/dtype.h"
#include "kernels/cuda_backend.h"
#include "kernels/device_buffer.h"
#include "kernels/ops.h"

namespace agentrt::kernels::test {

inline std::string device_problem() {
  int n = 0;
  const cudaError_t err = cudaGetDeviceCount(&n);
  if (err != cudaSuccess) return std::string("no CUDA device: ") + cudaGetErrorString(err);
  if (n == 0) return "no CUDA device: none found";
  return {};
}

#define AGENTRT_REQUIRE_CUDA_DEVICE()                                                       \
  do {                                                                                      \
    const std::string problem = ::agentrt::kernels::test::device_problem();                 \
    if (!problem.empty()) GTEST_SKIP() << problem << " (these tests run on a GPU machine)"; \
  } while (false)

inline std::vector<float> random_vector(std::size_t n, std::uint64_t seed, float lo = -1.0f,
                                        float hi = 1.0f) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<float> v(n);
  for (auto& x : v)
    x = d(rng);
  return v;
}

// Rounds values through the storage type, so references see what the device sees.
inline std::vector<float> rounded(std::vector<float> v, Dtype dt) {
  if (dt == Dtype::bf16)
    for (auto& x : v)
      x = model::bf16_to_f32(model::f32_to_bf16(x));
  return v;
}

// Uploads f32 values converted to `dt`.
inline DeviceBuffer upload(const std::vector<float>& v, Dtype dt) {
  DeviceBuffer b;
  EXPECT_TRUE(b.allocate(std::max<std::size_t>(1, v.size()) * dtype_bytes(dt)).ok());
  if (dt == Dtype::f32) {
    EXPECT_EQ(cudaMemcpy(b.get(), v.data(), v.size() * 4, cudaMemcpyHostToDevice), cudaSuccess);
  } else {
    std::vector<std::uint16_t> h(v.size());
    for (std::size_t i = 0; i < v.size(); ++i)
      h[i] = model::f32_to_bf16(v[i]);
    EXPECT_EQ(cudaMemcpy(b.get(), h.data(), h.size() * 2, cudaMemcpyHostToDevice), cudaSuccess);
  }
  return b;
}

template <class T>
DeviceBuffer upload_raw(const std::vector<T>& v) {
  DeviceBuffer b;
  EXPECT_TRUE(b.allocate(std::max<std::size_t>(1, v.size()) * sizeof(T)).ok());
  EXPECT_EQ(cudaMemcpy(b.get(), v.data(), v.size() * sizeof(T), cudaMemcpyHostToDevice),
            cudaSuccess);
  return b;
}

// Reads n values of `dt` back as f32.
inline std::vector<float> download(const void* d, std::size_t n, Dtype dt) {
  std::vector<float> out(n);
  if (dt == Dtype::f32) {
    EXPECT_EQ(cudaMemcpy(out.data(), d, n * 4, cudaMemcpyDeviceToHost), cudaSuccess);
  } else {
    std::vector<std::uint16_t> h(n);
    EXPECT_EQ(cudaMemcpy(h.data(), d, n * 2, cudaMemcpyDeviceToHost), cudaSuccess);
    for (std::size_t i = 0; i < n; ++i)
      out[i] = model::bf16_to_f32(h[i]);
  }
  return out;
}

// Fills a buffer with NaN bit patterns so unwritten outputs fail the comparison.
inline void poison(DeviceBuffer& b) {
  ASSERT_EQ(cudaMemset(b.get(), 0xff, b.bytes()), cudaSuccess);
}

inline double rel_error(const std::vector<float>& out, const std::vector<double>& ref) {
  double num = 0, den = 0;
  for (std::size_t i = 0; i < ref.size(); ++i) {
    const double d = static_cast<double>(out[i]) - ref[i];
    if (std::isnan(out[i])) return INFINITY;
    num += d * d;
    den += ref[i] * ref[i];
  }
  return std::sqrt(num / std::max(den, 1e-300));
}

// Relative-error bounds: f32 kernels land far under 1e-5; bf16 outputs carry bf16 rounding.
inline double tolerance(Dtype dt) {
  return dt == Dtype::f32 ? 1e-5 : 1e-2;
}

// A backend with weights drawn from weight_seed and every KV block from kv_seed: two
// created alike compute the same function, whatever their other options.
inline std::unique_ptr<CudaBackend> random_backend(const model::ModelConfig& cfg,
                                                   const CudaBackendOptions& options,
                                                   std::uint64_t weight_seed,
                                                   std::uint64_t kv_seed) {
  auto b = CudaBackend::create_random(cfg, options, weight_seed);
  EXPECT_TRUE(b.ok()) << b.error().to_string();
  if (!b.ok()) return nullptr;
  EXPECT_TRUE((*b)->randomize_kv(kv_seed).ok());
  return std::move(*b);
}

// The step's logits rows through Backend::forward (empty, with a test failure, on an error).
inline std::vector<float> forward_logits(Backend& b, const BatchPlan& plan) {
  Logits out;
  const Status st = b.forward(plan, out);
  EXPECT_TRUE(st.ok()) << st.error().to_string();
  return out.data;
}

}  // namespace agentrt::kernels::test
