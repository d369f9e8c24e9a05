// cluster_routing_bench: routing policies on loopback with real engines (issue 20). For each
// policy, a coordinator (this process) and N `agentrt node` worker processes with tiny-calc on
// the CPU serve multi-turn agent programs shaped like bench/agentic_workload.h's, scaled to
// the CPU: every program is one of a few roles (a system prompt its role's programs share),
// has its own task, and runs turns one after another; each turn is a workflow job whose
// prompt is the role's system prompt, the task and everything the earlier turns observed
// (their tool results and replies), so a turn's prompt extends the one before. Between turns
// the program waits, as for a tool. Jobs carry their first prompt's chained block keys
// (cluster/job_prefix.h) and their program; the nodes stream their engines' KV events.
//
// Reports per policy: prefix hit rate (prompt tokens whose KV was cached on the node that ran
// the turn, from the steps' cached_tokens / the prompts' tokens), tokens prefilled, mean turn
// (job) completion time, mean program completion time, and jobs per node; then each figure
// against round_robin. Fresh node processes (cold caches) for every policy. With --route turns
// the jobs run on a runtime of this process and each agent turn is routed to a node's engine
// (`agentrt serve --cluster-route turns`); the per-node column then counts turns.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "actors/runtime_pool.h"
#include "actors/workflow/workflow_runner.h"
#include "cluster/coordinator.h"
#include "cluster/job_prefix.h"
#include "cluster/local_engine.h"
#include "workflows/inputs.h"
#include "workflows/loader.h"

namespace agentrt::bench {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

struct Options {
  std::string agentrt = AGENTRT_BIN;
  std::string model = std::string(AGENTRT_SOURCE_DIR) + "/models/tiny-calc";
  std::string policies = "round_robin,least_loaded,prefix_aware,program_affinity";
  int nodes = 3;
  int programs = 12;
  int roles = 3;
  int turns_min = 2, turns_max = 6;
  int kv_blocks = 256;   // per node
  int max_tokens = 8;    // each turn's reply
  int tool_ms = 150;     // mean wait between a program's turns
  int arrival_ms = 250;  // mean gap between program starts
  std::uint64_t seed = 20;
  bool turns =
      false;  // --route turns: jobs run here, each turn routed (serve --cluster-route turns)
};

const std::string kSecret = "cluster-routing-bench-secret-0123";

// One program's script, drawn once and replayed under every policy.
struct Program {
  int role = 0;
  double arrival_s = 0;
  std::string task;
  std::vector<std::string> results;  // per turn but the last: the tool result appended
  std::vector<double> waits_s;       // per turn but the last: the tool's duration
};

std::string role_prompt(int role) {
  const char* names[] = {"ledger auditor", "inventory planner", "fare calculator",
                         "payroll checker", "recipe scaler"};
  const std::string name = names[role % 5];
  std::string s = "You are the " + name + " (role " + std::to_string(role) + ").";
  for (int k = 0; k < 10; ++k)
    s += " Rule " + std::to_string(k) + " for the " + name +
         ": read each number once, write every operation on its own line, use the results of "
         "earlier observations, and finish with 'Answer: N'.";
  return s;
}

std::vector<Program> make_programs(const Options& o) {
  std::mt19937_64 rng(o.seed);
  std::exponential_distribution<double> gap(1000.0 / std::max(1, o.arrival_ms));
  std::exponential_distribution<double> tool(1000.0 / std::max(1, o.tool_ms));
  std::uniform_int_distribution<int> turns(o.turns_min, std::max(o.turns_min, o.turns_max));
  std::uniform_int_distribution<int> num(10, 999);
  std::vector<Program> out;
  double t = 0;
  for (int p = 0; p < o.programs; ++p) {
    Program g;
    g.role = p % std::max(1, o.roles);
    g.arrival_s = t;
    t += gap(rng);
    g.task = "Task " + std::to_string(p) + ": a store sold";
    for (int k = 0; k < 6; ++k)
      g.task +=
          " " + std::to_string(num(rng)) + " items at " + std::to_string(num(rng)) + " cents,";
    g.task += " what is the total?";
    const int n = turns(rng);
    for (int k = 0; k + 1 < n; ++k) {
      std::string r = "Observation " + std::to_string(k + 1) + ":";
      for (int j = 0; j < 12; ++j)
        r += " " + std::to_string(num(rng));
      g.results.push_back(r);
      g.waits_s.push_back(tool(rng));
    }
    out.push_back(std::move(g));
  }
  return out;
}

// A JSON string literal (the YAML scalars below are JSON-compatible double-quoted strings).
std::string quoted(const std::string& s) {
  return nlohmann::json(s).dump();
}

std::string workflow(const Options& o, int role) {
  return "name: role-" + std::to_string(role) +
         "\nmodels:\n  default: {}\nagents:\n  worker:\n    system: " + quoted(role_prompt(role)) +
         "\n    sampling: { temperature: 0, max_tokens: " + std::to_string(o.max_tokens) +
         " }\n    max_turns: 1\ninputs:\n  context: { type: string }\nsteps:\n  - id: turn\n"
         "    agent: worker\n    input: \"{{ inputs.context }}\"\noutputs:\n"
         "  reply: \"{{ steps.turn.output }}\"\n";
}

class NodeProcess {
 public:
  NodeProcess(const Options& o, std::uint16_t port, const std::string& secret_file,
              const std::string& name) {
    pid_ = fork();
    if (pid_ == 0) {
      const std::string join = "127.0.0.1:" + std::to_string(port);
      const std::string blocks = std::to_string(o.kv_blocks);
      if (std::freopen("/dev/null", "w", stdout) == nullptr || dup2(fileno(stdout), 2) < 0)
        _exit(126);
      execl(o.agentrt.c_str(), o.agentrt.c_str(), "node", "--join", join.c_str(), "--secret-file",
            secret_file.c_str(), "--name", name.c_str(), "--model", o.model.c_str(), "--threads",
            "1", "--kv-blocks", blocks.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
  }
  ~NodeProcess() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }

 private:
  pid_t pid_ = -1;
};

struct TurnRecord {
  std::int64_t prompt_tokens = 0;
  std::int64_t cached_tokens = 0;
  double seconds = 0;
  std::string node;
  bool ok = false;
};

struct PolicyResult {
  std::string policy;
  std::int64_t prompt_tokens = 0, cached_tokens = 0;
  double mean_turn_s = 0, mean_program_s = 0, wall_s = 0;
  int turns = 0, failed = 0;
  std::map<std::string, int> per_node;
  double hit_rate() const {
    return prompt_tokens > 0 ? static_cast<double>(cached_tokens) / prompt_tokens : 0;
  }
  std::int64_t prefilled() const { return prompt_tokens - cached_tokens; }
};

std::optional<cluster::ClusterJobResult> run_job(cluster::Coordinator& c, cluster::ClusterJob j) {
  std::mutex mu;
  std::condition_variable cv;
  std::optional<cluster::ClusterJobResult> out;
  c.submit(std::move(j), [&](cluster::ClusterJobResult r) {
    std::lock_guard lock(mu);
    out = std::move(r);
    cv.notify_all();
  });
  std::unique_lock lock(mu);
  cv.wait_for(lock, 300s, [&] { return out.has_value(); });
  return out;
}

// --route turns: the jobs run on a runtime of this process whose agents' turns the
// coordinator routes (turn_front.h), as `agentrt serve --cluster-route turns` runs them.
struct TurnRuntime {
  std::unique_ptr<actors::RuntimePool> pool;
  actors::workflow::RunnerOptions runner;

