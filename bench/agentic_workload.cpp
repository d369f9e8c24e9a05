#include "bench/agentic_workload.h"

#include <algorithm>
#include <cmath>
#include <random>

namespace agentrt::bench {

std::int64_t ScriptedProgram::output_tokens() const {
  std::int64_t n = 0;
  for (const auto& t : turns)
    n += t.output_tokens;
  return n;
}

bool apply_workload_preset(const std::string& name, WorkloadOptions& o) {
  if (name == "swe") {
    o.mean_turns = 10.9;
    return true;
  }
  if (name == "bfcl") {
    o.mean_turns = 6.3;
    return true;
  }
  return false;
}

std::vector<ScriptedProgram> make_programs(const WorkloadOptions& o) {
  std::mt19937_64 rng(o.seed);
  auto uniform = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  auto token = [&] { return static_cast<std::int32_t>(uniform(16, std::max(17, o.vocab - 1))); };
  std::vector<std::int32_t> system;
  for (int i = 0; i < o.system_tokens; ++i)
    system.push_back(token());
  // Turns: 1 + Poisson(mean - 1), so every program has at least one turn.
  std::poisson_distribution<int> extra_turns(std::max(0.0, o.mean_turns - 1.0));
  std::exponential_distribution<double> gap(1.0);
  std::normal_distribution<double> noise(0.0, o.tool_sigma);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  std::vector<ScriptedProgram> out(static_cast<std::size_t>(o.programs));
  double clock = 0;
  for (auto& p : out) {
    p.arrival = clock;
    clock += gap(rng);
    p.prompt = system;
    const int prompt = uniform(std::max(o.prompt_min, o.system_tokens + 1),
                               std::max(o.prompt_max, o.system_tokens + 1));
    while (std::ssize(p.prompt) < prompt)
      p.prompt.push_back(token());
    const int turns = 1 + extra_turns(rng);
    for (int t = 0; t < turns; ++t) {
      ScriptedTurn turn;
      turn.output_tokens = uniform(o.output_min, o.output_max);
      if (t + 1 < turns) {
        const double pick = unit(rng);
        double median = o.slow_s;
        turn.tool = "slow";
        if (pick < o.fast_share) {
          median = o.fast_s;
          turn.tool = "fast";
        } else if (pick < o.fast_share + o.medium_share) {
          median = o.medium_s;
          turn.tool = "medium";
        }
        turn.tool_seconds = median * std::exp(noise(rng)) * o.tool_scale;
        if (unit(rng) < o.mispredict_share) turn.tool_seconds *= 10.0;
        const int n = uniform(o.result_min, o.result_max);
        for (int i = 0; i < n; ++i)
          turn.result.push_back(token());
      }
      p.turns.push_back(std::move(turn));
    }
  }
  return out;
}

}  // namespace agentrt::bench
