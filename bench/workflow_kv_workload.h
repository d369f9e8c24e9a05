// The workload of bench/workflow_kv_bench.cpp: workflow jobs whose agents have fixed
// prompts shared by every job of their template, and the 5-agent shape.
#pragma once

#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace agentrt::bench {

using Tokens = std::vector<std::int32_t>;

// Jobs of `reviewers` agents (then a checker reading their outputs, when `checker`), each
// agent's prompt: system + its template's fixed prompt for the role + the job's input.
struct Shape {
  std::string name;
  int templates = 16, reviewers = 3;
  bool checker = true;
  int system_tokens = 0, fixed_min = 2048, fixed_max = 8192, input_tokens = 256;
  int review_output = 128, check_output = 128;
  int jobs = 48, concurrency = 16;
  bool agent_inputs = false;  // each agent of a job its own input (else one per job)
};

// The prompts of one workload: fixed prompts per template and role (the checker is role
// `reviewers`), one input per job.
struct Workload {
  Shape shape;
  Tokens system;
  std::vector<std::vector<Tokens>> fixed;
  std::vector<Tokens> inputs;
  std::vector<int> job_template;
  Tokens prefix(int t, int role) const {
    Tokens p = system;
    const Tokens& f = fixed[static_cast<std::size_t>(t)][static_cast<std::size_t>(role)];
    p.insert(p.end(), f.begin(), f.end());
    return p;
  }
  int roles() const { return shape.reviewers + (shape.checker ? 1 : 0); }
  const Tokens& input(int job, int role) const {
    const int i = shape.agent_inputs ? job * roles() + role : job;
    return inputs[static_cast<std::size_t>(i)];
  }
  // Prompt tokens of distinct content: the fixed prompts of the templates the jobs use,
  // once, plus the unique part of the jobs in flight (inputs, and the reviewers' outputs a
  // checker reads).
  std::int64_t distinct_tokens() const {
    std::int64_t n = std::ssize(system);
    std::vector<bool> used(fixed.size(), false);
    for (int t : job_template)
      used[static_cast<std::size_t>(t)] = true;
    for (std::size_t t = 0; t < fixed.size(); ++t) {
      for (const auto& f : fixed[t])
        n += used[t] ? std::ssize(f) : 0;
    }
    const std::int64_t per_job =
        static_cast<std::int64_t>(roles()) * shape.input_tokens +
        (shape.checker ? static_cast<std::int64_t>(shape.reviewers) * shape.review_output : 0);
    return n + per_job * shape.concurrency;
  }
};

// Random prompts (token ids in [3, vocab)) and a template per job, from `seed`.
inline Workload make_workload(const Shape& s, int vocab, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  auto tokens = [&](int n) {
    Tokens t(static_cast<std::size_t>(n));
    for (auto& x : t)
      x = static_cast<std::int32_t>(3 + rng() % static_cast<std::uint64_t>(vocab - 3));
    return t;
  };
  Workload w{s, tokens(s.system_tokens), {}, {}, {}};
  std::uniform_int_distribution<int> len(s.fixed_min, s.fixed_max);
  for (int t = 0; t < s.templates; ++t) {
    w.fixed.emplace_back();
    for (int r = 0; r < w.roles(); ++r)
      w.fixed.back().push_back(tokens(len(rng)));
  }
  // Templates come round by round, each round a shuffle of all of them: every template
  // recurs about every `templates` jobs. Drawn independently, 16 jobs over 16 templates use
  // ~10 of them once or twice, and nothing evicted is ever asked for again.
  std::vector<int> round;
  for (int j = 0; j < s.jobs; ++j) {
    for (int r = 0; r < (s.agent_inputs ? w.roles() : 1); ++r)
      w.inputs.push_back(tokens(s.input_tokens));
    if (round.empty()) {
      for (int t = s.templates - 1; t >= 0; --t)
        round.push_back(t);
      std::shuffle(round.begin(), round.end(), rng);
    }
    w.job_template.push_back(round.back());
    round.pop_back();
  }
  return w;
}

}  // namespace agentrt::bench
