// Offline throughput through the Engine (scheduler + KV manager) on the CUDA backend: N
// requests of P random prompt tokens and exactly O output tokens each (greedy unless
// --temperature; ignore_eos),
// all queued at once, stepped until done. The checkpoint is a random-weight model in a
// published shape, written as a Hugging Face directory so that
// bench/hf_generate_baseline.py can load the same weights for the baseline in the same run.
//
//   cuda_engine_bench [--shape qwen2.5-0.5b] [--model-dir DIR] [--requests 1000]
//                     [--prompt 512] [--output 256] [--max-running 256]
//                     [--tokens-per-step 4096] [--num-blocks 0] [--temperature 0]
//                     [--top-p 1] [--host-sampling] [--json FILE]
//                     [--json-schema FILE --tokenizer DIR]
//
// With --json-schema, every request's output is constrained to JSON of that schema
// (engine/grammar, masks from DIR/tokenizer.json's vocabulary, sampled on the host) and
// ends at the tokenizer's EOS once the JSON is complete, so requests end early: compare
// steps/s and output tokens/s with the same run without the schema (--host-sampling).
#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "bench/offline_run.h"
#include "bench/synthetic_model.h"
#include "engine/engine.h"
#include "engine/grammar/json_schema_constraint.h"
#include "engine/model/model.h"
#include "engine/tokenizer/tokenizer.h"
#include "kernels/cuda_backend.h"
#include "kernels/device_info.h"

