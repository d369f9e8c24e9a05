// KvReuse::blend on the CUDA backend in KVCOMM's shape (issue 21): per round, agent 0 reads a
// new shared context and computes it; then agents 1..N-1 read the same context after their
// own instructions (so at other offsets), all at once. Each prompt: a common system prompt,
// the agent's instruction, the shared context, the agent's query, `--prompt` tokens in all;
// `--output` tokens out (greedy, ignore_eos). Modes, measured in the same run on one backend
// shape (random weights, which cost what real ones do): full recompute (no prefix reuse),
// exact prefix reuse, and blend at each --fractions value. Reported per mode: the share of
// the timed agents' prompt tokens served from cache, their mean TTFT (from being queued to
// their first token), and the ratio to exact-prefix reuse.
//
//   cuda_blend_bench [--shape llama-3.1-8b] [--agents 5] [--rounds 10] [--prompt 1024]
//                    [--context 512] [--system 320] [--output 512] [--fractions 0.05,0.15]
//                    [--instruction-base 32] [--instruction-step 16]
//                    [--anchor-fractions 0] [--anchor-mib 4096] [--anchor-tokens 2048]
//                    [--anchor-novelty 0.1] [--kernel-times]
// --anchor-fractions adds blend modes with KVCOMM's anchors (a pool of --anchor-mib MiB and
// --anchor-tokens tokens, kept on the GPU; --host-anchors adds the same modes with the host
// pool). Random contexts are all novel at the default threshold: a large --anchor-novelty
// measures the prediction path (fidelity is measured on real models on the CPU).
// --kernel-times prints the device time by kernel of the blend modes' steps (one extra
// eager round, CUDA events between launches).
#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <map>
#include <random>

#include "bench/cuda_model_shapes.h"
#include "engine/engine.h"
#include "kernels/cuda_backend.h"
#include "kernels/device_info.h"

namespace agentrt::bench {
namespace {

using Clock = std::chrono::steady_clock;

struct Args {
  std::string shape = "llama-3.1-8b";
  int agents = 5;
  int rounds = 10;
  int prompt = 1024;
  int context = 512;
  int system = 320;
  int output = 512;
  int instruction_base = 32;  // agent i's instruction: base + step * i tokens
  int instruction_step = 16;
  std::vector<float> fractions{0.05f, 0.15f};
  std::vector<float> anchor_fractions;
  int anchor_mib = 4096;
  int anchor_tokens = 2048;
  float anchor_novelty = kv::AnchorOptions{}.novelty;
  bool kernel_times = false;
  bool host_anchors = false;
  int tokens_per_step = 8192;
};

[[noreturn]] void fail(const Error& e) {
  std::fprintf(stderr, "cuda_blend_bench: %s\n", e.to_string().c_str());
  std::exit(1);
}

std::vector<std::int32_t> random_tokens(std::mt19937_64& rng, int n, int vocab) {
  std::vector<std::int32_t> t(static_cast<std::size_t>(n));
  for (auto& x : t)
    x = static_cast<std::int32_t>(rng() % static_cast<std::uint64_t>(vocab));
  return t;
}

// One round's prompts (common system prompt, the agent's instruction, a new shared context,
// its query) and where the context starts in each.
std::pair<std::vector<std::vector<std::int32_t>>, std::vector<std::int32_t>> make_round(
    std::mt19937_64& rng, const std::vector<std::int32_t>& system, const Args& a, int vocab) {
  const auto shared = random_tokens(rng, a.context, vocab);
  std::vector<std::vector<std::int32_t>> prompts;
  std::vector<std::int32_t> at;
  for (int agent = 0; agent < a.agents; ++agent) {
    auto p = system;
    const auto instruction =
        random_tokens(rng, a.instruction_base + a.instruction_step * agent, vocab);
    p.insert(p.end(), instruction.begin(), instruction.end());
    at.push_back(static_cast<std::int32_t>(p.size()));
    p.insert(p.end(), shared.begin(), shared.end());
    const auto query =
        random_tokens(rng, std::max(1, a.prompt - static_cast<int>(p.size())), vocab);
    p.insert(p.end(), query.begin(), query.end());
    prompts.push_back(std::move(p));
  }
  return {std::move(prompts), std::move(at)};
}

// Forwards to the CUDA backend and adds up the host time of each call (every segment-KV
// call synchronizes, and so do forward() and forward_sample()).
class TimedBackend final : public Backend {
 public:
  explicit TimedBackend(kernels::CudaBackend& b) : b_(b) {}
  std::map<std::string, double> seconds;

