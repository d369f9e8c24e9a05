// Workflow KV benchmark (issue 16, B: the KVFlow / KVCOMM setting). Workflow jobs shaped
// like workflows/examples/team_review.yaml: reviewers fan out, then a checker reads their
// outputs. Every agent of a workflow template has a fixed prompt (2-8k tokens) that all jobs
// of that template share, followed by the job's input. The device KV pool holds half of the
// distinct prompt tokens; a host tier sits behind it. Setups, in one process run:
//   recompute          no prefix reuse, no host tier (the full-recompute baseline);
//   lru                prefix reuse + host tier, eviction by LRU (no workflow knowledge);
//   workflow           + eviction by steps to next use (KVFlow), told by the planner below;
//   workflow_prefetch  + the fixed prompt of a step is copied back from the host tier when
//                      its dependencies are about to finish (the first reviewer is done).
// Jobs take templates round by round (a shuffle of all per round): with jobs >= 2 x
// templates a template's prompts come back after the others', past what the device holds.
// Then the 5-agent shape: 1k input (a 512-token prefix shared by every agent, a role prompt
// of --five-role tokens, 256 by default, and the rest the agent's own input for the job;
// --five-role 0 is the literal split, 512 shared and 512 the agent's), 512 output, the
// five in parallel, as many jobs in flight as max_running runs at once (TTFT is then
// prefill, not a wait for a running slot). The workflow setups know which agents share a
// prefix: an agent whose prefix another is computing waits for that one's first token
// instead of computing it too (its TTFT still counts from when it was ready to go).
// Reports TTFT per step, the exact reuse rate (prefill tokens whose KV came from a cache,
// per the engine's first-token events, over those plus the tokens computed by prefill,
// re-prefills after preemption included), its ceiling (prompt tokens an unbounded cache
// would serve, in submission order) and host-to-device bytes and GB/s. Prefetch copies run
// on the engine thread between steps: none overlaps compute (overlap_share is reported as
// 0, measured by construction, not estimated). "started" / "waiting": agents past / before
// their first token, averaged over engine steps.
// The Engine is driven directly on one thread (closed loop: `concurrency` jobs in flight,
// the next admitted when one ends), in wall-clock time.
//
// GPU run (CUDA build dir build-cuda; about 6 minutes on an H200, estimated):
//   build-cuda/bench/workflow_kv_bench --backend cuda --shape llama-3.1-8b --jobs 48
//       --five-jobs 12 --json bench/results/workflow_kv_gpu.json
// CPU smoke (tiny-calc, small prompts): workflow_kv_bench --smoke
#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <unordered_set>

#include "bench/workflow_kv_report.h"
#include "bench/workflow_kv_workload.h"
#include "engine/cpu/cpu_backend.h"
#include "engine/engine.h"
#include "engine/model/model.h"
#ifdef AGENTRT_HAVE_CUDA
#include "bench/cuda_model_shapes.h"
#include "kernels/cuda_backend.h"
#include "kernels/device_info.h"
#endif

