// Running one step: an agent run or best-of per unit, a map over items (bounded
// concurrency), or a loop until a pattern matches; fields extracted from the outputs.
#include <atomic>
#include <cstdio>
#include <future>
#include <thread>

#include "actors/workflow/runner_impl.h"
#include "workflows/pattern.h"

namespace agentrt::actors::workflow {
namespace {

using workflows::Value;

std::string fmt_confidence(double c) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%.2f", c);
  return buf;
}

Result<int> render_int(const std::string& text, const std::string& what, int lo, int hi) {
  char* end = nullptr;
  const long v = std::strtol(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || v < lo || v > hi)
    return make_error(ErrorCode::invalid_argument,
                      what + ": expected an integer in [" + std::to_string(lo) + ", " +
                          std::to_string(hi) + "], got '" + text + "'");
  return static_cast<int>(v);
}

Aggregation aggregation_of(workflows::Aggregate a) {
  switch (a) {
    case workflows::Aggregate::majority:
      return Aggregation::majority_vote;
    case workflows::Aggregate::logprob:
      return Aggregation::max_mean_logprob;
    case workflows::Aggregate::verifier:
      return Aggregation::verifier_agent;
    case workflows::Aggregate::scorer:
      return Aggregation::scorer_tool;
  }
  return Aggregation::majority_vote;
}

// Waits for an asynchronous job while it is registered for cancel().
template <class R, class Start>
Result<R> await_job(WorkflowRunner::Impl& impl, Runtime* rt, Start start) {
  auto promise = std::make_shared<std::promise<Result<R>>>();
  auto future = promise->get_future();
  Result<JobId> job = start([promise](Result<R> r) { promise->set_value(std::move(r)); });
  if (!job.ok()) return job.error();
  impl.track(rt, *job);
  Result<R> r = future.get();
  impl.untrack(rt, *job);
  return r;
}

}  // namespace

// OpenAI-style messages: role, content, and the assistant's tool calls.
std::string messages_json(const chat::Conversation& c) {
  chat::Json out = chat::Json::array();
  for (const auto& m : c.messages) {
    chat::Json j = {{"role", chat::to_string(m.role)}, {"content", m.content}};
    for (const auto& t : m.tool_calls)
      j["tool_calls"].push_back({{"name", t.name}, {"arguments", t.arguments}});
    out.push_back(std::move(j));
  }
  return out.dump(-1, ' ', false, chat::Json::error_handler_t::replace);
}

std::optional<Value> WorkflowRunner::Impl::lookup(const std::vector<std::string>& p,
                                                  const Extras& extras) const {
  if (p.size() == 2 && p[0] == "inputs") {
    auto it = inputs->find(p[1]);
    if (it != inputs->end()) return it->second;
    return std::nullopt;
  }
  if (p.size() == 3 && p[0] == "steps") {
    const int j = wf.step_index(p[1]);
    if (j < 0) return std::nullopt;
    std::lock_guard lk(mu);
    const auto& r = results[static_cast<std::size_t>(j)];
    if (status[static_cast<std::size_t>(j)].state != StepState::done) return std::nullopt;
    if (p[2] == "output") return r.output;
    auto f = r.fields.find(p[2]);
    if (f != r.fields.end()) return f->second;
    return std::nullopt;
  }
  std::string key;
  for (std::size_t i = 0; i < p.size(); ++i)
    key += (i ? "." : "") + p[i];
  auto it = extras.find(key);
  if (it != extras.end()) return it->second;
  return std::nullopt;
}

Result<std::string> WorkflowRunner::Impl::render(const workflows::TemplateText& t,
                                                 const Extras& extras) const {
  auto v = t.tpl.render([&](const std::vector<std::string>& p) { return lookup(p, extras); });
  if (!v.ok()) return v.error();
  return v->to_text();
}

Result<AgentSpec> WorkflowRunner::Impl::agent_spec(const workflows::AgentSpec& a) const {
  AgentSpec s;
  s.name = a.name;
  auto system = render(a.system, {});
  if (!system.ok()) return system.error().with_context("agent '" + a.name + "' system");
  s.system_prompt = *system;
  for (const auto& t : a.tools)
    s.tools.push_back(t.name);
  s.sampling.temperature = static_cast<float>(a.sampling.temperature);
  s.sampling.top_p = static_cast<float>(a.sampling.top_p);
  s.sampling.top_k = a.sampling.top_k;
  s.sampling.min_p = static_cast<float>(a.sampling.min_p);
  s.sampling.max_tokens = a.sampling.max_tokens;
  s.sampling.seed = a.sampling.seed;
  s.max_turns = a.max_turns;
  s.enable_thinking = false;  // tiny-calc's documented render option; Qwen3 "no think"
  return s;
}

