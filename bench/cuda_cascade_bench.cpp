// Shared-prefix (cascade) decode benchmark: `samples` sequences forked from one prompt of
// `prompt` tokens, each `generated` tokens past it, decode one step at a time. Three layouts
// of the same batch in the same run, with random weights in a published shape (bf16):
//   independent  every sequence has its own copy of the prompt's KV (no sharing at all);
//   forked       the block tables share the prompt's blocks, cascade off (each sequence
//                still reads them; the L2 cache may catch some of the repeats);
//   cascade      forked, the shared prefix read once per step (CudaBackend's cascade_decode).
// Each is timed from a CUDA graph and eagerly. Floors are the bytes each layout must read
// (weights, plus the KV it touches) over the device-to-device copy bandwidth measured here.
//
//   cuda_cascade_bench [--shapes qwen2.5-0.5b,llama-3.1-8b] [--samples 64] [--prompt 4096]
//                      [--generated 64] [--steps 10] [--json FILE]
//   cuda_cascade_bench --sweep [--shapes ...] [--json FILE]
// --sweep: one layer's attention alone (independent against cascade) over N in {8, 64, 256,
// 1024} samples and prompts of {1k, 4k, 16k, 32k} tokens; points whose independent KV would
// not fit in 96 GiB are skipped.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>

#include "bench/cuda_bench_util.h"
#include "bench/cuda_model_shapes.h"
#include "kernels/cuda_backend.h"
#include "kernels/device_info.h"

