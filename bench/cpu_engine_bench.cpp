// CPU engine benchmark: prefill and decode throughput of the CPU backend, each next to a
// ceiling measured in the same run (OpenBLAS sgemm rate; memory read bandwidth), so the
// figures are ratios that survive a noisy machine. Prints a table and writes JSON.
//
//   cpu_engine_bench [--model DIR | --shape qwen2.5-0.5b] [--prompt 512] [--context 512]
//                    [--batch 1,8] [--steps 16] [--threads 0] [--json FILE]
#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>
#include <vector>

#include "bench/machine_baselines.h"
#include "bench/synthetic_model.h"
#include "engine/cpu/cpu_backend.h"
#include "engine/cpu/cpu_isa.h"
#include "engine/model/model.h"

namespace agentrt::bench {
namespace {

struct Args {
  std::string model_dir;
  std::string shape;
  int prompt = 512;
  int context = 512;
  std::vector<int> batches = {1, 8};
  int steps = 16;
  int threads = 0;
  std::string json_path;
};

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Multiply-adds per token in the weight GEMMs (attention scores excluded), and weight bytes
// the CPU backend reads per step (f32 here; run() replaces it with the bytes as held).
struct ModelCost {
  double flops_per_token = 0;
  double weight_bytes = 0;
  double kv_bytes_per_token = 0;
};

ModelCost cost_of(const model::ModelConfig& c) {
  const double h = c.hidden_size, q = c.num_heads * c.head_dim, kv = c.num_kv_heads * c.head_dim;
  const double per_layer = h * q * 2 + h * kv * 2 + 3 * h * c.intermediate_size;
  const double params = per_layer * c.num_layers + h * c.vocab_size;  // + lm_head
  return {2 * params, 4 * params, 4.0 * 2 * kv * c.num_layers};
}

std::vector<std::int32_t> tokens(int n, int vocab, int salt) {
  std::vector<std::int32_t> t(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i)
    t[static_cast<std::size_t>(i)] = (i * 7919 + salt * 104729) % vocab;
  return t;
}

std::vector<std::int32_t> blocks(int first, int tokens_needed, int block_size) {
  std::vector<std::int32_t> b;
  for (int i = 0; i * block_size < tokens_needed; ++i)
    b.push_back(first + i);
  return b;
}

int run(const Args& a) {
  std::string dir = a.model_dir;
  if (!a.shape.empty()) {
    dir = (std::filesystem::temp_directory_path() / ("agentrt-bench-" + a.shape)).string();
    if (auto st = write_synthetic_model(a.shape, dir); !st.ok()) {
      std::fprintf(stderr, "%s\n", st.error().to_string().c_str());
      return 1;
    }
  }
  auto model = model::Model::load(dir);
  if (!model.ok()) {
    std::fprintf(stderr, "%s\n", model.error().to_string().c_str());
    return 1;
  }
  const auto& cfg = (*model)->config();
  const int threads =
      a.threads > 0 ? a.threads : static_cast<int>(std::thread::hardware_concurrency());
  const int max_batch = *std::max_element(a.batches.begin(), a.batches.end());
  const int per_seq = (std::max(a.prompt, a.context + a.steps) + 15) / 16;
  cpu::CpuBackendOptions opts{per_seq * max_batch + 1, 16, threads};
  auto backend = cpu::CpuBackend::create(*model, opts);
  if (!backend.ok()) {
    std::fprintf(stderr, "%s\n", backend.error().to_string().c_str());
    return 1;
  }
  auto& be = **backend;
  ModelCost cost = cost_of(cfg);
  cost.weight_bytes = static_cast<double>(be.streamed_matrix_bytes());
  const double gemm_gflops = measure_sgemm_gflops(512, 2048, 2048, threads);
  const double read_gbps = measure_read_gbps(1024, threads);
  nlohmann::json out = {{"model", dir},
                        {"threads", threads},
                        {"cpu_isa", cpu::cpu_isa_name(cpu::cpu_isa())},
                        {"baseline_sgemm_gflops", gemm_gflops},
                        {"baseline_read_gbps", read_gbps}};

  // Prefill: one sequence of `prompt` tokens in one step (median of 3).
  Logits logits;
  std::vector<double> pt;
  for (int r = 0; r < 4; ++r) {
    BatchPlan plan;
    plan.seqs.push_back({tokens(a.prompt, cfg.vocab_size, r), 0, blocks(0, a.prompt, 16), false});
    auto t0 = std::chrono::steady_clock::now();
    if (!be.forward(plan, logits).ok()) return 1;
    if (r > 0) pt.push_back(seconds_since(t0));
  }
  std::sort(pt.begin(), pt.end());
  const double prefill_tps = a.prompt / pt[1];
  const double prefill_gflops = prefill_tps * cost.flops_per_token / 1e9;
  out["prefill"] = {{"tokens", a.prompt},
                    {"tokens_per_s", prefill_tps},
                    {"gflops", prefill_gflops},
                    {"fraction_of_sgemm", prefill_gflops / gemm_gflops}};
  std::printf("%-34s %10s %12s %14s\n", "case", "tok/s", "achieved", "vs ceiling");
  std::printf("%-34s %10.1f %9.1f GF/s %12.1f%% of sgemm %.1f GF/s\n",
              ("prefill " + std::to_string(a.prompt) + " tokens").c_str(), prefill_tps,
              prefill_gflops, 100 * prefill_gflops / gemm_gflops, gemm_gflops);

  // Decode: `batch` sequences with `context` cached tokens each, one token per step.
  for (int batch : a.batches) {
    // The machine is shared and noisy: measure the floor's bandwidth next to each case.
    const double case_gbps = measure_read_gbps(1024, threads);
    BatchPlan plan;
    for (int s = 0; s < batch; ++s) {
      plan.seqs.push_back({tokens(a.context, cfg.vocab_size, s), 0,
                           blocks(s * per_seq, a.context + a.steps, 16), false});
    }
    if (!be.forward(plan, logits).ok()) return 1;
    auto t0 = std::chrono::steady_clock::now();
    for (int step = 0; step < a.steps; ++step) {
      for (auto& seq : plan.seqs) {
        seq.start_pos = a.context + step;
        seq.tokens = {static_cast<std::int32_t>((step * 31) % cfg.vocab_size)};
      }
      if (!be.forward(plan, logits).ok()) return 1;
    }
    const double step_s = seconds_since(t0) / a.steps;
    const double bytes =
        cost.weight_bytes + batch * (a.context + a.steps / 2.0) * cost.kv_bytes_per_token;
    const double floor_s = bytes / (case_gbps * 1e9);
    out["decode"].push_back({{"batch", batch},
                             {"context", a.context},
                             {"step_ms", step_s * 1e3},
                             {"tokens_per_s", batch / step_s},
                             {"floor_ms", floor_s * 1e3},
                             {"read_gbps", case_gbps},
                             {"ratio_to_floor", step_s / floor_s}});
    std::printf(
        "%-34s %10.1f %9.2f ms/step %9.2fx floor %.2f ms (%.1f GB/s)\n",
        ("decode batch " + std::to_string(batch) + ", ctx " + std::to_string(a.context)).c_str(),
        batch / step_s, step_s * 1e3, step_s / floor_s, floor_s * 1e3, case_gbps);
  }
  std::printf("ceilings: sgemm %.1f GFLOP/s, memory read %.1f GB/s, %d threads, kernels %s\n",
              gemm_gflops, read_gbps, threads,
              std::string(cpu::cpu_isa_name(cpu::cpu_isa())).c_str());
  if (!a.json_path.empty()) std::ofstream(a.json_path) << out.dump(2) << "\n";
  return 0;
}

}  // namespace
}  // namespace agentrt::bench

int main(int argc, char** argv) {
  agentrt::bench::Args a;
  a.model_dir = std::string(AGENTRT_SOURCE_DIR) + "/tests/fixtures/models/llama-gqa";
  CLI::App app{"CPU engine benchmark"};
  app.add_option("--model", a.model_dir, "Model directory");
  app.add_option("--shape", a.shape, "Synthetic random-weight model shape (qwen2.5-0.5b)");
  app.add_option("--prompt", a.prompt, "Prefill tokens");
  app.add_option("--context", a.context, "Cached tokens per decoding sequence");
  app.add_option("--batch", a.batches, "Decode batch sizes")->delimiter(',');
  app.add_option("--steps", a.steps, "Decode steps timed");
  app.add_option("--threads", a.threads, "Threads (0 = all cores)");
  app.add_option("--json", a.json_path, "Write results as JSON here");
  CLI11_PARSE(app, argc, argv);
  return agentrt::bench::run(a);
}
