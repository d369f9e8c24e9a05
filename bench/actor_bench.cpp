// Actor runtime benchmark (CPU, models/tiny-calc). Part 1: N agents solve different
// two-step word problems at once, greedy, through the calculator with a simulated latency
// (a deterministic function of the expression, so every setup sees the same trajectory).
// Three setups on a KV pool small enough to be under pressure:
//   ttl       pins a paused turn's KV with the TtlPolicy's TTL (the runtime's default)
//   turn_end  no pin: at the end of each turn the KV is merely cached (evictable)
//   no_reuse  no prefix reuse: every resumed turn recomputes its whole context
// It reports job completion time and tokens prefilled, as ratios to no_reuse of the same
// run. Part 2: actor overhead per engine step: the same fixed-length requests through the
// engine actor (EngineLoop thread + TokenBatch messages to a subscriber actor) and through
// a bare Engine::step() loop on one thread.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <fstream>
#include <future>
#include <iostream>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "actors/calculator.h"
#include "actors/engine_loop.h"
#include "actors/runtime.h"
#include "engine/cpu/cpu_backend.h"

namespace agentrt::bench {
namespace {

using namespace std::chrono_literals;
using actors::Json;
using Clock = std::chrono::steady_clock;

struct Options {
  int agents = 16;
  int kv_blocks = 160;
  int threads = 2;
  double tool_min_ms = 50, tool_max_ms = 250;
  int overhead_requests = 8, overhead_tokens = 128, repeats = 5, rounds = 1;
  std::string json = "bench/results/actor_bench.json";
  std::string model = std::string(AGENTRT_SOURCE_DIR) + "/models/tiny-calc";
};

// The calculator with a latency that depends only on the expression.
class LatencyCalculator final : public actors::Tool {
 public:
  LatencyCalculator(double lo_ms, double hi_ms) : lo_(lo_ms), hi_(hi_ms) {
    spec_.name = "calculator";
    spec_.description =
        "Evaluate an integer arithmetic expression with + - * / and parentheses. Division "
        "must be exact.";
    spec_.parameters = Json::parse(R"j({"type": "object", "properties": {"expression":
        {"type": "string", "description": "The expression, e.g. 12 * (3 + 4)"}},
        "required": ["expression"]})j");
  }
  const actors::ToolSpec& spec() const override { return spec_; }
  Result<std::string> invoke(const Json& args) override {
    const auto expr = args.at("expression").get<std::string>();
    const double u = static_cast<double>(std::hash<std::string>{}(expr) % 1000) / 1000.0;
    std::this_thread::sleep_for(std::chrono::duration<double, std::milli>(lo_ + u * (hi_ - lo_)));
    auto v = actors::evaluate_expression(expr);
    if (!v.ok()) return v.error();
    return std::to_string(*v);
  }

 private:
  actors::ToolSpec spec_;
  double lo_, hi_;
};

const char* kNames[] = {"Mia",  "Ben",  "Cara", "Dan",   "Eve",  "Finn", "Gina",
                        "Hugo", "Ivy",  "Jack", "Kate",  "Leo",  "Lily", "Max",
                        "Nina", "Omar", "Pia",  "Quinn", "Rosa", "Sam"};
const char* kItems[] = {"apples",  "marbles", "stamps", "books",
                        "pencils", "cards",   "shells", "beads"};
const char* kMul[] = {"twice", "three times", "four times"};

// "A has x. B has c more than A. C has k times as many as B." plus one distractor.
std::string problem(int i) {
  std::mt19937 rng(static_cast<unsigned>(1000 + i));
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<unsigned>(n)); };
  const std::string a = kNames[pick(20)], item = kItems[pick(8)];
  std::string b = kNames[pick(20)], c = kNames[pick(20)];
  while (b == a)
    b = kNames[pick(20)];
  while (c == a || c == b)
    c = kNames[pick(20)];
  const int x = 3 + pick(30), add = 2 + pick(9), mul = pick(3);
  std::vector<std::string> facts = {
      a + " has " + std::to_string(x) + " " + item + ".",
      b + " has " + std::to_string(add) + " more " + item + " than " + a + ".",
      c + " has " + kMul[mul] + " as many " + item + " as " + b + ".",
      a + " has " + std::to_string(4 + pick(20)) + " coins."};
  std::shuffle(facts.begin(), facts.end(), rng);
  std::string text;
  for (const auto& f : facts)
    text += f + " ";
  return text + "How many " + item + " does " + c + " have?";
}