namespace agentrt::bench {
namespace {

struct Args {
  std::vector<std::string> shapes = {"qwen2.5-0.5b", "llama-3.1-8b"};
  int samples = 64;
  int prompt = 4096;
  int generated = 64;
  int steps = 10;
  std::string json_path;
  bool sweep = false;
};

constexpr int kBlock = 16;

[[noreturn]] void fail(const Error& e) {
  std::fprintf(stderr, "cuda_cascade_bench: %s\n", e.to_string().c_str());
  std::exit(1);
}

int blocks_for(int tokens) {
  return (tokens + kBlock - 1) / kBlock;
}

// The decode step of `samples` sequences at position prompt + generated - 1. Forked: blocks
// [0, prompt / kBlock) are the prompt's, shared; independent: each sequence's own.
BatchPlan decode_step(const Args& a, bool forked, int vocab) {
  const int ctx = a.prompt + a.generated, shared = forked ? a.prompt / kBlock : 0;
  const int own = blocks_for(ctx) - shared;
  BatchPlan plan;
  for (int s = 0; s < a.samples; ++s) {
    SequenceChunk c;
    c.tokens = {(s * 7919 + 13) % vocab};
    c.start_pos = ctx - 1;
    for (int b = 0; b < shared; ++b)
      c.block_table.push_back(b);
    for (int b = 0; b < own; ++b)
      c.block_table.push_back(shared + s * own + b);
    plan.seqs.push_back(std::move(c));
  }
  return plan;
}

double kv_bytes_per_token(const model::ModelConfig& c) {
  return 2.0 * 2 * c.num_kv_heads * c.head_dim * c.num_layers;  // K and V, bf16
}

nlohmann::json bench_shape(const std::string& shape, const Args& a, double copy_gbps) {
  auto cfg = shape_config(shape);
  if (!cfg.ok()) fail(cfg.error());
  kernels::CudaBackendOptions opt;
  opt.block_size = kBlock;
  opt.num_blocks = a.samples * blocks_for(a.prompt + a.generated);
  opt.decode_graphs = true;
  auto backend = kernels::CudaBackend::create_random(*cfg, opt, 42);
  if (!backend.ok()) fail(backend.error());
  kernels::CudaBackend& b = **backend;
  if (Status st = b.randomize_kv(7); !st.ok()) fail(st.error());
  const double w = static_cast<double>(b.weight_bytes()), kv = kv_bytes_per_token(*cfg);
  const double ctx = a.prompt + a.generated;
  const double independent_bytes = w + kv * a.samples * ctx;
  const double cascade_bytes = w + kv * (a.prompt + static_cast<double>(a.samples) * a.generated);
  std::printf("\n%s: %d samples over a %d-token prompt, %d generated; %.2f GB of weights\n",
              shape.c_str(), a.samples, a.prompt, a.generated, w / 1e9);
  std::printf("%-12s %10s %10s %10s %12s %12s %10s\n", "layout", "graph ms", "eager ms", "floor ms",
              "graph/floor", "tok/s", "vs indep");
  struct Layout {
    const char* name;
    bool forked, cascade;
    double bytes;
  };
  const Layout layouts[] = {{"independent", false, false, independent_bytes},
                            {"forked", true, false, independent_bytes},
                            {"cascade", true, true, cascade_bytes}};
  nlohmann::json out = {{"shape", shape},
                        {"samples", a.samples},
                        {"prompt", a.prompt},
                        {"generated", a.generated},
                        {"weight_bytes", w}};
  double independent_tps = 0;
  for (const Layout& l : layouts) {
    b.set_cascade_decode(l.cascade);
    const BatchPlan plan = decode_step(a, l.forked, cfg->vocab_size);
    const std::int64_t cascades = b.cascade_steps();
    auto step = [&] {
      if (Status s = b.forward_device(plan); !s.ok()) fail(s.error());
    };
    const double graph_ms = median_ms(b.stream(), 3, a.steps, step);
    b.set_graph_replay(false);
    const double eager_ms = median_ms(b.stream(), 2, a.steps, step);
    b.set_graph_replay(true);
    if (l.cascade != (b.cascade_steps() > cascades)) {
      fail(make_error(ErrorCode::internal, std::string(l.name) + ": cascade did not run as set"));
    }
    const double floor_ms = l.bytes / (copy_gbps * 1e9) * 1e3;
    const double tps = a.samples / (graph_ms * 1e-3);
    if (!l.forked) independent_tps = tps;
    std::printf("%-12s %10.3f %10.3f %10.3f %11.2fx %12.0f %9.2fx\n", l.name, graph_ms, eager_ms,
                floor_ms, graph_ms / floor_ms, tps, tps / independent_tps);
    out["layouts"].push_back({{"layout", l.name},
                              {"graph_ms", graph_ms},
                              {"eager_ms", eager_ms},
                              {"floor_ms", floor_ms},
                              {"bytes_read", l.bytes},
                              {"ratio_to_floor", graph_ms / floor_ms},
                              {"tokens_per_s", tps},
                              {"speedup_vs_independent", tps / independent_tps}});
  }
  // The attention of one layer alone, the same three layouts.
  const auto r =
      bench_cascade_attention(shape.c_str(), cfg->num_heads, cfg->num_kv_heads, cfg->head_dim,
                              a.samples, a.prompt, a.generated, b.stream());
  const double attn_floor_ms = kv * (a.prompt + static_cast<double>(a.samples) * a.generated) /
                               cfg->num_layers / (copy_gbps * 1e9) * 1e3;
  std::printf(
      "one layer's attention: independent %.4f ms, forked %.4f ms, cascade %.4f ms "
      "(%.2fx independent; floor %.4f ms)\n",
      r.independent_ms, r.forked_ms, r.cascade_ms, r.independent_ms / r.cascade_ms, attn_floor_ms);
  std::printf(
      "  cascade parts alone: prefix tiles %.4f ms (%d splits), own keys %.4f ms, merge "
      "%.4f ms; by prefix splits:",
      r.prefix_ms, r.prefix_splits, r.suffix_ms, r.merge_ms);
  nlohmann::json by_splits = nlohmann::json::array();
  for (const auto& [splits, ms] : r.by_splits) {
    std::printf(" %d: %.4f", splits, ms);
    by_splits.push_back({{"prefix_splits", splits}, {"ms", ms}});
  }
  std::printf("\n");
  out["attention_layer"] = {{"prefix_ms", r.prefix_ms},
                            {"suffix_ms", r.suffix_ms},
                            {"merge_ms", r.merge_ms},
                            {"prefix_splits", r.prefix_splits},
                            {"by_prefix_splits", by_splits},
                            {"independent_ms", r.independent_ms},
                            {"forked_ms", r.forked_ms},
                            {"cascade_ms", r.cascade_ms},
                            {"speedup_vs_independent", r.independent_ms / r.cascade_ms},
                            {"cascade_floor_ms", attn_floor_ms}};
  // The bound on the speedup at this shape: every step reads the weights either way.
  std::printf("floor ratio independent / cascade: %.2fx (the most a cascade can gain here)\n",
              independent_bytes / cascade_bytes);
  out["floor_speedup_bound"] = independent_bytes / cascade_bytes;
  return out;
}

// The kernel-level sweep (issue 17): independent against cascade attention, one layer.
nlohmann::json sweep_shape(const std::string& shape, const Args& a, cudaStream_t stream) {
  auto cfg = shape_config(shape);
  if (!cfg.ok()) fail(cfg.error());
  const int heads = cfg->num_heads, kv_heads = cfg->num_kv_heads, d = cfg->head_dim;
  std::printf("\n%s, one layer's decode attention, %d tokens generated per sample\n", shape.c_str(),
              a.generated);
  std::printf(
      "| samples | prompt | independent ms | cascade ms | cascade vs independent | prefix tiles "
      "ms | prefix TFLOP/s | independent GB/s |\n| ---: | ---: | ---: | ---: | ---: | ---: | "
      "---: | ---: |\n");
  nlohmann::json rows = nlohmann::json::array();
  for (int n : {8, 64, 256, 1024}) {
    for (int prompt : {1024, 4096, 16384, 32768}) {
      const double kv_bytes = static_cast<double>(n) * (prompt + a.generated) * kv_heads * d * 4;
      if (kv_bytes > 96.0 * (1u << 30)) {
        std::printf("| %d | %d | (skipped: %.0f GiB of KV) | | | | | |\n", n, prompt,
                    kv_bytes / (1u << 30));
        continue;
      }
      const auto r = bench_cascade_attention(shape.c_str(), heads, kv_heads, d, n, prompt,
                                             a.generated, stream);
      const double flop = 4.0 * n * heads * static_cast<double>(prompt) * d;
      const double tflops = flop / (r.prefix_ms * 1e-3) / 1e12;
      const double gbps = kv_bytes / (r.independent_ms * 1e-3) / 1e9;
      std::printf("| %d | %d | %.4f | %.4f | %.2fx | %.4f | %.0f | %.0f |\n", n, prompt,
                  r.independent_ms, r.cascade_ms, r.independent_ms / r.cascade_ms, r.prefix_ms,
                  tflops, gbps);
      std::fflush(stdout);
      rows.push_back({{"samples", n},
                      {"prompt", prompt},
                      {"independent_ms", r.independent_ms},
                      {"cascade_ms", r.cascade_ms},
                      {"prefix_ms", r.prefix_ms},
                      {"suffix_ms", r.suffix_ms},
                      {"merge_ms", r.merge_ms},
                      {"prefix_splits", r.prefix_splits},
                      {"prefix_tflops", tflops},
                      {"independent_gbps", gbps}});
    }
  }
  return {{"shape", shape}, {"sweep", rows}};
}

}  // namespace
}  // namespace agentrt::bench