namespace agentrt::bench {
namespace {

struct Args {
  std::string shape = "qwen2.5-0.5b";
  std::string model_dir;
  int requests = 1000;
  int prompt = 512;
  int output = 256;
  int max_running = 256;
  int tokens_per_step = 4096;
  int num_blocks = 0;  // 0: enough for max_running sequences at full length, plus slack
  int warmup_requests = 16;
  bool graphs = false;
  float temperature = 0.0f;  // 0: greedy
  float top_p = 1.0f;
  bool host_sampling = false;  // EngineOptions::device_sampling off: logits to the host
  bool no_overlap = false;     // EngineOptions::overlap_steps off: each step waits for itself
  std::string json_path;
  std::string json_schema_path;  // constrain every output to JSON of this schema
  std::string tokenizer_dir;     // its vocabulary (tokenizer.json) for the masks
  std::shared_ptr<const sampling::Constraint> constraint;
};

[[noreturn]] void fail(const Error& e) {
  std::fprintf(stderr, "cuda_engine_bench: %s\n", e.to_string().c_str());
  std::exit(1);
}

OfflineResult run_requests(Engine& engine, const Args& a, int n, int vocab, std::uint32_t seed) {
  const OfflineWorkload w{a.prompt, a.output, a.temperature, a.top_p, a.constraint};
  auto r = run_offline(engine, w, n, vocab, seed);
  if (!r.ok()) fail(r.error());
  return *r;
}

// The constraint of --json-schema over --tokenizer's vocabulary.
std::shared_ptr<const sampling::Constraint> load_constraint(const Args& a) {
  std::ifstream in(a.json_schema_path);
  if (!in) fail(Error{ErrorCode::not_found, "cannot read " + a.json_schema_path});
  nlohmann::ordered_json schema;
  try {
    schema = nlohmann::ordered_json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    fail(Error{ErrorCode::parse, a.json_schema_path + ": " + e.what()});
  }
  auto tok = tokenizer::Tokenizer::load_dir(a.tokenizer_dir);
  if (!tok.ok()) fail(tok.error());
  auto vocab = grammar::TokenVocabulary::from_tokenizer(*tok);
  if (!vocab.ok()) fail(vocab.error());
  auto c = grammar::JsonSchemaConstraint::make(schema, *vocab);
  if (!c.ok()) fail(c.error());
  return *c;
}

int run(Args a) {
  if (!a.json_schema_path.empty()) a.constraint = load_constraint(a);
  const std::string dir =
      a.model_dir.empty()
          ? (std::filesystem::temp_directory_path() / ("agentrt-bench-" + a.shape)).string()
          : a.model_dir;
  if (auto st = write_synthetic_model(a.shape, dir); !st.ok()) fail(st.error());
  auto model = model::Model::load(dir);
  if (!model.ok()) fail(model.error());
  const auto& cfg = (*model)->config();
  kernels::CudaBackendOptions opt;
  opt.block_size = 16;
  opt.decode_graphs = a.graphs;
  const int per_seq = (a.prompt + a.output + 15) / 16 + 1;
  opt.num_blocks = a.num_blocks > 0 ? a.num_blocks : per_seq * a.max_running * 5 / 4 + 64;
  auto backend = kernels::CudaBackend::create(*model, opt);
  if (!backend.ok()) fail(backend.error());
  EngineOptions eo;
  eo.max_tokens_per_step = a.tokens_per_step;
  eo.max_running = a.max_running;
  eo.device_sampling = !a.host_sampling;
  eo.overlap_steps = !a.no_overlap;
  EngineDeps deps{backend->get(), &cfg, (*model)->fingerprint(), nullptr, nullptr};
  auto engine = Engine::create(deps, eo);
  if (!engine.ok()) fail(engine.error());
  // Warm-up: cuBLASLt plans for the common shapes, pinned buffers at their sizes.
  run_requests(**engine, a, a.warmup_requests, cfg.vocab_size, 1);
  const std::int64_t replays_before = (*backend)->graph_replays();
  const OfflineResult r = run_requests(**engine, a, a.requests, cfg.vocab_size, 2);
  const std::int64_t replays = (*backend)->graph_replays() - replays_before;
  const double out_tps = r.output_tokens / r.seconds;
  const double all_tps = (static_cast<double>(a.requests) * a.prompt + r.output_tokens) / r.seconds;
  auto devices = kernels::list_devices();
  const std::string device = devices.ok() && !devices->empty() ? (*devices)[0].name : "?";
  std::printf(
      "agentrt Engine on %s (%s, bf16): %d requests x %d in / %d out, max_running %d, "
      "%d tokens/step, temperature %.2f top_p %.2f, sampling on the %s%s, %s\n",
      device.c_str(), a.shape.c_str(), a.requests, a.prompt, a.output, a.max_running,
      a.tokens_per_step, a.temperature, a.top_p, a.host_sampling ? "host" : "device",
      a.constraint ? ", JSON-schema constrained" : "",
      a.no_overlap ? "steps one at a time" : "overlapped steps");
  std::printf(
      "  %.2f s, %lld steps (%lld from CUDA graphs, %lld queued behind the one before), %lld "
      "preemptions: %.0f output tok/s, %.0f total tok/s, %.3f ms/step\n",
      r.seconds, static_cast<long long>(r.steps), static_cast<long long>(replays),
      static_cast<long long>(r.overlapped_steps), static_cast<long long>(r.preemptions), out_tps,
      all_tps, r.steps > 0 ? r.seconds * 1e3 / static_cast<double>(r.steps) : 0.0);
  const double per_step = r.steps > 0 ? 1e3 / static_cast<double>(r.steps) : 0.0;
  std::printf(
      "  per step: %.3f ms in Engine::step, of which %.3f ms in the backend's forward "
      "(launches and the wait for the device) and %.3f ms the engine's own host time\n",
      r.step_seconds * per_step, r.forward_seconds * per_step,
      (r.step_seconds - r.forward_seconds) * per_step);
  const std::int64_t decode_steps = r.steps - r.mixed_steps;
  std::printf(
      "  %lld steps with prefill: %.3f s (%.3f ms each); %lld decode-only steps: %.3f s (%.3f "
      "ms each)\n",
      static_cast<long long>(r.mixed_steps), r.mixed_seconds,
      r.mixed_steps > 0 ? 1e3 * r.mixed_seconds / static_cast<double>(r.mixed_steps) : 0.0,
      static_cast<long long>(decode_steps), r.decode_seconds,
      decode_steps > 0 ? 1e3 * r.decode_seconds / static_cast<double>(decode_steps) : 0.0);
  if (a.constraint && r.steps > 0)
    std::printf("  masks: %.3f ms of host time per step; forward_sample with masks %.3f ms\n",
                r.mask_seconds * 1e3 / static_cast<double>(r.steps),
                r.masked_step_seconds * 1e3 / static_cast<double>(r.steps));
  if (!a.json_path.empty()) {
    nlohmann::json j = {{"device", device},
                        {"shape", a.shape},
                        {"model_dir", dir},
                        {"requests", a.requests},
                        {"prompt", a.prompt},
                        {"output", a.output},
                        {"max_running", a.max_running},
                        {"tokens_per_step", a.tokens_per_step},
                        {"seconds", r.seconds},
                        {"steps", r.steps},
                        {"preemptions", r.preemptions},
                        {"output_tokens_per_s", out_tps},
                        {"total_tokens_per_s", all_tps},
                        {"graphs", a.graphs},
                        {"temperature", a.temperature},
                        {"top_p", a.top_p},
                        {"sampling", a.host_sampling ? "host" : "device"},
                        {"json_schema", a.json_schema_path},
                        {"output_tokens", r.output_tokens},
                        {"graph_replays", replays},
                        {"overlap_steps", !a.no_overlap},
                        {"overlapped_steps", r.overlapped_steps},
                        {"engine_step_ms", r.step_seconds * per_step},
                        {"backend_forward_ms", r.forward_seconds * per_step},
                        {"engine_host_ms", (r.step_seconds - r.forward_seconds) * per_step},
                        {"mixed_steps", r.mixed_steps},
                        {"mixed_seconds", r.mixed_seconds},
                        {"decode_seconds", r.decode_seconds}};
    std::ofstream(a.json_path) << j.dump(2) << "\n";
  }
  return 0;
}

}  // namespace
}  // namespace agentrt::bench