  std::string name() const override { return b_.name(); }
  std::string kv_layout() const override { return b_.kv_layout(); }
  const KvGeometry& kv_geometry() const override { return b_.kv_geometry(); }
  // With kernel_times set, each step runs eager with CUDA events between launches.
  bool kernel_times = false;
  int timed_forwards = 0;
  Status forward(const BatchPlan& plan, Logits& out) override {
    return step("forward", [&] { return b_.forward(plan, out); });
  }
  bool samples_on_device() const override { return b_.samples_on_device(); }
  bool masks_on_device() const override { return b_.masks_on_device(); }
  Status forward_sample(const BatchPlan& plan, std::span<const DeviceSampling> params,
                        const DeviceTokenMasks& masks, bool want_logprobs,
                        std::vector<DeviceSample>& out) override {
    return step("forward_sample",
                [&] { return b_.forward_sample(plan, params, masks, want_logprobs, out); });
  }
  Status copy_blocks(std::span<const std::pair<std::int32_t, std::int32_t>> p) override {
    return b_.copy_blocks(p);
  }
  std::size_t block_bytes() const override { return b_.block_bytes(); }
  Status read_block(std::int32_t id, std::span<std::byte> out) override {
    return b_.read_block(id, out);
  }
  Status write_block(std::int32_t id, std::span<const std::byte> in) override {
    return b_.write_block(id, in);
  }
  std::size_t token_kv_bytes() const override { return b_.token_kv_bytes(); }
  Status read_token_kv(std::span<const std::int32_t> t, std::int32_t begin, std::int32_t count,
                       std::span<std::byte> out) override {
    return timed("read_token_kv", [&] { return b_.read_token_kv(t, begin, count, out); });
  }
  Status place_token_kv(std::span<const std::int32_t> t, std::int32_t begin,
                        std::span<const std::byte> in, std::int32_t source) override {
    return timed("place_token_kv", [&] { return b_.place_token_kv(t, begin, in, source); });
  }
  Status read_segment_kv(std::uint64_t id, std::span<const std::int32_t> t, std::int32_t begin,
                         std::int32_t count, std::span<std::byte> out) override {
    return timed("read_segment_kv", [&] { return b_.read_segment_kv(id, t, begin, count, out); });
  }
  Status place_segment_kv(std::uint64_t id, std::span<const std::int32_t> t, std::int32_t begin,
                          std::span<const std::byte> in, std::int32_t source) override {
    return timed("place_segment_kv", [&]() -> Status {
      AGENTRT_TRY(b_.place_segment_kv(id, t, begin, in, source));
      return b_.synchronize();
    });
  }
  // The device pool (timed, each call waited for), or none: the engine's HostAnchorPool.
  bool host_anchors = false;
  std::vector<double> predict_ms;  // host time of each device-pool predict(), in call order
  std::unique_ptr<AnchorPool> make_anchor_pool(int probe_layer,
                                               const kv::AnchorOptions& options) override {
    if (host_anchors) return nullptr;
    auto pool = b_.make_anchor_pool(probe_layer, options);
    if (!pool) return nullptr;
    return std::make_unique<TimedAnchorPool>(std::move(pool), *this);
  }
  Status forward_kv_probe(const BatchPlan& plan, int layer) override {
    return timed("forward_kv_probe", [&]() -> Status {
      AGENTRT_TRY(b_.forward_kv_probe(plan, layer));
      return b_.synchronize();
    });
  }
  Status token_kv_deviation(std::span<const std::int32_t> t, std::int32_t begin,
                            std::span<const std::byte> in, std::int32_t source, int layer,
                            std::span<float> out) override {
    return timed("token_kv_deviation",
                 [&] { return b_.token_kv_deviation(t, begin, in, source, layer, out); });
  }
  Status token_kv_offsets(std::span<const std::int32_t> t, std::int32_t begin,
                          std::span<const std::byte> in, std::int32_t source, int first_layer,
                          int last_layer, std::span<float> offsets,
                          std::span<float> unrotated) override {
    return timed("token_kv_offsets", [&] {
      return b_.token_kv_offsets(t, begin, in, source, first_layer, last_layer, offsets, unrotated);
    });
  }
  Status add_token_kv_offsets(std::span<const std::int32_t> t, std::int32_t begin, int first_layer,
                              int last_layer, std::span<const float> offsets) override {
    return timed("add_token_kv_offsets", [&] {
      return b_.add_token_kv_offsets(t, begin, first_layer, last_layer, offsets);
    });
  }