struct SetupResult {
  std::string name;
  double wall_s = 0, mean_job_s = 0;
  std::int64_t prefilled = 0, decoded = 0, steps = 0, tool_calls = 0, answered = 0, preemptions = 0;
  kv::KvMetrics kv;
  double loop_overhead_us_per_step = 0;
};

Result<SetupResult> run_setup(const Options& o, const std::string& name, bool pin, bool reuse) {
  actors::RuntimeOptions ro;
  ro.model_dir = o.model;
  ro.kv_blocks = o.kv_blocks;
  ro.cpu_threads = o.threads;
  ro.engine.pin_on_pause = pin;
  ro.engine.prefix_reuse = reuse;
  ro.max_pending_requests = o.agents + 4;
  auto rt = actors::Runtime::create(ro);
  if (!rt.ok()) return rt.error();
  AGENTRT_TRY((*rt)->add_tool(std::make_shared<LatencyCalculator>(o.tool_min_ms, o.tool_max_ms)));
  actors::AgentSpec spec;
  spec.system_prompt =
      "You solve arithmetic word problems. Use the calculator tool for every operation, then "
      "give the final line as 'Answer: N'.";
  spec.tools = {"calculator"};
  spec.sampling.temperature = 0.0f;
  spec.sampling.max_tokens = 96;
  spec.max_turns = 6;
  std::vector<std::promise<Result<actors::AgentResult>>> done(static_cast<std::size_t>(o.agents));
  const auto t0 = Clock::now();
  for (int i = 0; i < o.agents; ++i) {
    auto id = (*rt)->start_agent(spec, problem(i), {}, [&done, i](Result<actors::AgentResult> r) {
      done[static_cast<std::size_t>(i)].set_value(std::move(r));
    });
    if (!id.ok()) return id.error();
  }
  SetupResult s;
  s.name = name;
  for (auto& d : done) {
    auto r = d.get_future().get();
    if (!r.ok()) return r.error().with_context(name);
    s.mean_job_s += r->seconds / o.agents;
    s.tool_calls += r->tool_calls;
    s.answered += r->stop == actors::StopReason::final_answer ? 1 : 0;
  }
  s.wall_s = std::chrono::duration<double>(Clock::now() - t0).count();
  const auto m = (*rt)->metrics();
  s.prefilled = m.engine.prefilled_tokens;
  s.decoded = m.engine.decoded_tokens;
  s.steps = m.engine.steps;
  s.preemptions = m.engine.preemptions;
  s.kv = m.kv;
  s.loop_overhead_us_per_step =
      m.engine.steps ? 1e6 * (m.loop_seconds - m.step_seconds) / m.engine.steps : 0;
  return s;
}

// A subscriber that counts finished requests and fulfils `all_done` at `expected`.
caf::behavior counter(caf::event_based_actor*, int expected,
                      std::shared_ptr<std::promise<void>> all_done) {
  auto finished = std::make_shared<int>(0);
  return {[=](const actors::TokenBatch& b) {
    if ((b.finish || b.error || b.cancelled) && ++*finished == expected) all_done->set_value();
  }};
}

struct Rig {
  std::shared_ptr<const model::Model> model;
  std::unique_ptr<cpu::CpuBackend> backend;
  std::unique_ptr<Engine> engine;
};

Result<Rig> make_rig(const Options& o, int blocks) {
  Rig r;
  auto m = model::Model::load(o.model);
  if (!m.ok()) return m.error();
  r.model = *m;
  auto b = cpu::CpuBackend::create(r.model, {blocks, 16, o.threads});
  if (!b.ok()) return b.error();
  r.backend = std::move(*b);
  auto e = Engine::create(
      {r.backend.get(), &r.model->config(), r.model->fingerprint(), nullptr, nullptr}, {});
  if (!e.ok()) return e.error();
  r.engine = std::move(*e);
  return r;
}

std::vector<EngineRequest> fixed_requests(const Options& o) {
  std::vector<EngineRequest> out;
  for (int i = 0; i < o.overhead_requests; ++i) {
    EngineRequest r;
    for (int t = 0; t < 32; ++t)
      r.prompt.push_back(10 + (i * 31 + t * 7) % 700);
    r.params.temperature = 0.0f;
    r.params.max_tokens = o.overhead_tokens;
    r.params.ignore_eos = true;
    out.push_back(std::move(r));
  }
  return out;
}

