// Multi-turn agent programs under KV pressure (issue 16, workload A: the Continuum setting),
// driven through the runtime's engine actor (EngineLoop + engine_actor: pause at a turn's
// end, pin, re-pin per tool call, resume with the tool's result) with the runtime's TtlPolicy,
// never a bare Engine loop. One actor per program plays its script (bench/agentic_workload.h);
// programs arrive as a Poisson process at a share of the capacity the baseline sustains.
// Setups, each over the same programs, in one process:
//   no_reuse          no prefix reuse, no pins: every turn recomputes its context
//   vllm_like         prefix caching, nothing pinned at turn end, FCFS turns (the baseline)
//   pin_job           pinned until the program ends, FCFS
//   ttl               pinned with the TtlPolicy's TTL, re-pinned per tool call, FCFS
//   ttl_program       + program-aware order (Order::attained)
//   ttl_program_host  + a host tier (evicted and expired blocks offloaded to RAM)
//   ttl_program_host_prefetch  + re-pin shortly before the tool's predicted end (prefetch)
// Capacity: the baseline's throughput at saturation. A calibration burst of
// --calibration-programs (every one at once, so the batch stays full) runs for
// --calibration-s; its decoded tokens over the window, divided by the mean output tokens of
// a program, give programs per second. Load L runs at rate L times that.
//
// On the H200 (8B shape, random weights, bf16):
//   agentic_gpu_bench --backend cuda --shape llama-3.1-8b --workload swe --kv-gib 24
//     --loads 0.5,0.95 --json $OUT/agentic_gpu_swe.json
// On the CPU (tiny-calc, a smoke run): see the ctest `agentic_gpu_bench_smoke`.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "actors/engine_actor.h"
#include "actors/engine_loop.h"
#include "actors/ttl_policy.h"
#include "bench/agentic_workload.h"
#include "engine/cpu/cpu_backend.h"
#include "engine/model/model.h"
#ifdef AGENTRT_HAVE_CUDA
#include "bench/cuda_model_shapes.h"
#include "kernels/cuda_backend.h"
#include "kernels/device_info.h"
#endif

