// Decode-sized products alone: the small-M tensor-core kernel (kernels/small_m_gemm.h), at the
// split count it chooses and at every other, against cuBLASLt (Gemm's autotuned plan) on the
// four products of the Llama-3.1-8B and Qwen2.5-0.5B layers and their LM heads, m rows each.
// The gate/up row is the fused SwiGLU kernel against cuBLASLt's product plus the SwiGLU
// kernel. W rotates through copies filling 512 MB, so it is read from memory as in a decode
// step, not from L2. Microseconds a call (median of 15 after warm-up) and W's bytes per
// second against the copy rate measured in the same run.
//
//   cuda_gemm_bench [--rows 2,8,16,32,64] [--shapes llama-3.1-8b,qwen2.5-0.5b]
#include <cuda_runtime.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "bench/cuda_bench_util.h"
#include "kernels/device_buffer.h"
#include "kernels/gemm.h"
#include "kernels/ops.h"
#include "kernels/small_m_gemm.h"

namespace agentrt::bench {
namespace {

struct Product {
  const char* name;
  int n, k;  // gated: n is inter, W is [2 inter, k]
  bool gated;
};

struct Shape {
  const char* name;
  std::vector<Product> products;
};

const Shape kShapes[] = {
    {"llama-3.1-8b",
     {{"qkv", 6144, 4096, false},
      {"o", 4096, 4096, false},
      {"gate_up+swiglu", 14336, 4096, true},
      {"down", 4096, 14336, false},
      {"lm_head", 128256, 4096, false}}},
    {"qwen2.5-0.5b",
     {{"qkv", 1152, 896, false},
      {"o", 896, 896, false},
      {"gate_up+swiglu", 4864, 896, true},
      {"down", 896, 4864, false},
      {"lm_head", 151936, 896, false}}},
};

[[noreturn]] void fail(const std::string& what) {
  std::fprintf(stderr, "cuda_gemm_bench: %s\n", what.c_str());
  std::exit(1);
}

kernels::DeviceBuffer buffer(std::size_t bytes) {
  kernels::DeviceBuffer b;
  if (!b.allocate(bytes).ok()) fail("device memory");
  cuda_check(cudaMemset(b.get(), 0, bytes), "memset");
  return b;
}

int run(const std::vector<int>& all_rows, const std::vector<std::string>& shapes) {
  cudaStream_t stream = nullptr;
  cuda_check(cudaStreamCreate(&stream), "stream");
  auto gemm = kernels::Gemm::create();
  if (!gemm.ok()) fail(gemm.error().to_string());
  (*gemm)->set_skinny(false);  // the cuBLASLt side
  const double copy = measure_copy_gbps(std::size_t(2) << 30, stream);
  std::printf("copy rate %.0f GB/s (read + write); floor = W bytes / copy rate\n\n", copy);
  std::printf(
      "| shape | product | m | cuBLASLt us | small-M us (splits) | s=1 | s=2 | s=4 | s=8 | "
      "cuBLASLt / small-M | small-M / floor |\n");
  std::printf("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n");
  const int max_rows = kernels::kSmallMMaxRows;
  for (const Shape& shape : kShapes) {
    if (std::find(shapes.begin(), shapes.end(), shape.name) == shapes.end()) continue;
    for (const Product& p : shape.products) {
      const int w_rows = p.gated ? 2 * p.n : p.n;
      const std::size_t w_bytes = std::size_t(w_rows) * p.k * 2;
      const int copies = static_cast<int>(std::max<std::size_t>(1, (512u << 20) / w_bytes));
      std::vector<kernels::DeviceBuffer> ws;
      for (int i = 0; i < copies; ++i)
        ws.push_back(buffer(w_bytes));
      kernels::DeviceBuffer a = buffer(std::size_t(max_rows) * p.k * 2);
      kernels::DeviceBuffer c = buffer(std::size_t(max_rows) * w_rows * 4);
      kernels::DeviceBuffer act = buffer(std::size_t(max_rows) * p.n * 2);
      for (const int m : all_rows) {
        const auto time = [&](auto&& one) {
          return median_ms(stream, 2, 15,
                           [&] {
                             for (int i = 0; i < copies; ++i)
                               one(ws[static_cast<std::size_t>(i)].get());
                           }) *
                 1000.0 / copies;
        };
        const double lt_us = time([&](const void* w) {
          const kernels::GemmArgs g{kernels::Dtype::bf16,
                                    p.gated ? kernels::Dtype::bf16 : kernels::Dtype::f32,
                                    a.get(),
                                    w,
                                    c.get(),
                                    m,
                                    w_rows,
                                    p.k,
                                    0,
                                    0,
                                    0.0f};
          const Status st = (*gemm)->run(g, stream);
          if (!st.ok()) fail(st.error().to_string());
          if (p.gated)
            cuda_check(
                kernels::launch_swiglu(kernels::Dtype::bf16, c.get(), m, p.n, act.get(), stream),
                "swiglu");
        });
        const auto small = [&](int splits) {
          return time([&](const void* w) {
            const cudaError_t e =
                p.gated
                    ? kernels::launch_small_m_swiglu(a.get(), p.k, w, act.get(), m, p.n, p.k,
                                                     stream, splits)
                    : kernels::launch_small_m_gemm(kernels::Dtype::f32, a.get(), p.k, w, c.get(),
                                                   p.n, m, p.n, p.k, 0.0f, stream, splits);
            cuda_check(e, "small-m gemm");
          });
        };
        const double chosen = small(0);
        std::printf("| %s | %s | %d | %.1f | %.1f |", shape.name, p.name, m, lt_us, chosen);
        for (const int s : {1, 2, 4, 8}) {
          if (s > p.k / kernels::kSmallMChunk) {
            std::printf(" - |");
          } else {
            std::printf(" %.1f |", small(s));
          }
        }
        const double floor_us = double(w_bytes) / (copy * 1e9) * 1e6;
        std::printf(" %.2fx | %.2fx |\n", lt_us / chosen, chosen / floor_us);
        std::fflush(stdout);
      }
    }
  }
  cudaStreamDestroy(stream);
  return 0;
}

}  // namespace
}  // namespace agentrt::bench

int main(int argc, char** argv) {
  CLI::App app{"small-M GEMM against cuBLASLt on decode shapes"};
  std::vector<int> rows{2, 8, 16, 32, 64};
  std::vector<std::string> shapes{"llama-3.1-8b", "qwen2.5-0.5b"};
  app.add_option("--rows", rows, "rows of A (2-64)")->delimiter(',');
  app.add_option("--shapes", shapes, "llama-3.1-8b, qwen2.5-0.5b")->delimiter(',');
  CLI11_PARSE(app, argc, argv);
  for (const int m : rows) {
    if (m < agentrt::kernels::kSmallMMinRows || m > agentrt::kernels::kSmallMMaxRows) {
      std::fprintf(stderr, "cuda_gemm_bench: --rows %d is outside 2-64\n", m);
      return 2;
    }
  }
  return agentrt::bench::run(rows, shapes);
}