int main(int argc, char** argv) {
  agentrt::bench::Args a;
  CLI::App app{"Offline throughput of the Engine on the CUDA backend"};
  app.add_option("--shape", a.shape, "model shape (qwen2.5-0.5b)");
  app.add_option("--model-dir", a.model_dir, "checkpoint directory (written if missing)");
  app.add_option("--requests", a.requests, "timed requests");
  app.add_option("--prompt", a.prompt, "prompt tokens per request");
  app.add_option("--output", a.output, "output tokens per request (EOS ignored)");
  app.add_option("--max-running", a.max_running, "Engine max_running");
  app.add_option("--tokens-per-step", a.tokens_per_step, "Engine max_tokens_per_step");
  app.add_option("--num-blocks", a.num_blocks, "KV blocks (0: sized from max_running)");
  app.add_option("--warmup-requests", a.warmup_requests, "untimed requests run first");
  app.add_option("--json", a.json_path, "write the figures here");
  app.add_flag("--graphs", a.graphs, "decode steps through CUDA graphs");
  app.add_option("--temperature", a.temperature, "sampling temperature (0: greedy)")
      ->check(CLI::Range(0.0f, 100.0f));
  app.add_option("--top-p", a.top_p, "nucleus sampling mass")->check(CLI::Range(0.01f, 1.0f));
  app.add_flag("--no-overlap", a.no_overlap,
               "run each step to its end before the next (EngineOptions::overlap_steps off)");
  app.add_flag("--host-sampling", a.host_sampling,
               "sample on the host (logits copied back each step) instead of the device");
  app.add_option("--json-schema", a.json_schema_path,
                 "constrain every output to JSON of this schema (needs --tokenizer)");
  app.add_option("--tokenizer", a.tokenizer_dir, "directory of the tokenizer.json for the masks");
  CLI11_PARSE(app, argc, argv);
  if (!a.json_schema_path.empty() && a.tokenizer_dir.empty()) {
    std::fprintf(stderr, "cuda_engine_bench: --json-schema needs --tokenizer\n");
    return 2;
  }
  return agentrt::bench::run(a);
}
