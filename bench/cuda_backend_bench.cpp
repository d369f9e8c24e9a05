// CUDA backend benchmark (H200/H100): decode-attention kernel bandwidth, decode step time
// against the HBM floor, and prefill rate against the GEMM rate, with random weights in the
// shapes of Qwen2.5-0.5B and Llama-3.1-8B (bf16). Ceilings are measured in the same run:
// device-to-device copy bandwidth and the cuBLASLt bf16 GEMM rate. Prints tables; --json
// writes every figure.
//
//   cuda_backend_bench [--json FILE] [--shapes qwen2.5-0.5b,llama-3.1-8b] [--batch 1,32,256]
//                      [--context 1024] [--prefill 4096] [--steps 10]
#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>

#include "bench/cuda_bench_util.h"
#include "bench/cuda_model_shapes.h"
#include "kernels/cuda_backend.h"
#include "kernels/device_info.h"
#include "kernels/small_m_gemm.h"

namespace agentrt::bench {
namespace {

struct Args {
  std::string json_path;
  std::vector<std::string> shapes = {"qwen2.5-0.5b", "llama-3.1-8b"};
  std::vector<int> batches = {1, 32, 256};
  int context = 1024;
  int prefill = 4096;
  int steps = 10;
  bool kernel_times = false;  // per-kernel device time of each decode step (eager)
  bool graphs = false;  // decode steps through CUDA graphs (CudaBackendOptions::decode_graphs)
  bool attention_only = false;
  bool skip_attention = false;
  bool prefill_only = false;  // no decode steps (e.g. to profile the prefill's kernels alone)
};

void fail(const Error& e) {
  std::fprintf(stderr, "cuda_backend_bench: %s\n", e.to_string().c_str());
  std::exit(1);
}

// Multiply-adds of the weight GEMMs per token (lm_head included) and KV bytes per token.
double gemm_flops_per_token(const model::ModelConfig& c) {
  const double h = c.hidden_size, q = c.num_heads * c.head_dim, kv = c.num_kv_heads * c.head_dim;
  const double per_layer = h * (q + 2 * kv) + q * h + 3.0 * h * c.intermediate_size;
  return 2.0 * (per_layer * c.num_layers);  // lm_head counted per logits row separately
}
double kv_bytes_per_token(const model::ModelConfig& c) {
  return 2.0 * 2 * c.num_kv_heads * c.head_dim * c.num_layers;  // K and V, bf16
}

// Decode plan: `batch` sequences at position context-1, each with its own blocks.
BatchPlan decode_plan(int batch, int context, int block_size, int vocab) {
  BatchPlan plan;
  const int per_seq = (context + block_size - 1) / block_size;
  for (int s = 0; s < batch; ++s) {
    SequenceChunk c;
    c.tokens = {(s * 7919 + 13) % vocab};
    c.start_pos = context - 1;
    for (int b = 0; b < per_seq; ++b)
      c.block_table.push_back(s * per_seq + b);
    plan.seqs.push_back(std::move(c));
  }
  return plan;
}

// One eager step's device time by kernel (CUDA events between launches), averaged over
// `steps`; the events themselves add a little, so the sum exceeds the step's time.
nlohmann::json kernel_times(kernels::CudaBackend& b, const BatchPlan& plan, int batch, int steps) {
  b.set_graph_replay(false);
  b.reset_kernel_times();
  b.set_kernel_timing(true);
  for (int i = 0; i < steps; ++i) {
    Status s = b.forward_device(plan);
    if (s.ok()) s = b.collect_kernel_times();
    if (!s.ok()) fail(s.error());
  }
  b.set_kernel_timing(false);
  b.set_graph_replay(true);
  nlohmann::json j = {{"batch", batch}};
  double total = 0;
  std::printf("  %s %d, device time per step by kernel (eager, events between launches):\n",
              plan.seqs.size() == 1 && plan.seqs[0].tokens.size() > 1 ? "prefill" : "batch", batch);
  for (const auto& [name, t] : b.kernel_times()) {
    const double us = t.ms * 1e3 / steps;
    total += us;
    std::printf("    %-14s %9.1f us  %5lld launches  %7.2f us each\n", name.c_str(), us,
                static_cast<long long>(t.launches / steps), us / (t.launches / steps));
    j["kernels"][name] = {{"us_per_step", us}, {"launches_per_step", t.launches / steps}};
  }
  std::printf("    %-14s %9.1f us\n", "sum", total);
  j["sum_us"] = total;
  return j;
}

nlohmann::json bench_shape(const std::string& shape, const Args& a, double copy_gbps,
                           double gemm_tflops) {
  auto cfg = shape_config(shape);
  if (!cfg.ok()) fail(cfg.error());
  const int bs = 16, max_batch = *std::max_element(a.batches.begin(), a.batches.end());
  const int per_seq = (std::max(a.context, a.prefill) + bs - 1) / bs;
  kernels::CudaBackendOptions opt;
  opt.block_size = bs;
  opt.num_blocks = max_batch * ((a.context + bs - 1) / bs) + per_seq;
  opt.decode_graphs = a.graphs;
  auto backend = kernels::CudaBackend::create_random(*cfg, opt, 42);
  if (!backend.ok()) fail(backend.error());
  kernels::CudaBackend& b = **backend;
  Status st = b.randomize_kv(7);
  if (!st.ok()) fail(st.error());
  nlohmann::json out = {{"shape", shape}, {"weight_bytes", b.weight_bytes()}};
  std::printf("\n%s: %.2f GB of weights read per step (bf16)\n", shape.c_str(),
              b.weight_bytes() / 1e9);
  std::printf("%-6s %9s %12s %12s %9s %14s %16s\n", "batch", "step ms", "floor ms", "ratio",
              "tok/s", "+logits D2H ms", "+GPU sample ms");
  for (int batch : a.prefill_only ? std::vector<int>{} : a.batches) {
    const BatchPlan plan = decode_plan(batch, a.context, bs, cfg->vocab_size);
    const double ms = median_ms(b.stream(), 3, a.steps, [&] {
      Status s = b.forward_device(plan);
      if (!s.ok()) fail(s.error());
    });
    // Small batches: the same step with every GEMM on cuBLASLt instead of the skinny (one
    // row) or small-M (2-64 rows) kernels.
    double cublaslt_ms = 0;
    if (batch <= kernels::kSmallMMaxRows) {
      b.set_skinny_gemm(false);
      cublaslt_ms = median_ms(b.stream(), 3, a.steps, [&] {
        Status s = b.forward_device(plan);
        if (!s.ok()) fail(s.error());
      });
      b.set_skinny_gemm(true);
      std::printf("  batch %d: own GEMMs %.3f ms, cuBLASLt GEMMs %.3f ms (%.2fx)\n", batch, ms,
                  cublaslt_ms, cublaslt_ms / ms);
    }
    // With graphs: the same bucket layout launched eagerly, for the launch-overhead saving.
    double eager_ms = 0;
    if (a.graphs) {
      b.set_graph_replay(false);
      eager_ms = median_ms(b.stream(), 3, a.steps, [&] {
        Status s = b.forward_device(plan);
        if (!s.ok()) fail(s.error());
      });
      b.set_graph_replay(true);
      std::printf("  batch %d: graph replay %.3f ms, same layout eager %.3f ms (%.2fx)\n", batch,
                  ms, eager_ms, eager_ms / ms);
    }
    if (a.kernel_times) out["kernel_times"].push_back(kernel_times(b, plan, batch, a.steps));
    Logits logits;
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < a.steps; ++i) {
      Status s = b.forward(plan, logits);
      if (!s.ok()) fail(s.error());
    }
    const double host_ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count() /
        a.steps;
    // The same step with sampling on the GPU (top-p 0.9, T 0.8): only token ids come back.
    std::vector<kernels::SampleParams> sp(static_cast<std::size_t>(batch));
    for (int i = 0; i < batch; ++i)
      sp[static_cast<std::size_t>(i)] = {0.8f, 0, 0.9f, 0.0f, 1u + i, 0};
    std::vector<std::int32_t> sampled;
    const auto t1 = std::chrono::steady_clock::now();
    for (int i = 0; i < a.steps; ++i) {
      Status s = b.forward_device(plan);
      if (s.ok()) s = b.sample_device(sp, sampled);
      if (!s.ok()) fail(s.error());
    }
    const double gpu_sample_ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t1).count() /
        a.steps;
    const double bytes = b.weight_bytes() + kv_bytes_per_token(*cfg) * batch * a.context;
    const double floor_ms = bytes / (copy_gbps * 1e9) * 1e3;
    std::printf("%-6d %9.3f %12.3f %11.2fx %9.0f %14.3f %16.3f\n", batch, ms, floor_ms,
                ms / floor_ms, batch / (ms * 1e-3), host_ms, gpu_sample_ms);
    out["decode"].push_back({{"batch", batch},
                             {"context", a.context},
                             {"step_ms", ms},
                             {"floor_ms", floor_ms},
                             {"ratio_to_floor", ms / floor_ms},
                             {"bytes_read", bytes},
                             {"step_ms_with_logits_to_host", host_ms},
                             {"step_ms_with_gpu_sampling", gpu_sample_ms},
                             {"graphs", a.graphs},
                             {"step_ms_eager_same_layout", eager_ms},
                             {"step_ms_cublaslt_gemms", cublaslt_ms}});
  }
  // One prefill chunk of a.prefill tokens from position 0.
  BatchPlan pre;
  SequenceChunk c;
  for (int i = 0; i < a.prefill; ++i)
    c.tokens.push_back((i * 104729 + 7) % cfg->vocab_size);
  for (int blk = 0; blk < per_seq; ++blk)
    c.block_table.push_back(blk);
  pre.seqs.push_back(c);
  const double ms = median_ms(b.stream(), 2, 5, [&] {
    Status s = b.forward_device(pre);
    if (!s.ok()) fail(s.error());
  });
  if (a.kernel_times) out["prefill_kernel_times"] = kernel_times(b, pre, a.prefill, 3);
  const double n = a.prefill;
  const double attn_flops =
      4.0 * cfg->num_layers * cfg->num_heads * cfg->head_dim * (n * (n + 1) / 2);
  const double flops = gemm_flops_per_token(*cfg) * n + attn_flops +
                       2.0 * cfg->hidden_size * cfg->vocab_size;  // one logits row
  const double tflops = flops / (ms * 1e-3) / 1e12;
  std::printf("prefill %d tokens: %.2f ms, %.1f TFLOP/s = %.1f%% of the GEMM rate, %.0f tok/s\n",
              a.prefill, ms, tflops, 100 * tflops / gemm_tflops, n / (ms * 1e-3));
  out["prefill"] = {{"tokens", a.prefill},
                    {"ms", ms},
                    {"tflops", tflops},
                    {"ratio_to_gemm", tflops / gemm_tflops},
                    {"attention_flops", attn_flops},
                    {"total_flops", flops}};
  return out;
}

}  // namespace
}  // namespace agentrt::bench