void WorkflowRunner::Impl::track(Runtime* rt, JobId job) {
  bool cancel_now = false;
  {
    std::lock_guard lk(mu);
    jobs.insert({rt, job});
    cancel_now = cancelled || stop;
  }
  if (cancel_now) rt->cancel(job);
}

void WorkflowRunner::Impl::untrack(Runtime* rt, JobId job) {
  std::lock_guard lk(mu);
  jobs.erase({rt, job});
}

Result<UnitOutcome> WorkflowRunner::Impl::run_unit(int si, int unit, const std::string& input) {
  const auto& step = wf.steps[static_cast<std::size_t>(si)];
  const workflows::AgentSpec* wa = wf.find_agent(step.agent.name);
  if (!wa) return make_error(ErrorCode::invalid_argument, "unknown agent " + step.agent.name);
  Runtime* rt = runtimes.at(wf.model_of(*wa)->name);
  auto agent = agent_spec(*wa);
  if (!agent.ok()) return agent.error();
  ProgressFn progress = [this, si, unit](const Progress& p) { on_progress(si, unit, p); };
  if (!step.best_of) {
    auto r = await_job<AgentResult>(*this, rt, [&](auto done) {
      return rt->start_agent(*agent, input, progress, std::move(done));
    });
    if (!r.ok()) return r.error();
    UnitOutcome u;
    u.output = r->output;
    u.samples.push_back({r->stop == StopReason::final_answer, std::nullopt, r->generated_tokens,
                         r->tool_calls, "", messages_json(r->conversation), unit, -1});
    return u;
  }
  const auto& b = *step.best_of;
  BestOfSpec spec;
  spec.n = b.n;
  if (b.n_template) {
    auto n = render(*b.n_template, {});
    if (!n.ok()) return n.error();
    auto v = render_int(*n, "best_of.n", 1, 1024);
    if (!v.ok()) return v.error();
    spec.n = *v;
  }
  if (b.temperature) agent->sampling.temperature = static_cast<float>(*b.temperature);
  if (b.temperature_template) {
    auto t = render(*b.temperature_template, {});
    if (!t.ok()) return t.error();
    char* end = nullptr;
    const double v = std::strtod(t->c_str(), &end);
    if (t->empty() || *end != '\0' || v < 0 || v > 100)
      return make_error(ErrorCode::invalid_argument,
                        "best_of.temperature: expected a number >= 0, got '" + *t + "'");
    agent->sampling.temperature = static_cast<float>(v);
  }
  spec.aggregation = aggregation_of(b.aggregate);
  spec.answer_regex = b.answer;
  spec.first_k = b.early_stop;
  if (!b.verifier.name.empty()) {
    auto v = agent_spec(*wf.find_agent(b.verifier.name));
    if (!v.ok()) return v.error();
    spec.verifier = *v;
  }
  spec.scorer_tool = b.scorer.name;
  {
    std::lock_guard lk(mu);
    status[static_cast<std::size_t>(si)].samples_total += spec.n;
  }
  auto r = await_job<BestOfResult>(*this, rt, [&](auto done) {
    return rt->start_best_of(*agent, input, spec, progress, std::move(done));
  });
  if (!r.ok()) return r.error();
  UnitOutcome u;
  u.output = r->output;
  u.answer = r->answer;
  u.confidence = r->samples.empty() ? 0.0 : static_cast<double>(r->votes) / r->samples.size();
  for (std::size_t i = 0; i < r->samples.size(); ++i) {
    const auto& s = r->samples[i];
    u.samples.push_back({s.finished, s.answer, s.result.generated_tokens, s.result.tool_calls,
                         s.error, messages_json(s.result.conversation), unit, static_cast<int>(i)});
  }
  return u;
}

