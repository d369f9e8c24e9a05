// The Engine's own host time per step, without a GPU: the offline workload of
// cuda_engine_bench (N requests x P in / O out, max_running sequences, a token budget per
// step, greedy sampled "on the device") over a backend that does no compute and returns a
// token per sequence at once. Every millisecond it reports is host work that a GPU step
// would have to hide or wait for: commands, the scheduler, the KV manager, the plan.
//
//   engine_host_bench [--shape qwen2.5-0.5b] [--requests 1000] [--prompt 512] [--output 256]
//                     [--max-running 256] [--tokens-per-step 4096]
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "bench/cuda_model_shapes.h"
#include "bench/offline_run.h"
#include "engine/backend.h"
#include "engine/engine.h"

namespace agentrt::bench {
namespace {

// No compute: each sequence's next token is a function of its position.
class NullBackend final : public Backend {
 public:
  NullBackend(const model::ModelConfig& c, int num_blocks, int block_size) : vocab_(c.vocab_size) {
    geo_.num_blocks = num_blocks;
    geo_.block_size = block_size;
    geo_.num_layers = c.num_layers;
    geo_.num_kv_heads = c.num_kv_heads;
    geo_.head_dim = c.head_dim;
  }
  std::string name() const override { return "null"; }
  const KvGeometry& kv_geometry() const override { return geo_; }
  Status forward(const BatchPlan&, Logits&) override {
    return make_error(ErrorCode::unsupported, "null backend: logits are never produced");
  }
  bool samples_on_device() const override { return true; }
  Status forward_sample(const BatchPlan& plan, std::span<const DeviceSampling>,
                        const DeviceTokenMasks&, bool, std::vector<DeviceSample>& out) override {
    out.resize(plan.seqs.size());
    for (std::size_t i = 0; i < plan.seqs.size(); ++i) {
      const auto& s = plan.seqs[i];
      const int pos = s.start_pos + static_cast<int>(s.tokens.size());
      out[i] = {static_cast<std::int32_t>((pos * 7919 + 17) % vocab_), 0.0f};
    }
    return ok_status();
  }
  Status copy_blocks(std::span<const std::pair<std::int32_t, std::int32_t>>) override {
    return ok_status();
  }
  // Blocks can be swapped (as on the GPU, so the engine runs with its default options); they
  // hold nothing.
  std::size_t block_bytes() const override { return geo_.block_bytes(2); }
  Status read_block(std::int32_t, std::span<std::byte> out) override {
    std::fill(out.begin(), out.end(), std::byte{0});
    return ok_status();
  }
  Status write_block(std::int32_t, std::span<const std::byte>) override { return ok_status(); }

 private:
  KvGeometry geo_;
  int vocab_;
};

struct Args {
  std::string shape = "qwen2.5-0.5b";
  int requests = 1000;
  int prompt = 512;
  int output = 256;
  int max_running = 256;
  int tokens_per_step = 4096;
};

int run(const Args& a) {
  auto cfg = shape_config(a.shape);
  if (!cfg.ok()) {
    std::fprintf(stderr, "engine_host_bench: %s\n", cfg.error().to_string().c_str());
    return 1;
  }
  const int per_seq = (a.prompt + a.output + 15) / 16 + 1;
  NullBackend backend(*cfg, per_seq * a.max_running * 5 / 4 + 64, 16);
  EngineOptions eo;
  eo.max_tokens_per_step = a.tokens_per_step;
  eo.max_running = a.max_running;
  eo.device_sampling = true;
  auto engine = Engine::create({&backend, &*cfg, "null-" + a.shape, nullptr, nullptr}, eo);
  if (!engine.ok()) {
    std::fprintf(stderr, "engine_host_bench: %s\n", engine.error().to_string().c_str());
    return 1;
  }
  const OfflineWorkload w{a.prompt, a.output, 0.0f, 1.0f, nullptr};
  auto r = run_offline(**engine, w, a.requests, cfg->vocab_size, 2);
  if (!r.ok()) {
    std::fprintf(stderr, "engine_host_bench: %s\n", r.error().to_string().c_str());
    return 1;
  }
  const std::int64_t decode_steps = r->steps - r->mixed_steps;
  std::printf(
      "Engine over a null backend (%s shape): %d requests x %d in / %d out, max_running %d, "
      "%d tokens/step\n  %lld steps in %.3f s: %.3f ms of host time a step; %lld steps with "
      "prefill at %.3f ms, %lld decode-only steps at %.3f ms\n",
      a.shape.c_str(), a.requests, a.prompt, a.output, a.max_running, a.tokens_per_step,
      static_cast<long long>(r->steps), r->seconds,
      1e3 * r->seconds / static_cast<double>(r->steps), static_cast<long long>(r->mixed_steps),
      r->mixed_steps ? 1e3 * r->mixed_seconds / static_cast<double>(r->mixed_steps) : 0.0,
      static_cast<long long>(decode_steps),
      decode_steps ? 1e3 * r->decode_seconds / static_cast<double>(decode_steps) : 0.0);
  return 0;
}

}  // namespace
}  // namespace agentrt::bench

int main(int argc, char** argv) {
  agentrt::bench::Args a;
  CLI::App app{"Engine host time per step over a backend that does no compute"};
  app.add_option("--shape", a.shape, "qwen2.5-0.5b or llama-3.1-8b");
  app.add_option("--requests", a.requests)->check(CLI::Range(1, 1000000));
  app.add_option("--prompt", a.prompt)->check(CLI::Range(1, 1 << 20));
  app.add_option("--output", a.output)->check(CLI::Range(1, 1 << 20));
  app.add_option("--max-running", a.max_running)->check(CLI::Range(1, 1 << 16));
  app.add_option("--tokens-per-step", a.tokens_per_step)->check(CLI::Range(1, 1 << 20));
  CLI11_PARSE(app, argc, argv);
  return agentrt::bench::run(a);
}