namespace agentrt::bench {
namespace {

using Clock = std::chrono::steady_clock;

struct Args {
  std::string backend = "cpu";
  std::string shape = "llama-3.1-8b";  // cuda: the random-weight shape
  std::string model_dir = std::string(AGENTRT_SOURCE_DIR) + "/models/tiny-calc";
  Shape workflow{"workflow"};
  // 5 agents, no checker; 512 shared + 256 role + 256 of the agent's own input, 512 output.
  Shape five{"five_agent", 1, 5, false, 512, 256, 256, 256, 512, 0, 16, 16, true};
  double device_fraction = 0.5;  // of the distinct prompt tokens
  int max_running = 16, tokens_per_step = 4096;
  int lookahead = 0;  // pending jobs the planner hints about; 0: concurrency
  std::string setups = "recompute,lru,workflow,workflow_prefetch";
  std::uint64_t seed = 16;
  bool smoke = false;
  std::string json_path;
};

[[noreturn]] void fail(const std::string& what) {
  std::fprintf(stderr, "workflow_kv_bench: %s\n", what.c_str());
  std::exit(1);
}

Result<model::ModelConfig> config_of_shape([[maybe_unused]] const std::string& shape) {
#ifdef AGENTRT_HAVE_CUDA
  return shape_config(shape);
#else
  return make_error(ErrorCode::unsupported, "built without CUDA: --backend cpu only");
#endif
}

// The backend, its model config and the fingerprint blocks are keyed with.
struct Device {
  std::shared_ptr<const model::Model> model;  // cpu
  model::ModelConfig config;
  std::unique_ptr<Backend> backend;
  std::string fingerprint, name = "cpu";
};

Device make_device(const Args& a, int num_blocks) {
  Device d;
  if (a.backend == "cpu") {
    auto m = model::Model::load(a.model_dir);
    if (!m.ok()) fail(m.error().to_string());
    d.model = *m;
    d.config = d.model->config();
    d.fingerprint = d.model->fingerprint();
    auto b = cpu::CpuBackend::create(d.model, {num_blocks, 16, 0, 0});
    if (!b.ok()) fail(b.error().to_string());
    d.backend = std::move(*b);
    return d;
  }
#ifdef AGENTRT_HAVE_CUDA
  if (a.backend == "cuda") {
    auto cfg = shape_config(a.shape);
    if (!cfg.ok()) fail(cfg.error().to_string());
    d.config = *cfg;
    d.fingerprint = "random-" + a.shape;
    kernels::CudaBackendOptions opt;
    opt.num_blocks = num_blocks;
    opt.block_size = 16;
    auto b = kernels::CudaBackend::create_random(d.config, opt, 42);
    if (!b.ok()) fail(b.error().to_string());
    d.backend = std::move(*b);
    auto devices = kernels::list_devices();
    d.name = devices.ok() && !devices->empty() ? (*devices)[0].name : "cuda";
    return d;
  }
#endif
  fail("unknown or unbuilt backend '" + a.backend + "'");
}

struct Agent {
  int job = 0, role = 0;
  double submit_ms = 0, first_ms = -1;
  std::int64_t prompt = 0, cached = 0;
  Tokens out;
};

struct Job {
  int stage = -1;  // -1 pending, 0 reviewers, 1 checker, 2 done
  int reviewers_done = 0;
  std::vector<std::size_t> agents;
  double start_ms = 0, end_ms = 0;
};

// One setup's run of a workload: the planner admits jobs, submits steps as their
// dependencies finish, and (workflow setups) tells the KV manager which fixed prompts run
// how many steps from now.
class Runner {
 public:
  Runner(const Workload& w, Engine& e, const Args& a, bool hints, bool prefetch)
      : w_(w),
        e_(e),
        a_(a),
        hints_(hints),
        prefetch_(prefetch),
        part_state_(static_cast<std::size_t>(1 + w.shape.templates * w.roles()), 0),
        jobs_(w.shape.jobs) {}

  SetupResult run(const std::string& setup) {
    t0_ = Clock::now();
    while (admitted_ < std::ssize(jobs_) && admitted_ < w_.shape.concurrency)
      admit();
    while (done_ < std::ssize(jobs_)) {
      if (hints_) send_hints();
      auto events = e_.step();
      if (!events.ok()) fail(events.error().to_string());
      for (const auto& ev : *events)
        on_event(ev);
      started_sum_ += static_cast<double>(started_);
      waiting_sum_ += static_cast<double>(waiting_) + static_cast<double>(deferred_.size());
      ++samples_;
    }
    return summarize(setup);
  }

 private:
  double now_ms() const {
    return std::chrono::duration<double, std::milli>(Clock::now() - t0_).count();
  }
  int max_tokens(int role) const {
    return role < w_.shape.reviewers ? w_.shape.review_output : w_.shape.check_output;
  }

  // `since_ms`: when the agent could have been submitted (its TTFT counts from there).
  void submit(int job, int role, Tokens prompt, double since_ms = -1) {
    EngineRequest r;
    r.prompt = std::move(prompt);
    r.params.temperature = 0;
    r.params.ignore_eos = true;
    r.params.max_tokens = max_tokens(role);
    r.program = job;
    Agent ag{job, role, since_ms >= 0 ? since_ms : now_ms(), -1, std::ssize(r.prompt), 0, {}};
    note_ceiling(r.prompt);
    auto id = e_.add_request(std::move(r));
    if (!id.ok()) fail(id.error().to_string());
    ++waiting_;
    by_id_[*id] = agents_.size();
    jobs_[static_cast<std::size_t>(job)].agents.push_back(agents_.size());
    agents_.push_back(std::move(ag));
  }