struct Overhead {
  double direct_s = 0, actor_s = 0;
  std::int64_t steps = 0;
  double routing_us_per_step = 0;  // inside the loop thread: building and sending batches
};

Result<double> run_bare(const Options& o, int blocks, std::int64_t& steps) {
  auto rig = make_rig(o, blocks);  // a bare engine loop on this thread
  if (!rig.ok()) return rig.error();
  const auto t0 = Clock::now();
  for (auto& r : fixed_requests(o))
    AGENTRT_TRY(rig->engine->add_request(std::move(r)));
  while (rig->engine->has_work())
    AGENTRT_TRY(rig->engine->step());
  steps = rig->engine->stats().steps;
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

Result<double> run_actor(const Options& o, int blocks, double& routing_us) {
  auto rig = make_rig(o, blocks);  // the engine actor's loop thread and messages
  if (!rig.ok()) return rig.error();
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  auto all_done = std::make_shared<std::promise<void>>();
  auto fut = all_done->get_future();
  auto sub = sys.spawn(counter, o.overhead_requests, all_done);
  actors::EngineLoop loop(std::move(rig->engine), 1024, rig->backend->kv_geometry(), nullptr);
  const auto t0 = Clock::now();
  for (auto& r : fixed_requests(o)) {
    actors::GenerateMsg msg{std::move(r), std::nullopt, 0, {sub}};
    if (auto id = loop.submit(std::move(msg)); !id.ok()) return id.error();
  }
  fut.wait();
  const double s = std::chrono::duration<double>(Clock::now() - t0).count();
  const auto m = loop.metrics();
  routing_us = 1e6 * (m.loop_seconds - m.step_seconds) / static_cast<double>(m.engine.steps);
  caf::anon_send_exit(sub, caf::exit_reason::user_shutdown);
  return s;
}

// Pairs of runs in alternating order; the medians are reported.
Result<Overhead> measure_overhead(const Options& o) {
  const int blocks = o.overhead_requests * ((32 + o.overhead_tokens) / 16 + 2);
  std::vector<double> bare, actor, routing;
  Overhead out;
  for (int rep = 0; rep < o.repeats; ++rep) {
    for (int k = 0; k < 2; ++k) {
      double r_us = 0;
      if ((rep + k) % 2 == 0) {
        auto t = run_bare(o, blocks, out.steps);
        if (!t.ok()) return t.error();
        bare.push_back(*t);
      } else {
        auto t = run_actor(o, blocks, r_us);
        if (!t.ok()) return t.error();
        actor.push_back(*t);
        routing.push_back(r_us);
      }
    }
  }
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  out.direct_s = median(bare);
  out.actor_s = median(actor);
  out.routing_us_per_step = median(routing);
  return out;
}

nlohmann::json to_json(const SetupResult& s) {
  return {{"setup", s.name},
          {"wall_s", s.wall_s},
          {"mean_job_s", s.mean_job_s},
          {"prefilled_tokens", s.prefilled},
          {"decoded_tokens", s.decoded},
          {"steps", s.steps},
          {"tool_calls", s.tool_calls},
          {"answered", s.answered},
          {"preemptions", s.preemptions},
          {"hit_tokens_device", s.kv.hit_tokens[0]},
          {"evictions", s.kv.evictions},
          {"pins_created", s.kv.pins_created},
          {"pins_expired", s.kv.pins_expired},
          {"pins_revoked", s.kv.pins_revoked},
          {"loop_overhead_us_per_step", s.loop_overhead_us_per_step}};
}

int run(const Options& o) {
  const std::vector<std::tuple<const char*, bool, bool>> setups = {
      {"no_reuse", false, false}, {"turn_end", false, true}, {"ttl", true, true}};
  std::vector<std::vector<SetupResult>> runs(setups.size());
  for (int round = 0; round < o.rounds; ++round) {  // interleaved, so drift hits all alike
    for (std::size_t k = 0; k < setups.size(); ++k) {
      const auto& [name, pin, reuse] = setups[k];
      auto r = run_setup(o, name, pin, reuse);
      if (!r.ok()) {
        std::cerr << "actor_bench: " << r.error().to_string() << "\n";
        return 1;
      }
      runs[k].push_back(*r);
    }
  }
  std::vector<SetupResult> rows;
  for (auto& v : runs) {  // the median round by wall time
    std::sort(v.begin(), v.end(), [](const auto& a, const auto& b) { return a.wall_s < b.wall_s; });
    rows.push_back(v[v.size() / 2]);
  }
  const SetupResult& base = rows[0];
  std::printf(
      "%d agents, 2-step problems, tool latency %.0f-%.0f ms, %d KV blocks, %d threads, "
      "median of %d rounds\n",
      o.agents, o.tool_min_ms, o.tool_max_ms, o.kv_blocks, o.threads, o.rounds);
  std::printf("%-9s %7s %7s %9s %7s %8s %8s %6s %5s %5s %5s %6s %7s %7s\n", "setup", "wall s",
              "vs base", "prefilled", "vs base", "mean JCT", "decoded", "calls", "pins", "expir",
              "revok", "evict", "preempt", "hit tok");
  for (const auto& r : rows) {
    std::printf(
        "%-9s %7.3f %7.3f %9lld %7.3f %8.3f %8lld %6lld %5lld %5lld %5lld %6lld %7lld %7lld\n",
        r.name.c_str(), r.wall_s, r.wall_s / base.wall_s, static_cast<long long>(r.prefilled),
        static_cast<double>(r.prefilled) / static_cast<double>(base.prefilled), r.mean_job_s,
        static_cast<long long>(r.decoded), static_cast<long long>(r.tool_calls),
        static_cast<long long>(r.kv.pins_created), static_cast<long long>(r.kv.pins_expired),
        static_cast<long long>(r.kv.pins_revoked), static_cast<long long>(r.kv.evictions),
        static_cast<long long>(r.preemptions), static_cast<long long>(r.kv.hit_tokens[0]));
  }
  auto ov = measure_overhead(o);
  if (!ov.ok()) {
    std::cerr << "actor_bench: " << ov.error().to_string() << "\n";
    return 1;
  }
  const double per_step_us = 1e6 * (ov->actor_s - ov->direct_s) / static_cast<double>(ov->steps);
  std::printf(
      "\nactor overhead: %d requests x %d tokens, %lld steps: bare loop %.3f s, engine "
      "actor %.3f s (median of %d) -> %.1f us per step (%.2f%% of a %.0f us step); routing "
      "inside the loop thread %.1f us per step\n",
      o.overhead_requests, o.overhead_tokens, static_cast<long long>(ov->steps), ov->direct_s,
      ov->actor_s, o.repeats, per_step_us, 100.0 * (ov->actor_s / ov->direct_s - 1.0),
      1e6 * ov->direct_s / static_cast<double>(ov->steps), ov->routing_us_per_step);
  nlohmann::json out = {{"agents", o.agents},
                        {"rounds", o.rounds},
                        {"kv_blocks", o.kv_blocks},
                        {"threads", o.threads},
                        {"tool_ms", {o.tool_min_ms, o.tool_max_ms}},
                        {"setups", nlohmann::json::array()},
                        {"overhead",
                         {{"steps", ov->steps},
                          {"bare_s", ov->direct_s},
                          {"actor_s", ov->actor_s},
                          {"us_per_step", per_step_us},
                          {"routing_us_per_step", ov->routing_us_per_step}}}};
  for (const auto& r : rows)
    out["setups"].push_back(to_json(r));
  if (!o.json.empty()) std::ofstream(o.json) << out.dump(2) << "\n";
  return 0;
}

}  // namespace
}  // namespace agentrt::bench

int main(int argc, char** argv) {
  agentrt::bench::Options o;
  CLI::App app{"Actor runtime benchmark: TTL pinning vs unpin at turn end vs no prefix reuse"};
  app.add_option("--model", o.model, "Model directory")->capture_default_str();
  app.add_option("--agents", o.agents, "Concurrent agents")->capture_default_str();
  app.add_option("--kv-blocks", o.kv_blocks, "KV blocks of 16 tokens")->capture_default_str();
  app.add_option("--threads", o.threads, "CPU backend threads")->capture_default_str();
  app.add_option("--tool-min-ms", o.tool_min_ms, "Shortest simulated tool latency")
      ->capture_default_str();
  app.add_option("--tool-max-ms", o.tool_max_ms, "Longest simulated tool latency")
      ->capture_default_str();
  app.add_option("--rounds", o.rounds, "Runs of each setup (the median is reported)")
      ->capture_default_str();
  app.add_option("--repeats", o.repeats, "Overhead run pairs (medians are reported)")
      ->capture_default_str();
  app.add_option("--json", o.json, "Write results here ('' = no file)")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  return agentrt::bench::run(o);
}