namespace agentrt::bench {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;
using tool_done_atom = caf::atom_constant<caf::atom("tooldone")>;
using prefetch_atom = caf::atom_constant<caf::atom("prefetch")>;

enum class PinMode { none, job, ttl };

struct Setup {
  std::string name;
  bool reuse = true;
  PinMode pin = PinMode::none;
  bool program_order = false;
  bool host_tier = false;
  bool prefetch = false;
};

const std::vector<Setup>& all_setups() {
  static const std::vector<Setup> s = {
      {"no_reuse", false, PinMode::none, false, false, false},
      {"vllm_like", true, PinMode::none, false, false, false},
      {"pin_job", true, PinMode::job, false, false, false},
      {"ttl", true, PinMode::ttl, false, false, false},
      {"ttl_program", true, PinMode::ttl, true, false, false},
      {"ttl_program_host", true, PinMode::ttl, true, true, false},
      {"ttl_program_host_prefetch", true, PinMode::ttl, true, true, true},
  };
  return s;
}

struct Args {
  std::string backend = "cpu";
  std::string shape = "llama-3.1-8b";
  std::string model_dir;
  std::string workload = "swe";
  WorkloadOptions w;
  std::vector<double> loads = {0.5, 0.7, 0.85, 0.95};
  std::vector<std::string> setups;  // empty: all
  double capacity = 0;              // programs/s the baseline sustains; 0: calibrate
  double kv_gib = 24;               // the KV pool (capped run)
  int kv_blocks = 0;                // overrides kv_gib when > 0
  double host_gib = 48;             // the host tier of the *_host setups
  int max_running = 128;
  int tokens_per_step = 2048;
  int threads = 0;  // CPU backend
  double point_timeout_s = 600;
  int calibration_programs = 48;
  double calibration_s = 60;
  std::string json_path;
};

[[noreturn]] void fail(const std::string& what) {
  std::fprintf(stderr, "agentic_gpu_bench: %s\n", what.c_str());
  std::exit(1);
}

// The backend and what the engines built on it need.
struct Device {
  std::unique_ptr<Backend> backend;
  std::shared_ptr<const model::Model> model;  // CPU: the loaded checkpoint
  model::ModelConfig config;
  std::string fingerprint;
  std::string name;
};

Device make_device(const Args& a) {
  Device d;
  if (a.backend == "cpu") {
    auto m = model::Model::load(
        a.model_dir.empty() ? std::string(AGENTRT_SOURCE_DIR) + "/models/tiny-calc" : a.model_dir);
    if (!m.ok()) fail(m.error().to_string());
    d.model = *m;
    d.config = d.model->config();
    d.fingerprint = d.model->fingerprint();
    cpu::CpuBackendOptions probe{1, 16, a.threads};
    auto one = cpu::CpuBackend::create(d.model, probe);
    if (!one.ok()) fail(one.error().to_string());
    const int blocks = a.kv_blocks > 0
                           ? a.kv_blocks
                           : static_cast<int>(a.kv_gib * (1ull << 30) /
                                              static_cast<double>((*one)->block_bytes()));
    auto b = cpu::CpuBackend::create(d.model, {blocks, 16, a.threads});
    if (!b.ok()) fail(b.error().to_string());
    d.backend = std::move(*b);
    d.name = "cpu";
    return d;
  }
#ifdef AGENTRT_HAVE_CUDA
  auto cfg = shape_config(a.shape);
  if (!cfg.ok()) fail(cfg.error().to_string());
  d.config = *cfg;
  d.fingerprint = "random-" + a.shape + "-42";
  const std::int64_t block_bytes =
      2LL * d.config.num_layers * d.config.num_kv_heads * d.config.head_dim * 16 * 2;
  kernels::CudaBackendOptions opt;
  opt.block_size = 16;
  opt.num_blocks =
      a.kv_blocks > 0 ? a.kv_blocks : static_cast<int>(a.kv_gib * (1ull << 30) / block_bytes);
  auto b = kernels::CudaBackend::create_random(d.config, opt, 42);
  if (!b.ok()) fail(b.error().to_string());
  d.backend = std::move(*b);
  auto devices = kernels::list_devices();
  d.name = devices.ok() && !devices->empty() ? (*devices)[0].name : "cuda";
  return d;
#else
  fail("this build has no CUDA backend");
#endif
}

// What one run (a setup at a rate) shares with its program actors.
struct Run {
  const Setup* setup = nullptr;
  caf::actor engine;
  actors::EngineLoop* loop = nullptr;
  actors::TtlPolicy* ttl = nullptr;
  int block_size = 16;
  int total_blocks = 1;
  std::size_t block_bytes = 0;
  Clock::time_point t0;
  std::atomic<int> runnable{0};  // programs with a turn in the engine (not in a tool)
  // Tokens submitted that no reuse could avoid: prompts and appended results so far.
  std::atomic<std::int64_t> fresh{0};
  std::atomic<int> started{0};
  std::mutex mu;
  std::condition_variable cv;
  int ended = 0;
  std::vector<double> jct;  // finished programs
  std::vector<std::string> errors;
  Clock::time_point last_end;