  void admit() {
    const int j = static_cast<int>(admitted_++);
    Job& job = jobs_[static_cast<std::size_t>(j)];
    job.stage = 0;
    job.start_ms = now_ms();
    for (int r = 0; r < w_.shape.reviewers; ++r)
      request(j, r, reviewer_prompt(j, r));
  }

  // Shared prefixes of an agent's prompt: 0 the system prompt, 1 + t * roles + role its
  // role's fixed prompt (each when not empty).
  std::vector<std::size_t> parts(int job, int role) const {
    std::vector<std::size_t> out;
    if (!w_.system.empty()) out.push_back(0);
    const int t = w_.job_template[static_cast<std::size_t>(job)];
    if (!w_.fixed[static_cast<std::size_t>(t)][static_cast<std::size_t>(role)].empty())
      out.push_back(static_cast<std::size_t>(1 + t * w_.roles() + role));
    return out;
  }

  // LRU submits every agent at once. The workflow setups know which agents share which
  // prefix: an agent whose prefix another agent is computing waits for that agent's first
  // token (the prefix is then cached) instead of computing it too; its TTFT counts from now.
  void request(int job, int role, Tokens prompt) {
    if (!hints_) return submit(job, role, std::move(prompt));
    deferred_.push_back({job, role, std::move(prompt), now_ms()});
    drain();
  }

  void drain() {
    for (std::size_t i = 0; i < deferred_.size();) {
      const auto need = parts(deferred_[i].job, deferred_[i].role);
      if (std::any_of(need.begin(), need.end(),
                      [&](std::size_t p) { return part_state_[p] == 1; })) {
        ++i;
        continue;
      }
      for (std::size_t p : need)
        part_state_[p] = std::max(part_state_[p], 1);  // computed by this agent
      Deferred d = std::move(deferred_[i]);
      deferred_.erase(deferred_.begin() + static_cast<std::ptrdiff_t>(i));
      submit(d.job, d.role, std::move(d.prompt), d.since_ms);
    }
  }

  Tokens reviewer_prompt(int j, int r) const {
    Tokens p = w_.prefix(w_.job_template[static_cast<std::size_t>(j)], r);
    const Tokens& in = w_.input(j, r);
    p.insert(p.end(), in.begin(), in.end());
    return p;
  }

  void start_checker(int j) {
    Job& job = jobs_[static_cast<std::size_t>(j)];
    job.stage = 1;
    Tokens p = w_.prefix(w_.job_template[static_cast<std::size_t>(j)], w_.shape.reviewers);
    const Tokens& in = w_.input(j, w_.shape.reviewers);
    p.insert(p.end(), in.begin(), in.end());
    for (std::size_t i : job.agents)
      p.insert(p.end(), agents_[i].out.begin(), agents_[i].out.end());
    request(j, w_.shape.reviewers, std::move(p));
    // Its slot frees when the checker ends: the next pending job's reviewers come next.
    if (prefetch_ && admitted_ < std::ssize(jobs_)) {
      const int t = w_.job_template[static_cast<std::size_t>(admitted_)];
      for (int r = 0; r < w_.shape.reviewers; ++r)
        prefetch(t, r);
    }
  }

  void finish_job(int j) {
    Job& job = jobs_[static_cast<std::size_t>(j)];
    job.stage = 2;
    job.end_ms = now_ms();
    ++done_;
    if (admitted_ < std::ssize(jobs_)) admit();
  }

  void on_event(const EngineEvent& ev) {
    if (ev.kind == EventKind::error) fail("request error: " + ev.message);
    if (ev.kind != EventKind::token) return;
    const std::size_t idx = by_id_.at(ev.request);
    agents_[idx].out.push_back(ev.token);
    if (ev.cached_tokens >= 0) {
      agents_[idx].first_ms = now_ms();
      agents_[idx].cached = ev.cached_tokens;
      --waiting_;
      ++started_;
      if (hints_) {
        for (std::size_t p : parts(agents_[idx].job, agents_[idx].role))
          part_state_[p] = 2;  // cached
        drain();               // adds agents: `agents_` may move
      }
    }
    Agent& ag = agents_[idx];
    if (!ev.finish) return;
    --started_;
    Job& job = jobs_[static_cast<std::size_t>(ag.job)];
    if (ag.role == w_.shape.reviewers) return finish_job(ag.job);
    ++job.reviewers_done;
    // The checker's dependencies are about to finish: bring its fixed prompt back.
    if (w_.shape.checker && prefetch_ && job.reviewers_done == 1)
      prefetch(w_.job_template[static_cast<std::size_t>(ag.job)], w_.shape.reviewers);
    if (job.reviewers_done < w_.shape.reviewers) return;
    if (w_.shape.checker) return start_checker(ag.job);
    finish_job(ag.job);
  }

