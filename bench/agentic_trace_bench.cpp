// Agentic trace benchmark (CPU): programs of several turns share a system prompt and pause
// for tool calls of random length between turns. Runs the same trace with prefix reuse and
// pins on/off and reports tokens prefilled and job completion time (JCT), as ratios to the
// baseline (no reuse, no pins) of the same run. Time is simulated: each step advances a
// fake clock by its measured wall time, and idle gaps jump to the next arrival or tool end.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <random>

#include "engine/cpu/cpu_backend.h"
#include "engine/engine.h"
#include "engine/model/model.h"

namespace agentrt::bench {
namespace {

using Ms = std::chrono::duration<double, std::milli>;

struct TraceOptions {
  int programs = 24, turns = 4, system_tokens = 96, user_tokens = 24;
  int output_tokens = 16, tool_tokens = 16, num_blocks = 96;
  double arrival_ms = 20, tool_min_ms = 50, tool_max_ms = 400, pin_ttl_ms = 1000;
  std::uint64_t seed = 7;
};

struct Program {
  std::vector<std::int32_t> user;
  std::vector<double> tool_ms;  // one per pause
  std::vector<std::vector<std::int32_t>> tool_results;
  double arrival_ms = 0;
};

std::vector<Program> make_trace(const TraceOptions& o, std::vector<std::int32_t>& system) {
  std::mt19937_64 rng(o.seed);
  auto tok = [&] { return static_cast<std::int32_t>(3 + rng() % 250); };
  system.clear();
  for (int i = 0; i < o.system_tokens; ++i)
    system.push_back(tok());
  std::vector<Program> ps(static_cast<std::size_t>(o.programs));
  for (int p = 0; p < o.programs; ++p) {
    auto& pr = ps[static_cast<std::size_t>(p)];
    pr.arrival_ms = p * o.arrival_ms;
    for (int i = 0; i < o.user_tokens; ++i)
      pr.user.push_back(tok());
    for (int t = 0; t + 1 < o.turns; ++t) {
      pr.tool_ms.push_back(
          std::uniform_real_distribution<double>(o.tool_min_ms, o.tool_max_ms)(rng));
      pr.tool_results.emplace_back();
      for (int i = 0; i < o.tool_tokens; ++i)
        pr.tool_results.back().push_back(tok());
    }
  }
  return ps;
}

struct RunResult {
  std::string name;
  EngineStats stats;
  kv::KvMetrics kv;
  double mean_jct_ms = 0, p90_jct_ms = 0, makespan_ms = 0, wall_ms = 0;
};

struct Live {
  RequestId id = 0;
  int turn = 0;
  double tool_done_ms = -1;  // >= 0 while a tool runs
  double finish_ms = -1;
};

EngineRequest first_turn(const std::vector<std::int32_t>& system, const Program& p,
                         const TraceOptions& o) {
  EngineRequest r;
  r.prompt = system;
  r.prompt.insert(r.prompt.end(), p.user.begin(), p.user.end());
  r.params.temperature = 0;
  r.params.ignore_eos = true;
  r.params.max_tokens = o.output_tokens;
  r.pause_on_finish = std::chrono::duration_cast<kv::Duration>(Ms(o.pin_ttl_ms));
  return r;
}

void summarize(RunResult& r, const std::vector<Live>& live) {
  std::vector<double> jct;
  for (const auto& l : live)
    jct.push_back(l.finish_ms);
  std::sort(jct.begin(), jct.end());
  for (double j : jct)
    r.mean_jct_ms += j / static_cast<double>(jct.size());
  r.p90_jct_ms = jct[static_cast<std::size_t>(0.9 * static_cast<double>(jct.size() - 1))];
}

// Resumes programs whose tool finished; returns the earliest pending tool end.
double resume_tools(Engine& e, const std::vector<Program>& trace, std::vector<Live>& live,
                    double now, const TraceOptions& o) {
  double wake = 1e18;
  for (std::size_t p = 0; p < live.size(); ++p) {
    auto& l = live[p];
    if (l.tool_done_ms < 0) continue;
    if (l.tool_done_ms <= now) {
      e.resume(l.id, trace[p].tool_results[static_cast<std::size_t>(l.turn - 1)],
               {.max_tokens = o.output_tokens});
      l.tool_done_ms = -1;
    } else {
      wake = std::min(wake, l.tool_done_ms);
    }
  }
  return wake;
}

RunResult run(const std::string& name, const TraceOptions& o, bool reuse, bool pins,
              std::shared_ptr<const model::Model> model) {
  std::vector<std::int32_t> system;
  const auto trace = make_trace(o, system);
  auto backend = cpu::CpuBackend::create(model, {o.num_blocks, 16, 0});
  if (!backend.ok()) throw std::runtime_error(backend.error().to_string());
  kv::FakeClock clock;
  EngineOptions eo;
  eo.prefix_reuse = reuse;
  eo.pin_on_pause = pins;
  auto engine =
      Engine::create({backend->get(), &model->config(), model->fingerprint(), nullptr, &clock}, eo);
  if (!engine.ok()) throw std::runtime_error(engine.error().to_string());
  Engine& e = **engine;
  auto now_ms = [&] { return Ms(clock.now().time_since_epoch()).count(); };
  std::vector<Live> live(trace.size());
  std::map<RequestId, std::size_t> by_id;
  std::size_t next = 0, done = 0;
  const auto wall0 = std::chrono::steady_clock::now();
  while (done < trace.size()) {
    for (; next < trace.size() && trace[next].arrival_ms <= now_ms(); ++next) {
      live[next].id = *e.add_request(first_turn(system, trace[next], o));
      by_id[live[next].id] = next;
    }
    double wake = resume_tools(e, trace, live, now_ms(), o);
    if (next < trace.size()) wake = std::min(wake, trace[next].arrival_ms);
    if (!e.has_work()) {
      // Round up: a truncated jump could land just short of `wake` forever.
      clock.advance(std::chrono::ceil<kv::Duration>(Ms(wake - now_ms())) + kv::Duration(1));
      continue;
    }
    const auto t0 = std::chrono::steady_clock::now();
    auto ev = e.step();
    if (!ev.ok()) throw std::runtime_error(ev.error().to_string());
    clock.advance(std::chrono::steady_clock::now() - t0);
    for (const auto& x : *ev) {
      if (!x.finish) continue;
      const auto p = by_id.at(x.request);
      auto& l = live[p];
      if (++l.turn < o.turns) {
        l.tool_done_ms = now_ms() + trace[p].tool_ms[static_cast<std::size_t>(l.turn - 1)];
      } else {
        l.finish_ms = now_ms() - trace[p].arrival_ms;
        e.cancel(x.request);  // the last turn paused too: let it go
        ++done;
      }
    }
  }
  while (e.has_work())
    (void)e.step();
  RunResult r{name, e.stats(), e.kv_metrics()};
  summarize(r, live);
  r.makespan_ms = now_ms();
  r.wall_ms = Ms(std::chrono::steady_clock::now() - wall0).count();
  return r;
}

int main_impl(int argc, char** argv) {
  TraceOptions o;
  std::string model_dir = std::string(AGENTRT_SOURCE_DIR) + "/tests/fixtures/models/llama-gqa";
  std::string json_path;
  CLI::App app{"agentic trace benchmark: prefix reuse and pins on/off"};
  app.add_option("--model", model_dir, "Hugging Face model directory");
  app.add_option("--programs", o.programs);
  app.add_option("--turns", o.turns);
  app.add_option("--system-tokens", o.system_tokens);
  app.add_option("--num-blocks", o.num_blocks, "KV pool blocks of 16 tokens");
  app.add_option("--seed", o.seed);
  app.add_option("--json", json_path, "write results here");
  CLI11_PARSE(app, argc, argv);
  auto model = model::Model::load(model_dir);
  if (!model.ok()) {
    std::cerr << model.error().to_string() << "\n";
    return 1;
  }
  std::vector<RunResult> rs;
  rs.push_back(run("baseline (no reuse, no pins)", o, false, false, *model));
  rs.push_back(run("prefix reuse", o, true, false, *model));
  rs.push_back(run("prefix reuse + pins", o, true, true, *model));
  rs.push_back(run("pins only (no reuse)", o, false, true, *model));
  const auto& base = rs.front();
  std::printf("%-30s %10s %7s %12s %7s %12s %9s %8s %8s\n", "config", "prefilled", "ratio",
              "mean JCT ms", "ratio", "p90 JCT ms", "dev hits", "revoked", "preempt");
  nlohmann::json out = nlohmann::json::array();
  for (const auto& r : rs) {
    const double pr = static_cast<double>(r.stats.prefilled_tokens) /
                      static_cast<double>(base.stats.prefilled_tokens);
    const double jr = r.mean_jct_ms / base.mean_jct_ms;
    std::printf("%-30s %10lld %7.3f %12.1f %7.3f %12.1f %9lld %8lld %8lld\n", r.name.c_str(),
                static_cast<long long>(r.stats.prefilled_tokens), pr, r.mean_jct_ms, jr,
                r.p90_jct_ms, static_cast<long long>(r.kv.hit_tokens[0]),
                static_cast<long long>(r.kv.pins_revoked),
                static_cast<long long>(r.stats.preemptions));
    out.push_back({{"config", r.name},
                   {"prefilled_tokens", r.stats.prefilled_tokens},
                   {"prefilled_ratio", pr},
                   {"mean_jct_ms", r.mean_jct_ms},
                   {"jct_ratio", jr},
                   {"p90_jct_ms", r.p90_jct_ms},
                   {"makespan_ms", r.makespan_ms},
                   {"wall_ms", r.wall_ms},
                   {"decoded_tokens", r.stats.decoded_tokens},
                   {"steps", r.stats.steps},
                   {"device_hit_tokens", r.kv.hit_tokens[0]},
                   {"evictions", r.kv.evictions},
                   {"pins_created", r.kv.pins_created},
                   {"pins_revoked", r.kv.pins_revoked},
                   {"pins_expired", r.kv.pins_expired},
                   {"preemptions", r.stats.preemptions}});
  }
  nlohmann::json doc{{"bench", "agentic_trace"},
                     {"model", model_dir},
                     {"programs", o.programs},
                     {"turns", o.turns},
                     {"system_tokens", o.system_tokens},
                     {"num_blocks", o.num_blocks},
                     {"block_size", 16},
                     {"seed", o.seed},
                     {"results", out}};
  if (!json_path.empty()) std::ofstream(json_path) << doc.dump(2) << "\n";
  std::cout << doc.dump() << "\n";
  return 0;
}

}  // namespace
}  // namespace agentrt::bench

int main(int argc, char** argv) {
  return agentrt::bench::main_impl(argc, argv);
}