  void end(double jct_s, std::optional<std::string> error) {
    std::lock_guard lock(mu);
    ++ended;
    last_end = Clock::now();
    if (error)
      errors.push_back(*error);
    else
      jct.push_back(jct_s);
    cv.notify_all();
  }
};

struct ProgramState {
  const ScriptedProgram* p = nullptr;
  std::int64_t program = 0;
  std::size_t turn = 0;
  RequestId req = 0;
  std::int64_t context = 0;
  Clock::time_point arrival, tool_start;
  bool in_tool = false;
  bool done = false;
};

kv::Duration ttl_for(Run& run, const ProgramState& st, std::vector<std::string> tools) {
  if (run.setup->pin == PinMode::job) return std::chrono::hours(24);
  if (run.setup->pin == PinMode::none) return kv::Duration{0};
  actors::TtlInputs in;
  in.tools = std::move(tools);
  in.context_tokens = st.context;
  in.seq_blocks = static_cast<int>((st.context + run.block_size - 1) / run.block_size);
  in.total_blocks = run.total_blocks;
  in.available_blocks = run.loop->metrics().kv_available_blocks;
  return run.ttl->decide(in).ttl;
}

// A re-pin; its refusal (the request was resumed meanwhile) needs no action.
void repin(caf::event_based_actor* self, Run& run, RequestId req, kv::Duration ttl) {
  self->request(run.engine, caf::infinite, actors::repin_atom::value, req,
                static_cast<std::int64_t>(ttl.count()))
      .then([](const actors::GenerateReply&) {}, [](const caf::error&) {});
}

// Plays one program: generate, then per turn end a tool pause (re-pinned for the call
// made), an optional prefetch, and a resume with the tool's result.
caf::behavior program_actor(caf::event_based_actor* self, Run* run, ProgramState init) {
  auto st = std::make_shared<ProgramState>(std::move(init));
  auto finish = [self, run, st](std::optional<std::string> error) {
    if (st->done) return;
    st->done = true;
    if (st->req != 0) self->send(run->engine, actors::cancel_atom::value, st->req);
    const double jct = std::chrono::duration<double>(Clock::now() - st->arrival).count();
    run->end(jct, std::move(error));
    self->quit();
  };
  auto end_turn = [self, run, st, finish] {
    const ScriptedTurn& t = st->p->turns[st->turn];
    st->context += t.output_tokens;
    if (t.tool.empty()) return finish(std::nullopt);
    if (run->setup->pin == PinMode::ttl) {  // the TTL of the call actually made
      const auto ttl = ttl_for(*run, *st, {t.tool});
      repin(self, *run, st->req, ttl);
    }
    st->in_tool = true;
    st->tool_start = Clock::now();
    const auto took =
        std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(t.tool_seconds));
    self->delayed_send(self, took, tool_done_atom::value, static_cast<std::int64_t>(st->turn));
    if (run->setup->prefetch) {
      const kv::Duration predicted = run->ttl->predict(t.tool);
      const auto blocks = (st->context + run->block_size - 1) / run->block_size;
      const kv::Duration lead = run->ttl->prefetch_lead(blocks, run->block_bytes);
      const kv::Duration at = std::max(kv::Duration{0}, predicted - lead);
      self->delayed_send(self, std::chrono::duration_cast<Clock::duration>(at),
                         prefetch_atom::value, static_cast<std::int64_t>(st->turn));
    }
  };
  // The first turn: its TTL is provisional (any tool may be called) until the turn ends.
  actors::GenerateMsg msg;
  msg.request.prompt = st->p->prompt;
  msg.request.params.temperature = 0.0f;
  msg.request.params.ignore_eos = true;
  msg.request.params.max_tokens = st->p->turns[0].output_tokens;
  msg.request.pause_on_finish = ttl_for(*run, *st, {"fast", "medium", "slow"});
  msg.request.program = st->program;
  msg.subscribers.push_back(caf::actor_cast<caf::actor>(self));
  st->context = std::ssize(st->p->prompt);
  run->fresh += st->context;
  ++run->started;
  ++run->runnable;
  self->request(run->engine, caf::infinite, actors::generate_atom::value, std::move(msg))
      .then(
          [st, finish](const actors::GenerateReply& r) {
            if (r.error) return finish(r.error->to_string());
            if (st->req == 0 && r.id != 0) st->req = r.id;
          },
          [finish](const caf::error& e) { finish("engine actor: " + caf::to_string(e)); });
  return {
      [st, run, finish, end_turn](const actors::TokenBatch& b) {
        if (st->done) return;
        if (b.id != 0) st->req = b.id;
        if (b.error) {
          --run->runnable;
          return finish(b.error->to_string());
        }
        if (b.paused_at_eos) {
          --run->runnable;
          return end_turn();
        }
        if (b.finish || b.cancelled) {
          --run->runnable;
          finish("turn ended without a pause");
        }
      },
      [self, st, run, finish](tool_done_atom, std::int64_t turn) {
        if (st->done || static_cast<std::size_t>(turn) != st->turn) return;
        const ScriptedTurn& t = st->p->turns[st->turn];
        if (run->ttl) run->ttl->record(t.tool, Clock::now() - st->tool_start);
        st->in_tool = false;
        ++st->turn;
        actors::ResumeMsg resume;
        resume.id = st->req;
        resume.appended = t.result;
        resume.max_tokens = st->p->turns[st->turn].output_tokens;
        st->context += std::ssize(t.result) + 1;
        run->fresh += std::ssize(t.result) + 1;
        ++run->runnable;
        self->request(run->engine, caf::infinite, actors::resume_atom::value, std::move(resume))
            .then([finish](const actors::GenerateReply& r) {
              if (r.error) finish("resume: " + r.error->to_string());
            });
      },
      [self, st, run](prefetch_atom, std::int64_t turn) {
        if (st->done || !st->in_tool || static_cast<std::size_t>(turn) != st->turn) return;
        const ScriptedTurn& t = st->p->turns[st->turn];
        const auto blocks = (st->context + run->block_size - 1) / run->block_size;
        const kv::Duration lead = run->ttl->prefetch_lead(blocks, run->block_bytes);
        // Held until a while past the predicted end; a late tool lets it lapse again.
        const kv::Duration ttl = 2 * lead + run->ttl->predict(t.tool) / 4;
        repin(self, *run, st->req, ttl);
      },
  };
}