 private:
  class TimedAnchorPool final : public AnchorPool {
   public:
    TimedAnchorPool(std::unique_ptr<AnchorPool> pool, TimedBackend& b)
        : pool_(std::move(pool)), b_(b) {}
    Result<kv::AnchorPrediction> predict(const SegmentPlacement& p) override {
      Result<kv::AnchorPrediction> out = kv::AnchorPrediction::none;
      const auto t0 = Clock::now();
      const Status st = b_.timed("device anchors predict", [&]() -> Status {
        if (b_.kernel_times) b_.b_.set_kernel_timing(true);
        out = pool_->predict(p);
        Status done = out.ok() ? b_.b_.synchronize() : out.error();
        if (b_.kernel_times) {
          if (done.ok()) done = b_.b_.collect_kernel_times();
          b_.b_.set_kernel_timing(false);
        }
        return done;
      });
      b_.predict_ms.push_back(1e3 * std::chrono::duration<double>(Clock::now() - t0).count());
      if (!st.ok()) return st.error();
      return out;
    }
    Status record(const SegmentPlacement& p) override {
      return b_.timed("device anchors record", [&]() -> Status {
        AGENTRT_TRY(pool_->record(p));
        return b_.b_.synchronize();
      });
    }
    bool fits(std::size_t n) const override { return pool_->fits(n); }
    kv::AnchorStats stats() const override { return pool_->stats(); }