  cluster::LocalJobFn run(const std::string& yaml, const std::string& file,
                          const std::vector<std::pair<std::string, std::string>>& inputs,
                          const std::string& program) {
    auto loaded = workflows::load_workflow(yaml, file);
    workflows::Diagnostics diags;
    auto values = workflows::resolve_inputs(loaded.workflow, inputs, diags);
    auto wf = std::make_shared<const workflows::Workflow>(std::move(loaded.workflow));
    actors::workflow::RunnerOptions ro = runner;
    ro.program = program;  // the program's turns share a key (program_affinity)
    return [this, wf, values, ro](actors::workflow::ResumeState resume,
                                  actors::workflow::RunHooks hooks,
                                  std::function<void(actors::workflow::WorkflowOutcome)> done)
               -> Result<std::shared_ptr<actors::workflow::WorkflowRunner>> {
      auto created = actors::workflow::WorkflowRunner::create(*wf, ro, *pool);
      if (!created.ok()) return created.error();
      std::shared_ptr<actors::workflow::WorkflowRunner> r(
          created->release(), [wf](actors::workflow::WorkflowRunner* x) { delete x; });
      if (auto st = r->start(values, std::move(hooks), std::move(resume), std::move(done));
          !st.ok())
        return st.error();
      return r;
    };
  }
};

Result<PolicyResult> run_policy(const Options& o, const std::string& policy,
                                const std::vector<Program>& programs, const actors::Runtime& rt,
                                const std::string& secret_file) {
  cluster::CoordinatorOptions co;
  co.secret = kSecret;
  co.policy = policy;
  co.heartbeat = 100ms;
  co.heartbeat_timeout = 5000ms;
  co.route_turns = o.turns;
  auto started = cluster::Coordinator::start(co);
  if (!started.ok()) return started.error();
  std::unique_ptr<cluster::Coordinator> coordinator = std::move(*started);
  TurnRuntime here;
  if (o.turns) {
    actors::RuntimeOptions base;
    base.engine_front = [c = coordinator.get()](const actors::EngineFrontContext& e) {
      return c->turn_front(e.engine, e.fingerprint, e.block_size);
    };
    here.pool = std::make_unique<actors::RuntimePool>(base);
    here.runner.model_dir = o.model;
    here.runner.threads = 1;
    here.runner.kv_blocks = 64;  // its engine runs no turn while a worker is live
    coordinator->attach_local([] { return cluster::NodeLoad{}; }, false);
  }
  std::vector<std::unique_ptr<NodeProcess>> nodes;
  for (int i = 0; i < o.nodes; ++i)
    nodes.push_back(std::make_unique<NodeProcess>(o, coordinator->port(), secret_file,
                                                  "n" + std::to_string(i)));
  const auto join_until = Clock::now() + 60s;
  while (std::ssize(coordinator->nodes()) < o.nodes && Clock::now() < join_until)
    std::this_thread::sleep_for(20ms);
  if (std::ssize(coordinator->nodes()) < o.nodes)
    return make_error(ErrorCode::timeout, "cluster_routing_bench: the nodes did not join");

  std::vector<std::vector<TurnRecord>> records(programs.size());
  std::vector<double> program_s(programs.size(), 0);
  const auto t0 = Clock::now();
  std::vector<std::thread> drivers;
  for (std::size_t p = 0; p < programs.size(); ++p) {
    drivers.emplace_back([&, p] {
      const Program& g = programs[p];
      std::this_thread::sleep_until(t0 + std::chrono::duration<double>(g.arrival_s));
      const auto start = Clock::now();
      std::string context = g.task;
      const std::size_t turns = g.results.size() + 1;
      for (std::size_t t = 0; t < turns; ++t) {
        cluster::ClusterJob j;
        j.id = policy + "-p" + std::to_string(p) + "-t" + std::to_string(t);
        j.workflow_yaml = workflow(o, g.role);
        j.workflow_file = "role" + std::to_string(g.role) + ".yaml";
        j.inputs = {{"context", context}};
        j.program = "p" + std::to_string(p);
        if (o.turns) j.run_here = here.run(j.workflow_yaml, j.workflow_file, j.inputs, j.program);
        TurnRecord rec;
        if (auto prefix = cluster::job_prefix(rt, j.workflow_yaml, j.workflow_file, j.inputs);
            prefix.ok()) {
          j.blocks = std::move(prefix->blocks);
          j.prompt_tokens = prefix->prompt_tokens;
          rec.prompt_tokens = prefix->prompt_tokens;
        }
        const auto s = Clock::now();
        auto r = run_job(*coordinator, std::move(j));
        rec.seconds = std::chrono::duration<double>(Clock::now() - s).count();
        std::string reply;
        if (r && r->status.ok() && r->report.is_object()) {
          rec.ok = true;
          rec.node = r->nodes.empty() ? "" : r->nodes.back();
          for (const auto& step : r->report.value("steps", nlohmann::json::array()))
            rec.cached_tokens += step["status"].value("cached_tokens", std::int64_t{0});
          reply = r->report["outputs"].value("reply", "");
        }
        records[p].push_back(rec);
        if (t + 1 == turns) break;
        context += "\nReply " + std::to_string(t + 1) + ": " + reply + "\n" + g.results[t];
        std::this_thread::sleep_for(std::chrono::duration<double>(g.waits_s[t]));
      }
      program_s[p] = std::chrono::duration<double>(Clock::now() - start).count();
    });
  }
  for (auto& d : drivers)
    d.join();
  PolicyResult res;
  res.policy = policy;
  res.wall_s = std::chrono::duration<double>(Clock::now() - t0).count();
  double turn_sum = 0, program_sum = 0;
  for (std::size_t p = 0; p < programs.size(); ++p) {
    program_sum += program_s[p];
    for (const TurnRecord& r : records[p]) {
      ++res.turns;
      if (!r.ok) {
        ++res.failed;
        continue;
      }
      res.prompt_tokens += r.prompt_tokens;
      res.cached_tokens += r.cached_tokens;
      turn_sum += r.seconds;
      ++res.per_node[r.node];
    }
  }
  if (o.turns) {  // every job ran here: count where its turns went
    res.per_node.clear();
    for (const auto& n : coordinator->nodes())
      if (n.name != cluster::kLocalNodeName || n.turns_routed > 0)
        res.per_node[n.name] = static_cast<int>(n.turns_routed);
  }
  res.mean_turn_s = turn_sum / std::max(1, res.turns - res.failed);
  res.mean_program_s = program_sum / static_cast<double>(std::max<std::size_t>(1, programs.size()));
  if (o.turns) coordinator->stop_local();
  here.pool.reset();
  coordinator.reset();
  nodes.clear();
  return res;
}

std::string fixed(double v, int digits) {
  std::ostringstream s;
  s.setf(std::ios::fixed);
  s.precision(digits);
  s << v;
  return s.str();
}

int main_impl(int argc, char** argv) {
  Options o;
  CLI::App app{"Routing policies on loopback: a coordinator and agentrt node processes"};
  app.add_option("--agentrt", o.agentrt, "The agentrt binary (runs the nodes)");
  app.add_option("--model", o.model, "Model directory (nodes and job keys)");
  app.add_option("--policies", o.policies, "Comma-separated policies");
  app.add_option("--nodes", o.nodes, "Worker processes");
  app.add_option("--programs", o.programs, "Agent programs");
  app.add_option("--roles", o.roles, "Roles (shared system prompts)");
  app.add_option("--turns-min", o.turns_min, "Turns per program, at least");
  app.add_option("--turns-max", o.turns_max, "Turns per program, at most");
  app.add_option("--kv-blocks", o.kv_blocks, "KV blocks per node");
  app.add_option("--max-tokens", o.max_tokens, "Reply tokens per turn");
  app.add_option("--tool-ms", o.tool_ms, "Mean wait between turns");
  app.add_option("--arrival-ms", o.arrival_ms, "Mean gap between program starts");
  app.add_option("--seed", o.seed, "Workload seed");
  std::string route = "jobs";
  app.add_option("--route", route,
                 "jobs: each turn is a job routed whole to a node; turns: the jobs run here and "
                 "each agent turn is routed (serve --cluster-route turns)")
      ->check(CLI::IsMember({"jobs", "turns"}));
  bool verbose = false;
  app.add_flag("--verbose", verbose, "Log each routing decision");
  CLI11_PARSE(app, argc, argv);
  o.turns = route == "turns";
  if (!verbose) spdlog::set_level(spdlog::level::warn);

  const std::string secret_file = "/tmp/cluster_routing_bench_secret_" + std::to_string(getpid());
  std::ofstream(secret_file) << kSecret << "\n";
  actors::RuntimePool pool{actors::RuntimeOptions{}};
  actors::ModelKey key;
  key.dir = o.model;
  key.threads = 1;
  key.kv_blocks = 16;  // keys only: this runtime runs nothing
  auto rt = pool.get(key);
  if (!rt.ok()) {
    std::cerr << rt.error().message << "\n";
    return 1;
  }
  const auto programs = make_programs(o);
  std::vector<PolicyResult> results;
  std::stringstream names(o.policies);
  for (std::string policy; std::getline(names, policy, ',');) {
    std::cerr << "cluster_routing_bench: " << policy << "...\n";
    auto r = run_policy(o, policy, programs, **rt, secret_file);
    if (!r.ok()) {
      std::cerr << policy << ": " << r.error().message << "\n";
      std::remove(secret_file.c_str());
      return 1;
    }
    results.push_back(std::move(*r));
  }
  std::remove(secret_file.c_str());

  const PolicyResult* base = nullptr;
  for (const auto& r : results)
    if (r.policy == "round_robin") base = &r;
  std::cout << "| policy | turns (failed) | prompt tokens | hit rate | tokens prefilled | "
               "mean turn s | mean program s | wall s | jobs (turns) per node |\n"
               "| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n";
  for (const auto& r : results) {
    std::string spread;
    for (const auto& [node, n] : r.per_node)
      spread += (spread.empty() ? "" : " / ") + std::to_string(n);
    std::cout << "| " << r.policy << " | " << r.turns << " (" << r.failed << ") | "
              << r.prompt_tokens << " | " << fixed(100 * r.hit_rate(), 1) << "% | " << r.prefilled()
              << " | " << fixed(r.mean_turn_s, 3) << " | " << fixed(r.mean_program_s, 2) << " | "
              << fixed(r.wall_s, 1) << " | " << spread << " |\n";
  }
  if (base != nullptr) {
    std::cout << "\nAgainst round_robin:\n\n| policy | hit rate | tokens prefilled | mean turn "
                 "time | mean program time |\n| --- | --- | --- | --- | --- |\n";
    for (const auto& r : results) {
      auto ratio = [](double a, double b) { return b > 0 ? fixed(a / b, 2) + "x" : "-"; };
      std::cout << "| " << r.policy << " | " << fixed(100 * (r.hit_rate() - base->hit_rate()), 1)
                << " pp | " << ratio(r.prefilled(), base->prefilled()) << " | "
                << ratio(r.mean_turn_s, base->mean_turn_s) << " | "
                << ratio(r.mean_program_s, base->mean_program_s) << " |\n";
    }
  }
  for (const auto& r : results)
    if (r.failed > 0) return 1;
  return 0;
}

}  // namespace
}  // namespace agentrt::bench

int main(int argc, char** argv) {
  return agentrt::bench::main_impl(argc, argv);
}