  // Steps until each (template, role)'s fixed prompt is next used: 0 for steps submitted,
  // 1 for the checker of a job whose reviewers run, and for the pending jobs (in admission
  // order, `lookahead` of them) 1 + 2 * (position / concurrency) for reviewers, one more for
  // the checker. kFarNextUse: not within the lookahead.
  std::vector<std::int32_t> next_uses() const {
    std::vector<std::int32_t> steps(static_cast<std::size_t>(w_.shape.templates * w_.roles()),
                                    kv::kFarNextUse);
    auto note = [&](int t, int role, std::int32_t s) {
      auto& x = steps[static_cast<std::size_t>(t * w_.roles() + role)];
      x = std::min(x, s);
    };
    const int lookahead = a_.lookahead > 0 ? a_.lookahead : w_.shape.concurrency;
    for (std::size_t j = 0; j < jobs_.size(); ++j) {
      const int t = w_.job_template[j];
      const Job& job = jobs_[j];
      if (job.stage == 0) {
        for (int r = 0; r < w_.shape.reviewers; ++r)
          note(t, r, 0);
        if (w_.shape.checker) note(t, w_.shape.reviewers, 1);
      } else if (job.stage == 1) {
        note(t, w_.shape.reviewers, 0);
      } else if (job.stage == -1) {
        const auto q = static_cast<int>(static_cast<std::int64_t>(j) - admitted_);
        if (q >= lookahead) break;
        const std::int32_t base = 1 + 2 * (q / w_.shape.concurrency);
        for (int r = 0; r < w_.roles(); ++r)
          note(t, r, base + (r == w_.shape.reviewers ? 1 : 0));
      }
    }
    return steps;
  }

  // The blocks an open() could match (as KvManager::open: the last token is computed), by
  // a hash chained over the blocks.
  void note_ceiling(const Tokens& prompt) {
    constexpr std::size_t bs = 16;
    std::size_t h = 0;
    const std::size_t n = prompt.empty() ? 0 : (prompt.size() - 1) / bs;
    for (std::size_t i = 0; i < n; ++i) {
      std::string key(reinterpret_cast<const char*>(&h), sizeof h);
      key.append(reinterpret_cast<const char*>(prompt.data() + i * bs), bs * sizeof(std::int32_t));
      h = std::hash<std::string>{}(key);
      if (!seen_.insert(h).second) ceiling_ += static_cast<std::int64_t>(bs);
    }
  }

  void send_hints() {
    const auto steps = next_uses();
    sent_.resize(steps.size(), -2);
    for (std::size_t i = 0; i < steps.size(); ++i) {
      if (steps[i] == sent_[i]) continue;
      sent_[i] = steps[i];
      const int t = static_cast<int>(i) / w_.roles(), role = static_cast<int>(i) % w_.roles();
      const std::int32_t s = steps[i] == kv::kFarNextUse ? -1 : steps[i];
      e_.hint_reuse(static_cast<kv::HintOwner>(i), w_.prefix(t, role), s, false);
    }
  }

  void prefetch(int t, int role) {
    send_hints();
    const auto i = static_cast<std::size_t>(t * w_.roles() + role);
    if (sent_[i] == kv::kFarNextUse) sent_[i] = 0;  // not hinted yet: needed now
    const auto c0 = Clock::now();
    prefetched_ += e_.hint_reuse(static_cast<kv::HintOwner>(i), w_.prefix(t, role), sent_[i], true);
    prefetch_ms_ += std::chrono::duration<double, std::milli>(Clock::now() - c0).count();
  }