   private:
    std::unique_ptr<AnchorPool> pool_;
    TimedBackend& b_;
  };
  template <class F>
  Status step(const char* what, F&& f) {
    if (!kernel_times) return timed(what, f);
    b_.set_graph_replay(false);
    b_.set_kernel_timing(true);
    Status st = f();
    if (st.ok()) st = b_.collect_kernel_times();
    b_.set_kernel_timing(false);
    b_.set_graph_replay(true);
    ++timed_forwards;
    return st;
  }
  template <class F>
  Status timed(const char* what, F&& f) {
    const auto t0 = std::chrono::steady_clock::now();
    Status st = f();
    seconds[what] += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return st;
  }
  kernels::CudaBackend& b_;
};

struct Mode {
  std::string name;
  bool prefix_reuse;
  KvReuse reuse;
  float fraction;
  bool anchors = false;
  bool host_anchors = false;
};

struct ModeResult {
  double ttft_ms = 0;  // mean over the timed agents
  double reused = 0;   // share of their prompt tokens served from cache
  double seconds = 0;  // wall time of the mode's rounds
  std::int64_t prefilled = 0;
  double computed = 0;  // prompt tokens computed per timed agent (not served from cache)
  std::map<std::string, double> calls;  // backend host seconds by call, timed rounds only
  double engine_host_ms = 0;  // per round: Engine::step() time outside the backend's forward
  kv::AnchorStats anchors;
  std::vector<double> last_predicts_ms;  // the last timed round's predict() calls
};

// One request per agent of `prompts`, queued at once; steps until all finish. Returns each
// one's TTFT (seconds) and cached prompt tokens.
std::vector<std::pair<double, std::int64_t>> run_agents(
    Engine& engine, const std::vector<std::vector<std::int32_t>>& prompts,
    const std::vector<std::int32_t>& at, const Args& a, const Mode& m, int max_tokens) {
  std::map<RequestId, std::size_t> index;
  const auto t0 = Clock::now();
  for (std::size_t i = 0; i < prompts.size(); ++i) {
    EngineRequest r;
    r.prompt = prompts[i];
    r.params.temperature = 0.0f;
    r.params.max_tokens = max_tokens;
    r.params.ignore_eos = true;
    r.kv_reuse = m.reuse;
    if (m.reuse == KvReuse::blend) {
      r.segments = {{at[i], at[i] + a.context}};
      r.blend_recompute = m.fraction;
      r.blend_anchors = m.anchors;
    }
    auto id = engine.add_request(std::move(r));
    if (!id.ok()) fail(id.error());
    index[*id] = i;
  }
  std::vector<std::pair<double, std::int64_t>> out(prompts.size(), {-1.0, 0});
  while (engine.has_work()) {
    auto events = engine.step();
    if (!events.ok()) fail(events.error());
    const double now = std::chrono::duration<double>(Clock::now() - t0).count();
    for (const auto& ev : *events) {
      if (ev.kind == EventKind::error) fail(Error{ErrorCode::internal, ev.message});
      if (ev.kind != EventKind::token) continue;
      auto& o = out[index.at(ev.request)];
      if (o.first < 0) o = {now, ev.cached_tokens};
    }
  }
  return out;
}

ModeResult run_mode(const model::ModelConfig& cfg, const Args& a, const Mode& m) {
  kernels::CudaBackendOptions opt;
  opt.block_size = 16;
  opt.decode_graphs = true;
  const int per_seq = (a.prompt + a.output + 15) / 16 + 1;
  opt.num_blocks = per_seq * a.agents * 4 + 256;
  auto backend = kernels::CudaBackend::create_random(cfg, opt, 1);
  if (!backend.ok()) fail(backend.error());
  EngineOptions eo;
  eo.max_tokens_per_step = a.tokens_per_step;
  eo.max_running = 64;
  eo.prefix_reuse = m.prefix_reuse;
  eo.segment_cache_bytes = std::size_t{8} << 30;
  eo.anchors.capacity_bytes = static_cast<std::size_t>(a.anchor_mib) << 20;
  eo.anchors.max_tokens = static_cast<std::size_t>(a.anchor_tokens);
  eo.anchors.novelty = a.anchor_novelty;
  TimedBackend timed(**backend);
  timed.host_anchors = m.host_anchors;
  EngineDeps deps{&timed, &cfg, "random-" + a.shape, nullptr, nullptr};
  auto engine = Engine::create(deps, eo);
  if (!engine.ok()) fail(engine.error());
  std::mt19937_64 rng(7);
  const auto system = random_tokens(rng, a.system, cfg.vocab_size);
  ModeResult res;
  double ttft = 0, reused = 0, total = 0;
  const auto before = (*engine)->stats().prefilled_tokens;
  double host_before = 0;
  const auto t0 = Clock::now();
  // Negative rounds warm up (cuBLASLt plans and their timing, graphs, pinned buffers) and
  // are not counted: with anchors two, as the first only records (the pool starts empty)
  // and the second's predictions time their products' plans.
  const int warmup = m.anchors ? 2 : 1;
  for (int round = -warmup; round < a.rounds; ++round) {
    auto [prompts, at] = make_round(rng, system, a, cfg.vocab_size);
    // Agent 0 computes the context (a segment-cache miss under blend) and is not timed.
    run_agents(**engine, {prompts[0]}, {at[0]}, a, m, 1);
    prompts.erase(prompts.begin());
    at.erase(at.begin());
    const auto calls_before = timed.seconds;
    if (round == 0) {
      const auto st = (*engine)->stats();
      host_before = st.step_seconds - st.forward_seconds;
    }
    const auto out = run_agents(**engine, prompts, at, a, m, a.output);
    if (round < 0) continue;
    for (const auto& [k, v] : timed.seconds) {
      const auto it = calls_before.find(k);
      res.calls[k] += v - (it == calls_before.end() ? 0.0 : it->second);
    }
    for (std::size_t i = 0; i < out.size(); ++i) {
      ttft += out[i].first;
      reused += static_cast<double>(out[i].second);
      total += static_cast<double>(prompts[i].size());
    }
  }
  res.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  const double agents_timed = static_cast<double>(a.rounds) * (a.agents - 1);
  res.ttft_ms = 1e3 * ttft / agents_timed;
  res.reused = reused / total;
  res.computed = (total - reused) / agents_timed;
  res.prefilled = (*engine)->stats().prefilled_tokens - before;
  const auto st = (*engine)->stats();
  res.engine_host_ms = 1e3 * (st.step_seconds - st.forward_seconds - host_before) / a.rounds;
  res.anchors = (*engine)->anchor_stats();
  const std::size_t calls = timed.predict_ms.size(), last = std::min<std::size_t>(calls, 4);
  res.last_predicts_ms.assign(timed.predict_ms.end() - static_cast<std::ptrdiff_t>(last),
                              timed.predict_ms.end());
  if (a.kernel_times && m.reuse == KvReuse::blend) {
    // One more round, eager, timing each kernel of its blended steps (the first token's).
    (*backend)->reset_kernel_times();
    auto [prompts, at] = make_round(rng, system, a, cfg.vocab_size);
    run_agents(**engine, {prompts[0]}, {at[0]}, a, m, 1);
    prompts.erase(prompts.begin());
    at.erase(at.begin());
    timed.kernel_times = true;
    timed.timed_forwards = 0;
    run_agents(**engine, prompts, at, a, m, 1);
    timed.kernel_times = false;
    double sum = 0;
    std::fprintf(stderr,
                 "  %s, device time by kernel of the agents' prefill steps (%d forward "
                 "calls, eager, events between launches):\n",
                 m.name.c_str(), timed.timed_forwards);
    for (const auto& [name, t] : (*backend)->kernel_times()) {
      sum += t.ms;
      std::fprintf(stderr, "    %-16s %9.1f us %6lld launches\n", name.c_str(), 1e3 * t.ms,
                   static_cast<long long>(t.launches));
    }
    std::fprintf(stderr, "    %-16s %9.1f us\n", "sum", 1e3 * sum);
  }
  return res;
}

int run(const Args& a) {
  auto cfg = shape_config(a.shape);
  if (!cfg.ok()) fail(cfg.error());
  std::vector<Mode> modes{{"full recompute", false, KvReuse::exact, 0.0f},
                          {"exact prefix", true, KvReuse::exact, 0.0f}};
  for (float f : a.fractions) {
    char name[64];
    std::snprintf(name, sizeof name, "blend %.0f%%", 100.0 * f);
    modes.push_back({name, true, KvReuse::blend, f});
  }
  for (float f : a.anchor_fractions) {
    char name[64];
    std::snprintf(name, sizeof name, "blend %.0f%% + anchors", 100.0 * f);
    modes.push_back({name, true, KvReuse::blend, f, true});
    if (!a.host_anchors) continue;
    std::snprintf(name, sizeof name, "blend %.0f%% + host anchors", 100.0 * f);
    modes.push_back({name, true, KvReuse::blend, f, true, true});
  }
  auto devices = kernels::list_devices();
  const std::string device = devices.ok() && !devices->empty() ? (*devices)[0].name : "?";
  std::printf(
      "KVCOMM shape on %s, %s (random weights, bf16): %d agents, %d-token prompts (%d-token "
      "common system prompt, instructions of %d-%d tokens, a %d-token shared context, the rest "
      "a query), %d output tokens, %d rounds; agents 1-%d queued together after agent 0 "
      "computed the context\n",
      device.c_str(), a.shape.c_str(), a.agents, a.prompt, a.system, a.instruction_base,
      a.instruction_base + a.instruction_step * (a.agents - 1), a.context, a.output, a.rounds,
      a.agents - 1);
  std::printf(
      "| mode | prompt tokens reused | computed per agent | mean TTFT ms | vs exact prefix | "
      "bound vs exact | vs full recompute | tokens prefilled | wall s |\n| --- | ---: | ---: | "
      "---: | ---: | ---: | ---: | ---: | ---: |\n");
  // "bound vs exact": exact's computed prompt tokens over this mode's, the TTFT ratio if both
  // computed their tokens at the same rate with no other cost (prefill is compute-bound).
  double full = 0, exact = 0, exact_computed = 0;
  for (const Mode& m : modes) {
    const ModeResult r = run_mode(*cfg, a, m);
    if (m.name == "full recompute") full = r.ttft_ms;
    if (m.name == "exact prefix") {
      exact = r.ttft_ms;
      exact_computed = r.computed;
    }
    std::printf("| %s | %.1f%% | %.0f | %.2f | %.2fx | %.2fx | %.2fx | %lld | %.1f |\n",
                m.name.c_str(), 100.0 * r.reused, r.computed, r.ttft_ms,
                exact > 0 ? exact / r.ttft_ms : 0.0,
                exact_computed > 0 ? exact_computed / r.computed : 0.0, full / r.ttft_ms,
                static_cast<long long>(r.prefilled), r.seconds);
    std::string calls;
    for (const auto& [k, v] : r.calls)
      calls += " " + k + " " + std::to_string(1e3 * v / a.rounds).substr(0, 6) + " ms;";
    std::fprintf(stderr,
                 "  %s, backend host time per round (agents 1-%d):%s engine host time %.3f ms\n",
                 m.name.c_str(), a.agents - 1, calls.c_str(), r.engine_host_ms);
    if (m.anchors)
      std::fprintf(stderr,
                   "  %s: %lld anchors recorded (%lld held, %lld tokens), %lld placements "
                   "predicted (%lld tokens)\n",
                   m.name.c_str(), static_cast<long long>(r.anchors.recorded),
                   static_cast<long long>(r.anchors.anchors),
                   static_cast<long long>(r.anchors.tokens),
                   static_cast<long long>(r.anchors.predicted_segments),
                   static_cast<long long>(r.anchors.predicted_tokens));
    if (!r.last_predicts_ms.empty()) {
      std::string each;
      for (const double ms : r.last_predicts_ms)
        each += " " + std::to_string(ms).substr(0, 6);
      std::fprintf(stderr, "  %s: the last round's predict() calls, ms each:%s\n", m.name.c_str(),
                   each.c_str());
    }
    std::fflush(stdout);
  }
  return 0;
}

}  // namespace
}  // namespace agentrt::bench