struct PointResult {
  nlohmann::json j;
  double mean_jct = 0;
};

double quantile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const auto i = static_cast<std::size_t>(std::ceil(q * static_cast<double>(v.size()))) - 1;
  return v[std::min(i, v.size() - 1)];
}

// Runs `programs` arriving at `rate` until all end or `timeout_s` passes.
PointResult run_point(Device& dev, const Args& a, const Setup& setup,
                      const std::vector<ScriptedProgram>& programs, double rate, double timeout_s) {
  EngineOptions eo;
  eo.max_running = a.max_running;
  eo.max_tokens_per_step = a.tokens_per_step;
  eo.prefix_reuse = setup.reuse;
  eo.pin_on_pause = setup.pin != PinMode::none;
  eo.host_tier_bytes = setup.host_tier ? static_cast<std::size_t>(a.host_gib * (1ull << 30)) : 0;
  eo.order = setup.program_order ? scheduler::Order::attained : scheduler::Order::fcfs;
  auto engine =
      Engine::create({dev.backend.get(), &dev.config, dev.fingerprint, nullptr, nullptr}, eo);
  if (!engine.ok()) fail(engine.error().to_string());
  actors::TtlPolicy ttl;
  const auto geo = dev.backend->kv_geometry();
  auto loop = std::make_shared<actors::EngineLoop>(
      std::move(*engine), a.max_running * 2, geo,
      [&ttl](std::int64_t tokens, double s) { ttl.record_prefill(tokens, s); });
  caf::actor_system_config cfg;
  auto sys = std::make_unique<caf::actor_system>(cfg);
  Run run;
  run.setup = &setup;
  run.engine = sys->spawn(actors::engine_actor, loop);
  run.loop = loop.get();
  run.ttl = &ttl;
  run.block_size = geo.block_size;
  run.total_blocks = geo.num_blocks;
  run.block_bytes = dev.backend->block_bytes();
  const actors::RuntimeMetrics before = loop->metrics();
  // Poll the engine: pinned bytes over time, and time with a turn in the engine.
  std::atomic<bool> polling{true};
  double pinned_byte_s = 0, work_s = 0;
  std::thread poller([&] {
    auto last = Clock::now();
    while (polling) {
      std::this_thread::sleep_for(2ms);
      const auto now = Clock::now();
      const double dt = std::chrono::duration<double>(now - last).count();
      last = now;
      pinned_byte_s += static_cast<double>(loop->metrics().kv.pinned_bytes) * dt;
      if (run.runnable > 0) work_s += dt;
    }
  });
  run.t0 = Clock::now();
  std::vector<caf::actor> actors_started;
  for (std::size_t i = 0; i < programs.size(); ++i) {
    const auto at = run.t0 + std::chrono::duration_cast<Clock::duration>(
                                 std::chrono::duration<double>(programs[i].arrival / rate));
    std::this_thread::sleep_until(at);
    ProgramState ps;
    ps.p = &programs[i];
    ps.program = static_cast<std::int64_t>(i) + 1;
    ps.arrival = Clock::now();
    actors_started.push_back(sys->spawn(program_actor, &run, ps));
  }
  bool timed_out = false;
  {
    std::unique_lock lock(run.mu);
    const auto deadline = run.t0 + std::chrono::duration_cast<Clock::duration>(
                                       std::chrono::duration<double>(timeout_s));
    timed_out = !run.cv.wait_until(lock, deadline,
                                   [&] { return run.ended == static_cast<int>(programs.size()); });
  }
  polling = false;
  poller.join();
  const actors::RuntimeMetrics after = loop->metrics();
  for (auto& act : actors_started)
    caf::anon_send_exit(act, caf::exit_reason::kill);
  caf::anon_send_exit(run.engine, caf::exit_reason::kill);
  sys.reset();
  loop.reset();

  const double makespan =
      std::chrono::duration<double>((timed_out ? Clock::now() : run.last_end) - run.t0).count();
  const double step_s = after.step_seconds - before.step_seconds;
  // The shared system prompt needs computing once.
  const std::int64_t fresh =
      run.fresh - static_cast<std::int64_t>(std::max(0, run.started - 1)) * a.w.system_tokens;
  const std::int64_t prefilled = after.engine.prefilled_tokens - before.engine.prefilled_tokens;
  PointResult out;
  out.mean_jct = 0;
  for (double x : run.jct)
    out.mean_jct += x / static_cast<double>(std::max<std::size_t>(1, run.jct.size()));
  const auto& kv = after.kv;
  out.j = {{"setup", setup.name},
           {"rate_programs_per_s", rate},
           {"programs", programs.size()},
           {"finished", run.jct.size()},
           {"errors", run.errors.size()},
           {"first_error", run.errors.empty() ? "" : run.errors.front()},
           {"timed_out", timed_out},
           {"mean_jct_s", out.mean_jct},
           {"p90_jct_s", quantile(run.jct, 0.9)},
           {"makespan_s", makespan},
           {"throughput_programs_per_s", static_cast<double>(run.jct.size()) / makespan},
           {"tokens_prefilled", prefilled},
           {"tokens_reprefilled", std::max<std::int64_t>(0, prefilled - fresh)},
           {"tokens_decoded", after.engine.decoded_tokens - before.engine.decoded_tokens},
           {"engine_step_s", step_s},
           {"gpu_idle_share", std::max(0.0, 1.0 - step_s / makespan)},
           {"bubble_share", work_s > 0 ? std::max(0.0, 1.0 - step_s / work_s) : 0.0},
           {"pinned_gb_s", pinned_byte_s / 1e9},
           {"pin_revocations", kv.pins_revoked - before.kv.pins_revoked},
           {"pins_expired", kv.pins_expired - before.kv.pins_expired},
           {"prefetched_blocks", kv.prefetched_blocks - before.kv.prefetched_blocks},
           {"offloaded_blocks", kv.offloaded_blocks - before.kv.offloaded_blocks},
           {"evictions", kv.evictions - before.kv.evictions},
           {"preemptions", after.engine.preemptions - before.engine.preemptions},
           {"hit_tokens_device", kv.hit_tokens[0] - before.kv.hit_tokens[0]},
           {"hit_tokens_host", kv.hit_tokens[1] - before.kv.hit_tokens[1]}};
  return out;
}