  SetupResult summarize(const std::string& setup) {
    SetupResult r;
    r.setup = setup;
    for (const Agent& ag : agents_) {
      const std::string step =
          w_.shape.checker ? (ag.role == w_.shape.reviewers ? "checker" : "reviewer") : "agent";
      r.ttft_ms[step].push_back(ag.first_ms - ag.submit_ms);
      r.prompt_tokens += ag.prompt;
      r.cached_tokens += ag.cached;
    }
    for (const Job& j : jobs_)
      r.mean_jct_ms += (j.end_ms - j.start_ms) / static_cast<double>(jobs_.size());
    r.makespan_ms = now_ms();
    r.prefetched_blocks = prefetched_;
    r.ceiling_tokens = ceiling_;
    r.mean_started = samples_ > 0 ? started_sum_ / static_cast<double>(samples_) : 0;
    r.mean_waiting = samples_ > 0 ? waiting_sum_ / static_cast<double>(samples_) : 0;
    r.prefetch_ms = prefetch_ms_;
    r.stats = e_.stats();
    r.kv = e_.kv_metrics();
    return r;
  }

  const Workload& w_;
  Engine& e_;
  const Args& a_;
  bool hints_, prefetch_;
  struct Deferred {
    int job = 0, role = 0;
    Tokens prompt;
    double since_ms = 0;
  };
  std::vector<int> part_state_;  // per parts() id: 0 not computed, 1 computing, 2 cached
  std::vector<Deferred> deferred_;
  std::vector<Job> jobs_;
  std::vector<Agent> agents_;
  std::map<RequestId, std::size_t> by_id_;
  std::vector<std::int32_t> sent_;  // hint last sent per (template, role); -2: none
  std::int64_t admitted_ = 0, done_ = 0, prefetched_ = 0, ceiling_ = 0;
  std::unordered_set<std::size_t> seen_;  // block hashes of the prompts submitted
  int started_ = 0, waiting_ = 0;
  double prefetch_ms_ = 0, started_sum_ = 0, waiting_sum_ = 0;
  std::int64_t samples_ = 0;
  Clock::time_point t0_;
};

// A few requests through a throwaway engine: kernel plans and buffers at their sizes.
void warm_up(Device& d, const Workload& w, const Args& a) {
  EngineOptions eo;
  eo.max_tokens_per_step = a.tokens_per_step;
  auto e = Engine::create({d.backend.get(), &d.config, d.fingerprint, nullptr, nullptr}, eo);
  if (!e.ok()) fail(e.error().to_string());
  for (int i = 0; i < 4; ++i) {
    EngineRequest r;
    r.prompt = w.prefix(0, i % w.roles());
    r.params.temperature = 0;
    r.params.ignore_eos = true;
    r.params.max_tokens = 4;
    if (!(*e)->add_request(std::move(r)).ok()) fail("warm-up request refused");
  }
  while ((*e)->has_work()) {
    if (!(*e)->step().ok()) fail("warm-up step failed");
  }
}

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  std::size_t i = 0;
  while (i <= s.size()) {
    const std::size_t j = std::min(s.find(',', i), s.size());
    if (j > i) out.push_back(s.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

nlohmann::json run_workload(const Args& a, const Shape& shape, std::string& device_name) {
  // Prompts need the vocabulary; the pool size needs the prompts.
  auto cfg = a.backend == "cpu" ? model::load_config(a.model_dir) : config_of_shape(a.shape);
  if (!cfg.ok()) fail(cfg.error().to_string());
  const int vocab = cfg->vocab_size;
  const Workload w = make_workload(shape, vocab, a.seed);
  // At least two of the longest requests, and the unique part of every running one.
  const int unique =
      shape.input_tokens +
      std::max(shape.review_output,
               shape.checker ? shape.reviewers * shape.review_output + shape.check_output : 0);
  const int longest = shape.system_tokens + shape.fixed_max + unique;
  const std::int64_t floor_blocks =
      2 * (longest / 16 + 1) + static_cast<std::int64_t>(a.max_running) * (unique / 16 + 1);
  const auto blocks = static_cast<int>(std::max<std::int64_t>(
      static_cast<std::int64_t>(a.device_fraction * static_cast<double>(w.distinct_tokens())) / 16,
      floor_blocks));
  if (shape.jobs < 2 * shape.templates) {
    std::printf(
        "note: %s: %d jobs over %d templates: a template recurs fewer than twice, so "
        "little is reused across jobs (and the host tier is barely read)\n",
        shape.name.c_str(), shape.jobs, shape.templates);
  }
  Device d = make_device(a, blocks);
  device_name = d.name;
  const auto block_bytes = static_cast<std::int64_t>(d.backend->block_bytes());
  // Room for every distinct prompt block: the host tier never drops one.
  const std::size_t host_bytes = static_cast<std::size_t>(w.distinct_tokens() / 16 + 64) *
                                 static_cast<std::size_t>(block_bytes);
  warm_up(d, w, a);
  std::printf(
      "\n%s: %d jobs (%d in flight), %d templates x %d agents, %lld distinct prompt "
      "tokens, %d device blocks (%.2f GB), host tier %.2f GB\n",
      shape.name.c_str(), shape.jobs, shape.concurrency, shape.templates, w.roles(),
      static_cast<long long>(w.distinct_tokens()), blocks,
      static_cast<double>(blocks) * static_cast<double>(block_bytes) / 1e9,
      static_cast<double>(host_bytes) / 1e9);
  std::vector<SetupResult> rs;
  for (const std::string& setup : split(a.setups)) {
    EngineOptions eo;
    eo.max_running = a.max_running;
    eo.max_tokens_per_step = a.tokens_per_step;
    eo.prefix_reuse = setup != "recompute";
    eo.host_tier_bytes = setup == "recompute" ? 0 : host_bytes;
    auto e = Engine::create({d.backend.get(), &d.config, d.fingerprint, nullptr, nullptr}, eo);
    if (!e.ok()) fail(e.error().to_string());
    const bool hints = setup.rfind("workflow", 0) == 0;
    Runner runner(w, **e, a, hints, setup == "workflow_prefetch");
    rs.push_back(runner.run(setup));
    // A line per setup as it ends, so a run cut by a time limit still shows what it did.
    std::printf("  %s done: mean JCT %.1f ms, %lld evictions\n", setup.c_str(),
                rs.back().mean_jct_ms, static_cast<long long>(rs.back().kv.evictions));
    std::fflush(stdout);
  }
  auto find = [&](const std::string& n) -> const SetupResult* {
    for (const auto& r : rs)
      if (r.setup == n) return &r;
    return nullptr;
  };
  std::printf("%-18s %9s %9s %7s %6s %7s %7s %7s %9s %8s %8s %7s %7s\n", "setup", "TTFT ms",
              "p90 ms", "vs LRU", "reuse", "ceiling", "h2d GB", "pf GB/s", "JCT ms", "evicted",
              "preempt", "started", "waiting");
  nlohmann::json setups = nlohmann::json::array();
  for (const auto& r : rs) {
    auto j = report(r, find("lru"), find("recompute"), block_bytes);
    std::printf("%-18s %9.1f %9.1f %7.2f %6.3f %7.3f %7.2f %7.2f %9.1f %8lld %8lld %7.1f %7.1f\n",
                r.setup.c_str(), j["mean_ttft_ms"].get<double>(), j["p90_ttft_ms"].get<double>(),
                j["speedup_vs_lru"].get<double>(), j["reuse_rate"].get<double>(),
                j["reuse_ceiling"].get<double>(), j["h2d_bytes"].get<double>() / 1e9,
                j["prefetch_gb_s"].get<double>(), r.mean_jct_ms,
                static_cast<long long>(r.kv.evictions), static_cast<long long>(r.stats.preemptions),
                r.mean_started, r.mean_waiting);
    for (const auto& s : j["steps"]) {
      std::printf("  %-16s %9.1f %9.1f   (%d requests, p50 %.1f ms)\n",
                  s["step"].get<std::string>().c_str(), s["mean_ttft_ms"].get<double>(),
                  s["p90_ttft_ms"].get<double>(), s["requests"].get<int>(),
                  s["p50_ttft_ms"].get<double>());
    }
    setups.push_back(std::move(j));
  }
  std::fflush(stdout);
  return {{"workload", shape.name},
          {"jobs", shape.jobs},
          {"concurrency", shape.concurrency},
          {"templates", shape.templates},
          {"agents_per_job", w.roles()},
          {"distinct_prompt_tokens", w.distinct_tokens()},
          {"kv_blocks", blocks},
          {"block_bytes", block_bytes},
          {"host_tier_bytes", host_bytes},
          {"setups", setups}};
}

int run(Args a) {
  if (a.smoke) {
    // tiny-calc's context is 4096 tokens: small prompts, few jobs.
    a.workflow.jobs = 6;
    a.workflow.concurrency = 3;
    a.workflow.templates = 3;
    a.workflow.fixed_min = 64;
    a.workflow.fixed_max = 192;
    a.workflow.input_tokens = 32;
    a.workflow.review_output = a.workflow.check_output = 4;
    a.five.jobs = a.five.concurrency = 2;
    a.five.system_tokens = 64;
    a.five.fixed_min = a.five.fixed_max = a.five.input_tokens = 32;
    a.five.review_output = 8;
    a.max_running = 4;
  }
  std::string device;
  nlohmann::json workloads = nlohmann::json::array();
  workloads.push_back(run_workload(a, a.workflow, device));
  workloads.push_back(run_workload(a, a.five, device));
  const nlohmann::json doc{{"bench", "workflow_kv"},
                           {"device", device},
                           {"shape", a.backend == "cpu" ? a.model_dir : a.shape},
                           {"max_running", a.max_running},
                           {"tokens_per_step", a.tokens_per_step},
                           {"device_fraction", a.device_fraction},
                           {"seed", a.seed},
                           {"workloads", workloads}};
  if (!a.json_path.empty()) std::ofstream(a.json_path) << doc.dump(2) << "\n";
  return 0;
}

}  // namespace
}  // namespace agentrt::bench

int main(int argc, char** argv) {
  agentrt::bench::Args a;
  CLI::App app{"Workflow-aware KV eviction and prefetch against LRU and recompute"};
  app.add_option("--backend", a.backend, "cpu or cuda");
  app.add_option("--shape", a.shape, "cuda: random-weight model shape (llama-3.1-8b)");
  app.add_option("--model-dir", a.model_dir, "cpu: Hugging Face model directory");
  app.add_option("--jobs", a.workflow.jobs, "workflow jobs");
  app.add_option("--concurrency", a.workflow.concurrency, "workflow jobs in flight");
  app.add_option("--templates", a.workflow.templates, "workflow templates (own fixed prompts)");
  app.add_option("--reviewers", a.workflow.reviewers, "reviewers per job (then one checker)");
  app.add_option("--fixed-min", a.workflow.fixed_min, "shortest fixed prompt");
  app.add_option("--fixed-max", a.workflow.fixed_max, "longest fixed prompt");
  app.add_option("--input", a.workflow.input_tokens, "job input tokens");
  app.add_option("--review-output", a.workflow.review_output, "reviewer output tokens");
  app.add_option("--check-output", a.workflow.check_output, "checker output tokens");
  app.add_option("--five-jobs", a.five.jobs, "5-agent jobs");
  int five_concurrency = 0, five_role = 256;
  app.add_option("--five-concurrency", five_concurrency,
                 "5-agent jobs in flight (0: as many as max-running runs at once)");
  app.add_option("--five-role", five_role,
                 "tokens of each agent's own 512 that are a fixed role prompt (0: all its input)");
  app.add_option("--device-fraction", a.device_fraction, "device KV / distinct prompt tokens");
  app.add_option("--max-running", a.max_running, "Engine max_running");
  app.add_option("--tokens-per-step", a.tokens_per_step, "Engine max_tokens_per_step");
  app.add_option("--lookahead", a.lookahead, "pending jobs hinted (0: concurrency)");
  app.add_option("--setups", a.setups, "comma-separated subset of the setups");
  app.add_option("--seed", a.seed);
  app.add_flag("--smoke", a.smoke, "tiny sizes (CPU smoke run)");
  app.add_option("--json", a.json_path, "write the figures here");
  CLI11_PARSE(app, argc, argv);
  five_role = std::clamp(five_role, 0, 512);
  a.five.fixed_min = a.five.fixed_max = five_role;
  a.five.input_tokens = 512 - five_role;
  const int fit = std::max(1, a.max_running / a.five.reviewers);
  a.five.concurrency = std::min(a.five.jobs, five_concurrency > 0 ? five_concurrency : fit);
  return agentrt::bench::run(a);
}