void WorkflowRunner::Impl::run_units(std::size_t count, std::size_t width,
                                     const std::function<void(std::size_t)>& run_one) {
  std::atomic<std::size_t> next{0};
  auto drain = [&] {
    for (std::size_t u; (u = next++) < count;) {
      {
        std::lock_guard lk(mu);
        if (stop) continue;  // the run failed or was cancelled: start nothing new
      }
      run_one(u);
    }
  };
  int extra = 0;
  {
    std::lock_guard lk(mu);
    const std::size_t want = std::min(count, width);
    extra = static_cast<int>(std::min<std::size_t>(
        want > 0 ? want - 1 : 0, static_cast<std::size_t>(kMaxUnitThreads - unit_threads)));
    unit_threads += extra;
  }
  std::vector<std::thread> pool;
  pool.reserve(static_cast<std::size_t>(extra));
  for (int t = 0; t < extra; ++t)
    pool.emplace_back(drain);
  drain();
  for (auto& t : pool)
    t.join();
  std::lock_guard lk(mu);
  unit_threads -= extra;
}

Result<StepResult> WorkflowRunner::Impl::execute(int si) {
  const auto& step = wf.steps[static_cast<std::size_t>(si)];
  std::vector<Extras> units;  // the extras of each unit, in order
  if (step.map) {
    auto over =
        step.map->over.tpl.render([&](const std::vector<std::string>& p) { return lookup(p, {}); });
    if (!over.ok()) return over.error();
    auto items = over->to_items("step '" + step.id + "': map.over");  // item and byte caps
    if (!items.ok()) return items.error();
    for (auto& item : *items)
      units.push_back({{step.map->as, Value(item)}});
  } else {
    units.push_back({});
  }
  {
    std::lock_guard lk(mu);
    status[static_cast<std::size_t>(si)].units_total = static_cast<int>(units.size());
  }
  std::vector<Result<UnitOutcome>> outcomes(
      units.size(), make_error(ErrorCode::cancelled, "cancelled before it started"));
  auto run_one = [&](std::size_t u) {
    if (!step.loop) {
      auto input = render(step.input, units[u]);
      outcomes[u] = input.ok() ? run_unit(si, static_cast<int>(u), *input) : input.error();
    } else {
      auto until =
          workflows::Pattern::compile(step.loop->until.empty() ? "(?!)" : step.loop->until);
      std::string previous;
      for (int i = 0; i < step.loop->max_iterations; ++i) {
        Extras e = units[u];
        e["loop.index"] = Value(std::to_string(i));
        e["loop.previous"] = Value(previous);
        auto input = render(step.input, e);
        outcomes[u] = input.ok() ? run_unit(si, i, *input) : input.error();
        if (!outcomes[u].ok()) break;
        previous = outcomes[u]->output;
        {
          std::lock_guard lk(mu);
          status[static_cast<std::size_t>(si)].units_total = i + 1;
        }
        if (until.ok() && until->matches(previous)) break;
      }
    }
    std::lock_guard lk(mu);
    ++status[static_cast<std::size_t>(si)].units_done;
    // A plain unit that ended is kept for a run that is cancelled later (best-of samples
    // arrive through on_progress).
    if (outcomes[u].ok() && !step.best_of)
      for (const auto& smp : outcomes[u]->samples)
        ended[static_cast<std::size_t>(si)].push_back(smp);
  };
  const std::size_t width = step.map && step.map->concurrency > 0
                                ? static_cast<std::size_t>(step.map->concurrency)
                                : units.size();
  run_units(units.size(), width, run_one);
  StepResult result;
  std::vector<std::string> outputs, answers, confidences;
  std::map<std::string, std::vector<std::string>> extracted;
  for (auto& o : outcomes) {
    if (!o.ok()) return o.error();
    outputs.push_back(o->output);
    answers.push_back(o->answer.value_or(""));
    confidences.push_back(fmt_confidence(o->confidence));
    for (const auto& x : step.extract) {
      auto p = workflows::Pattern::compile(x.regex);
      extracted[x.name].push_back(p.ok() ? p->extract_last(o->output).value_or("") : "");
    }
    result.samples.insert(result.samples.end(), o->samples.begin(), o->samples.end());
  }
  auto pack = [&](std::vector<std::string> v) {
    return step.map ? Value(std::move(v)) : Value(v.empty() ? "" : v.front());
  };
  result.output = pack(outputs);
  if (step.best_of) {
    result.fields["answer"] = pack(answers);
    result.fields["confidence"] = pack(confidences);
  }
  for (auto& [name, values] : extracted)
    result.fields[name] = pack(values);
  return result;
}

}  // namespace agentrt::actors::workflow