int run_bench(Args& a) {
  if (!apply_workload_preset(a.workload, a.w)) fail("unknown --workload " + a.workload);
  Device dev = make_device(a);
  a.w.vocab = dev.config.vocab_size;
  const auto programs = make_programs(a.w);
  std::vector<const Setup*> setups;
  for (const auto& s : all_setups())
    if (a.setups.empty() || std::find(a.setups.begin(), a.setups.end(), s.name) != a.setups.end())
      setups.push_back(&s);
  if (setups.empty()) fail("no known setup in --setups");
  const Setup& baseline = all_setups()[1];
  const auto geo = dev.backend->kv_geometry();
  std::printf(
      "agentic_gpu_bench on %s (%s): %s workload, %zu programs, KV pool %d blocks "
      "(%.1f GiB), host tier %.0f GiB\n",
      dev.name.c_str(), a.backend == "cpu" ? "tiny-calc" : a.shape.c_str(), a.workload.c_str(),
      programs.size(), geo.num_blocks,
      static_cast<double>(geo.num_blocks) * static_cast<double>(dev.backend->block_bytes()) /
          (1ull << 30),
      a.host_gib);
  // Warm-up (cuBLASLt plans, pinned buffers), then calibration: the baseline's engine
  // seconds per program with every program arriving at once.
  {
    std::vector<ScriptedProgram> warm(programs.begin(), programs.begin() + 1);
    warm[0].turns.resize(1);
    (void)run_point(dev, a, baseline, warm, 1e9, a.point_timeout_s);
  }
  double capacity = a.capacity;
  nlohmann::json calibration = nullptr;
  if (capacity <= 0) {
    WorkloadOptions cw = a.w;
    cw.programs = a.calibration_programs;
    cw.seed = a.w.seed + 1;
    const auto burst = make_programs(cw);
    double output = 0;
    for (const auto& p : burst)
      output += static_cast<double>(p.output_tokens()) / static_cast<double>(burst.size());
    auto c = run_point(dev, a, baseline, burst, 1e9, a.calibration_s);
    const double decoded = c.j["tokens_decoded"].get<double>();
    capacity = decoded / output / c.j["makespan_s"].get<double>();
    calibration = c.j;
    std::printf(
        "calibration (baseline, %d programs at once for %.0f s): %.0f tokens decoded, "
        "%.0f per program -> capacity %.3f programs/s\n",
        a.calibration_programs, c.j["makespan_s"].get<double>(), decoded, output, capacity);
  }
  nlohmann::json points = nlohmann::json::array();
  std::printf("%-27s %5s %9s %9s %9s %7s %10s %10s %6s %6s %9s %5s\n", "setup", "load", "mean JCT",
              "p90 JCT", "vs base", "prog/s", "prefilled", "reprefill", "idle", "bubble",
              "pin GB*s", "revok");
  for (double load : a.loads) {
    const double rate = load * capacity;
    double base_jct = 0;
    for (const Setup* s : setups) {
      auto r = run_point(dev, a, *s, programs, rate, a.point_timeout_s);
      if (s == &baseline) base_jct = r.mean_jct;
      r.j["load"] = load;
      const auto& j = r.j;
      std::printf(
          "%-27s %5.2f %9.2f %9.2f %9s %7.3f %10lld %10lld %6.2f %6.2f %9.1f %5lld%s\n",
          s->name.c_str(), load, r.mean_jct, j["p90_jct_s"].get<double>(),
          base_jct > 0
              ? (std::to_string(base_jct / std::max(1e-9, r.mean_jct)).substr(0, 5) + "x").c_str()
              : "-",
          j["throughput_programs_per_s"].get<double>(),
          static_cast<long long>(j["tokens_prefilled"].get<std::int64_t>()),
          static_cast<long long>(j["tokens_reprefilled"].get<std::int64_t>()),
          j["gpu_idle_share"].get<double>(), j["bubble_share"].get<double>(),
          j["pinned_gb_s"].get<double>(),
          static_cast<long long>(j["pin_revocations"].get<std::int64_t>()),
          j["timed_out"].get<bool>() || j["errors"].get<std::size_t>() > 0
              ? ("  (" + std::to_string(j["finished"].get<std::size_t>()) + " finished; " +
                 j["first_error"].get<std::string>() + ")")
                    .c_str()
              : "");
      std::fflush(stdout);
      points.push_back(r.j);
    }
  }
  if (!a.json_path.empty()) {
    nlohmann::json out = {
        {"device", dev.name},
        {"backend", a.backend},
        {"shape", a.backend == "cpu" ? "tiny-calc" : a.shape},
        {"workload", a.workload},
        {"programs", programs.size()},
        {"mean_turns", a.w.mean_turns},
        {"tool_scale", a.w.tool_scale},
        {"mispredict_share", a.w.mispredict_share},
        {"kv_blocks", geo.num_blocks},
        {"kv_gib", static_cast<double>(geo.num_blocks) *
                       static_cast<double>(dev.backend->block_bytes()) / (1ull << 30)},
        {"host_gib", a.host_gib},
        {"capacity_programs_per_s", capacity},
        {"calibration", calibration},
        {"points", points}};
    std::ofstream(a.json_path) << out.dump(2) << "\n";
  }
  return 0;
}

}  // namespace
}  // namespace agentrt::bench