int main(int argc, char** argv) {
  using namespace agentrt;
  bench::Args a;
  CLI::App app{"CUDA shared-prefix (cascade) decode benchmark"};
  app.add_option("--shapes", a.shapes, "model shapes")->delimiter(',');
  app.add_option("--samples", a.samples, "forked samples")->check(CLI::Range(1, 256));
  app.add_option("--prompt", a.prompt, "shared prompt tokens")->check(CLI::Range(16, 32768));
  app.add_option("--generated", a.generated, "tokens each sample has generated")
      ->check(CLI::Range(1, 4096));
  app.add_option("--steps", a.steps, "timed steps per layout")->check(CLI::Range(1, 1000));
  app.add_option("--json", a.json_path, "write every figure here");
  app.add_flag("--sweep", a.sweep, "one layer's attention over samples x prompt lengths");
  CLI11_PARSE(app, argc, argv);
  auto devices = kernels::list_devices();
  if (!devices.ok() || devices->empty()) {
    std::fprintf(stderr, "cuda_cascade_bench: no CUDA device\n");
    return 1;
  }
  cudaStream_t stream;
  bench::cuda_check(cudaStreamCreate(&stream), "stream");
  const double copy = bench::measure_copy_gbps(std::size_t(4) << 30, stream);
  std::printf("device: %s; device-to-device copy %.0f GB/s (this run)\n",
              (*devices)[0].name.c_str(), copy);
  nlohmann::json j = {{"device", (*devices)[0].name}, {"copy_gbps", copy}};
  for (const auto& s : a.shapes)
    j["shapes"].push_back(a.sweep ? bench::sweep_shape(s, a, stream)
                                  : bench::bench_shape(s, a, copy));
  if (!a.json_path.empty()) std::ofstream(a.json_path) << j.dump(2) << "\n";
  return 0;
}