int main(int argc, char** argv) {
  using namespace agentrt;
  bench::Args a;
  CLI::App app{"CUDA backend benchmark"};
  app.add_option("--json", a.json_path, "write every figure here");
  app.add_option("--shapes", a.shapes, "model shapes")->delimiter(',');
  app.add_option("--batch", a.batches, "decode batch sizes")->delimiter(',');
  app.add_option("--context", a.context, "decode context length");
  app.add_option("--prefill", a.prefill, "prefill chunk length");
  app.add_option("--steps", a.steps, "timed decode steps per batch size");
  app.add_flag("--graphs", a.graphs, "decode steps through CUDA graphs");
  app.add_flag("--kernel-times", a.kernel_times, "each decode step's device time by kernel");
  app.add_flag("--no-attention", a.skip_attention, "skip the decode-attention kernel table");
  app.add_flag("--prefill-only", a.prefill_only, "only the prefill chunk, no decode steps");
  app.add_flag("--attention-only", a.attention_only, "only the ceilings and the attention table");
  CLI11_PARSE(app, argc, argv);
  auto devices = kernels::list_devices();
  if (!devices.ok() || devices->empty()) {
    std::fprintf(stderr, "cuda_backend_bench: no CUDA device\n");
    return 1;
  }
  cudaStream_t stream;
  bench::cuda_check(cudaStreamCreate(&stream), "stream");
  const double copy = bench::measure_copy_gbps(std::size_t(4) << 30, stream);
  const double gemm = bench::measure_gemm_tflops(8192, stream);
  std::printf("device: %s, %d SMs\n", (*devices)[0].name.c_str(), (*devices)[0].multiprocessors);
  std::printf(
      "baselines (this run): device-to-device copy %.0f GB/s (read + write), cuBLASLt "
      "bf16 GEMM 8192^3 %.0f TFLOP/s\n",
      copy, gemm);
  nlohmann::json j = {
      {"device", (*devices)[0].name}, {"copy_gbps", copy}, {"gemm_bf16_tflops", gemm}};
  for (const auto& r : a.skip_attention ? std::vector<bench::AttentionRow>{}
                                        : bench::bench_decode_attention(copy, stream)) {
    j["decode_attention"].push_back({{"shape", r.shape},
                                     {"batch", r.batch},
                                     {"context", r.context},
                                     {"split_rule", r.wave_splits ? "waves" : "target"},
                                     {"ctas", r.ctas},
                                     {"ms", r.ms},
                                     {"gbps", r.gbps},
                                     {"ratio_to_copy", r.ratio}});
  }
  for (const auto& s : a.attention_only ? std::vector<std::string>{} : a.shapes)
    j["models"].push_back(bench::bench_shape(s, a, copy, gemm));
  if (!a.json_path.empty()) std::ofstream(a.json_path) << j.dump(2) << "\n";
  return 0;
}
