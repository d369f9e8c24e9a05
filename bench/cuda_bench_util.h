// Timing and ceilings for the CUDA benchmarks: device-event timing (median of repeats after
// warm-up), and the two ceilings each figure is compared with, measured in the same run:
// device-to-device copy bandwidth and the cuBLASLt bf16 GEMM rate.
#pragma once

#include <cuda_runtime.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <utility>
#include <vector>

namespace agentrt::bench {

inline void cuda_check(cudaError_t err, const char* what) {
  if (err != cudaSuccess) {
    std::fprintf(stderr, "%s: %s\n", what, cudaGetErrorString(err));
    std::exit(1);
  }
}

// Median milliseconds of `reps` runs of fn (each bracketed by events on `stream`) after
// `warmup` runs. fn enqueues its work on `stream`.
inline double median_ms(cudaStream_t stream, int warmup, int reps,
                        const std::function<void()>& fn) {
  for (int i = 0; i < warmup; ++i)
    fn();
  cuda_check(cudaStreamSynchronize(stream), "warm-up");
  cudaEvent_t a, b;
  cuda_check(cudaEventCreate(&a), "event");
  cuda_check(cudaEventCreate(&b), "event");
  std::vector<double> t;
  for (int i = 0; i < reps; ++i) {
    cuda_check(cudaEventRecord(a, stream), "record");
    fn();
    cuda_check(cudaEventRecord(b, stream), "record");
    cuda_check(cudaEventSynchronize(b), "sync");
    float ms = 0;
    cuda_check(cudaEventElapsedTime(&ms, a, b), "elapsed");
    t.push_back(ms);
  }
  cudaEventDestroy(a);
  cudaEventDestroy(b);
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

// GB/s of a device-to-device copy of `bytes`, counting bytes read plus bytes written.
double measure_copy_gbps(std::size_t bytes, cudaStream_t stream);
// TFLOP/s of an n x n x n bf16 GEMM (f32 accumulate, bf16 out) through cuBLASLt on random data.
double measure_gemm_tflops(int n, cudaStream_t stream);
// Decode-attention kernel rows (printed as a table), each under both split rules of
// plan_attention: "target" (enough CTAs for attention_target_ctas) and "waves" (the
// estimated-time choice over the device's decode slots, as the backend plans decodes).
struct AttentionRow {
  const char* shape;
  int heads, kv_heads, head_dim, batch, context;
  bool wave_splits;
  int ctas;
  double ms, gbps, ratio;
};
std::vector<AttentionRow> bench_decode_attention(double copy_gbps, cudaStream_t stream);
// One layer's decode attention for `samples` sequences forked from a `prompt`-token prompt,
// `generated` tokens each past it: own copies of the prompt's KV, shared blocks without a
// cascade, and the cascade.
struct CascadeAttentionRow {
  const char* shape = "";
  int samples = 0, prompt = 0, generated = 0;
  double independent_ms = 0, forked_ms = 0, cascade_ms = 0;
  double prefix_ms = 0, suffix_ms = 0, merge_ms = 0;  // the cascade's parts, each alone
  int prefix_splits = 0;                              // as planned
  std::vector<std::pair<int, double>> by_splits;      // (forced prefix splits, cascade ms)
};
CascadeAttentionRow bench_cascade_attention(const char* shape, int heads, int kv_heads, int d,
                                            int samples, int prompt, int generated,
                                            cudaStream_t stream);

}  // namespace agentrt::bench