int main(int argc, char** argv) {
  agentrt::bench::Args a;
  CLI::App app{"KvReuse::blend in KVCOMM's shape on the CUDA backend"};
  app.add_option("--shape", a.shape, "qwen2.5-0.5b or llama-3.1-8b");
  app.add_option("--agents", a.agents, "agents per round (agent 0 computes the context)")
      ->check(CLI::Range(2, 64));
  app.add_option("--rounds", a.rounds, "timed rounds")->check(CLI::Range(1, 1000));
  app.add_option("--prompt", a.prompt, "prompt tokens per agent")->check(CLI::Range(64, 32768));
  app.add_option("--context", a.context, "shared context tokens")->check(CLI::Range(16, 16384));
  app.add_option("--system", a.system, "common system prompt tokens")->check(CLI::Range(0, 16384));
  app.add_option("--output", a.output, "output tokens per agent")->check(CLI::Range(1, 8192));
  app.add_option("--instruction-base", a.instruction_base, "agent 0's instruction tokens")
      ->check(CLI::Range(1, 16384));
  app.add_option("--instruction-step", a.instruction_step, "instruction tokens added per agent")
      ->check(CLI::Range(0, 4096));
  app.add_option("--fractions", a.fractions, "blend recompute fractions")->delimiter(',');
  app.add_option("--anchor-fractions", a.anchor_fractions,
                 "blend recompute fractions to run with KVCOMM's anchors")
      ->delimiter(',');
  app.add_option("--anchor-mib", a.anchor_mib, "the anchor pool's capacity (MiB)")
      ->check(CLI::Range(1, 1 << 20));
  app.add_option("--anchor-tokens", a.anchor_tokens, "the anchor pool's token cap")
      ->check(CLI::Range(1, 1 << 20));
  app.add_option("--anchor-novelty", a.anchor_novelty,
                 "novelty above which a placement becomes an anchor");
  app.add_flag("--host-anchors", a.host_anchors,
               "also run each anchor mode with the host pool (offsets copied to the host)");
  app.add_flag("--kernel-times", a.kernel_times,
               "device time by kernel of the blend modes' prefill steps (one more round)");
  app.add_option("--tokens-per-step", a.tokens_per_step, "Engine max_tokens_per_step");
  CLI11_PARSE(app, argc, argv);
  return agentrt::bench::run(a);
}