int main(int argc, char** argv) {
  agentrt::bench::Args a;
  auto& w = a.w;
  CLI::App app{"Multi-turn agent programs under KV pressure, through the engine actor"};
  app.add_option("--backend", a.backend, "cpu or cuda")->check(CLI::IsMember({"cpu", "cuda"}));
  app.add_option("--shape", a.shape, "CUDA: model shape (random weights)");
  app.add_option("--model", a.model_dir, "CPU: model directory (default: tiny-calc)");
  app.add_option("--workload", a.workload, "swe (10.9 turns) or bfcl (6.3 turns)");
  app.add_option("--programs", w.programs, "programs per run")->check(CLI::Range(1, 100000));
  app.add_option("--loads", a.loads, "shares of the baseline's capacity")->delimiter(',');
  app.add_option("--setups", a.setups, "setups to run (default: all)")->delimiter(',');
  app.add_option("--capacity", a.capacity, "programs/s the baseline sustains (0: calibrate)");
  app.add_option("--kv-gib", a.kv_gib, "KV pool size");
  app.add_option("--kv-blocks", a.kv_blocks, "KV pool in blocks (overrides --kv-gib)");
  app.add_option("--host-gib", a.host_gib, "host tier of the *_host setups");
  app.add_option("--max-running", a.max_running, "Engine max_running");
  app.add_option("--tokens-per-step", a.tokens_per_step, "Engine max_tokens_per_step");
  app.add_option("--threads", a.threads, "CPU backend threads (0: all)");
  app.add_option("--point-timeout-s", a.point_timeout_s, "per setup and load");
  app.add_option("--calibration-programs", a.calibration_programs, "the calibration burst")
      ->check(CLI::Range(1, 100000));
  app.add_option("--calibration-s", a.calibration_s, "the calibration window");
  app.add_option("--system-tokens", w.system_tokens, "shared system prompt");
  app.add_option("--prompt-min", w.prompt_min);
  app.add_option("--prompt-max", w.prompt_max);
  app.add_option("--output-min", w.output_min);
  app.add_option("--output-max", w.output_max);
  app.add_option("--result-min", w.result_min);
  app.add_option("--result-max", w.result_max);
  app.add_option("--tool-scale", w.tool_scale, "multiplies every tool duration");
  app.add_option("--mispredict", w.mispredict_share, "share of calls 10x their tool's history");
  app.add_option("--seed", w.seed);
  app.add_option("--json", a.json_path, "write the results here");
  CLI11_PARSE(app, argc, argv);
  return agentrt::bench::run_bench(a);
}
