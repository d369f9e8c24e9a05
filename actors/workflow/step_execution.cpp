// Units of a step on the runtime: rendering a unit's input, starting its agent run or
// best-of (Runtime::start_agent / start_best_of), and what its end does (the unit_done
// hook, the next loop iteration, a failure); progress and events; the run's jobs.
#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "actors/workflow/runner_impl.h"
#include "actors/workflow/schema_output.h"
#include "workflows/pattern.h"

namespace agentrt::actors::workflow {
namespace {

using workflows::Value;

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

UnitOutcome agent_outcome(const AgentResult& r, int unit) {
  UnitOutcome u;
  u.output = r.output;
  u.samples.push_back({r.stop == StopReason::final_answer, std::nullopt, r.generated_tokens,
                       r.tool_calls, "", messages_json(r.conversation), unit, -1, r.tool_records});
  return u;
}

// With output_schema: the unit fails when its output is not JSON of the schema.
Result<UnitOutcome> checked(const workflows::Step& step, UnitOutcome u, StopReason stop) {
  if (!step.output_schema) return u;
  auto v = check_output(*step.output_schema, u.output, stop);
  if (!v.ok()) return v.error();
  return u;
}

UnitOutcome best_of_outcome(const BestOfResult& r, int unit) {
  UnitOutcome u;
  u.output = r.output;
  u.answer = r.answer;
  u.confidence = r.samples.empty() ? 0.0 : static_cast<double>(r.votes) / r.samples.size();
  for (std::size_t i = 0; i < r.samples.size(); ++i) {
    const auto& s = r.samples[i];
    u.samples.push_back({s.finished, s.answer, s.result.generated_tokens, s.result.tool_calls,
                         s.error, messages_json(s.result.conversation), unit, static_cast<int>(i),
                         s.result.tool_records});
  }
  return u;
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
    auto it = inputs.find(p[1]);
    if (it != inputs.end()) return it->second;
    return std::nullopt;
  }
  if (p.size() == 3 && p[0] == "steps") {
    const int j = wf.step_index(p[1]);
    if (j < 0) return std::nullopt;
    std::lock_guard lk(mu);
    const auto& r = results[static_cast<std::size_t>(j)];
    // A step skipped by `when` reads as empty (a run that failed has no outputs to render).
    if (status[static_cast<std::size_t>(j)].state == StepState::skipped) return Value("");
    if (status[static_cast<std::size_t>(j)].state != StepState::done) return std::nullopt;
    if (p[2] == "output") return r.output;
    auto f = r.fields.find(p[2]);
    if (f != r.fields.end()) return f->second;
    if (p[2] == "tool_results") {  // the results its agents' tool calls returned, in order
      std::vector<std::string> texts;
      for (const auto& smp : r.samples)
        for (const auto& rec : smp.tool_records)
          if (rec.ok) texts.push_back(rec.result);
      return Value(std::move(texts));
    }
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
  std::vector<std::string> names;
  for (const auto& t : a.tools)
    names.push_back(t.name);
  if (job_tools) {  // an MCP server's key stands for its tools
    s.tools = job_tools->expand(names);
    s.tool_registry = job_tools->registry();
  } else {
    s.tools = std::move(names);
  }
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

std::shared_ptr<JobSlot> WorkflowRunner::Impl::add_slot(Runtime* rt) {
  auto slot = std::make_shared<JobSlot>();
  slot->rt = rt;
  return slot;
}

void WorkflowRunner::Impl::set_job_id(const std::shared_ptr<JobSlot>& slot, JobId id) {
  {
    std::lock_guard lk(mu);
    if (slot->ended) return;  // its done came first
    slot->id = id;
    jobs.insert(slot);
    if (!stop) return;
  }
  slot->rt->cancel(id);  // the run stopped while it was starting
}

void WorkflowRunner::Impl::end_slot(const std::shared_ptr<JobSlot>& slot) {
  std::lock_guard lk(mu);
  slot->ended = true;
  jobs.erase(slot);
  if (slot->timer) timer.cancel(slot->timer);
}

void WorkflowRunner::Impl::emit(const RunEvent& e) const {
  if (hooks.event) hooks.event(e);
}

void WorkflowRunner::Impl::on_progress(int si, int unit, const Progress& p) {
  const auto i = static_cast<std::size_t>(si);
  RunEvent e;
  e.step = wf.steps[i].id;
  e.unit = unit;
  e.sample = p.sample;
  {
    std::lock_guard lk(mu);
    if (finishing) return;
    auto& st = status[i];
    auto& seen = tokens_seen[{si, p.job, p.sample}];
    st.tokens += p.generated_tokens - seen.first;
    st.cached_tokens += p.cached_tokens - seen.second;
    seen = {p.generated_tokens, p.cached_tokens};
    const std::string who = p.sample >= 0 ? "sample " + std::to_string(p.sample) + ": " : "";
    if (p.kind == ProgressKind::state) {
      st.activity = p.text;
      return;
    } else if (p.kind == ProgressKind::tool_call && p.call) {
      ++st.tool_calls;
      e.kind = RunEvent::Kind::tool_call;
      e.data = {{"name", p.call->name}, {"arguments", p.call->arguments}};
      e.line = who + "call " + p.call->name + " " + p.call->arguments.dump();
    } else if (p.kind == ProgressKind::tool_result && p.call) {
      e.kind = RunEvent::Kind::tool_result;
      e.data = {{"name", p.call->name}, {"result", p.text}, {"duration_ms", p.duration_ms}};
      char took[32];
      std::snprintf(took, sizeof took, " (%.1f ms)", p.duration_ms);
      e.line = who + p.call->name + " -> " + p.text + took;
    } else if (p.kind == ProgressKind::sample_done && p.sample_result) {
      const SampleResult& s = *p.sample_result;
      ended[i].push_back({s.finished, s.answer, s.result.generated_tokens, s.result.tool_calls,
                          s.error, messages_json(s.result.conversation), unit, p.sample,
                          s.result.tool_records});
      ++st.samples_done;
      e.kind = RunEvent::Kind::sample_finished;
      e.data = {{"answer", s.answer ? nlohmann::json(*s.answer) : nlohmann::json()},
                {"tokens", s.result.generated_tokens},
                {"finished", s.finished},
                {"error", s.error}};
      e.line = who + (s.error.empty() ? "finished" : "failed: " + s.error) + " (" +
               std::to_string(st.samples_done) + "/" + std::to_string(st.samples_total) + ")";
    } else {
      return;  // streamed text: no event
    }
  }
  emit(e);
}

Result<BestOfSpec> WorkflowRunner::Impl::best_of_spec(const workflows::Step& step,
                                                      AgentSpec& agent) const {
  const auto& b = *step.best_of;
  BestOfSpec spec;
  spec.n = b.n;
  if (b.n_template) {
    auto n = render(*b.n_template, {});
    if (!n.ok()) return n.error();
    auto v = render_int(*n, "best_of.n", 1, kMaxBestOfSamples);
    if (!v.ok()) return v.error();
    spec.n = *v;
  }
  if (b.temperature) agent.sampling.temperature = static_cast<float>(*b.temperature);
  if (b.temperature_template) {
    auto t = render(*b.temperature_template, {});
    if (!t.ok()) return t.error();
    char* end = nullptr;
    const double v = std::strtod(t->c_str(), &end);
    if (t->empty() || *end != '\0' || v < 0 || v > 100)
      return make_error(ErrorCode::invalid_argument,
                        "best_of.temperature: expected a number >= 0, got '" + *t + "'");
    agent.sampling.temperature = static_cast<float>(v);
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
  return spec;
}

void WorkflowRunner::Impl::start_unit(int si, PendingUnit pu) {
  const auto i = static_cast<std::size_t>(si);
  const auto& step = wf.steps[i];
  // Progress and samples name the loop iteration of a plain loop, else the map item.
  const int unit = step.loop && !step.map ? pu.iteration : pu.item;
  Extras extras;
  {
    std::lock_guard lk(mu);
    extras = steps[i].items[static_cast<std::size_t>(pu.item)];
    if (step.loop && !step.map) status[i].units_total = std::max(status[i].units_total, unit + 1);
    status[i].attempts = std::max(status[i].attempts, pu.attempt);
  }
  if (step.loop) {
    extras["loop.index"] = Value(std::to_string(pu.iteration));
    extras["loop.previous"] = Value(pu.previous);
  }
  std::vector<TextSpan> input_marks;
  auto input = render_marked(step.input, extras, input_marks);
  if (!input.ok()) return unit_ended(si, pu, input.error());
  const workflows::AgentSpec* wa = wf.find_agent(step.agent.name);
  if (!wa)
    return unit_ended(si, pu,
                      make_error(ErrorCode::invalid_argument, "unknown agent " + step.agent.name));
  Runtime* rt = runtimes.at(wf.model_of(*wa)->name);
  auto agent = agent_spec(*wa);
  if (!agent.ok()) return unit_ended(si, pu, agent.error());
  agent->program = programs.at(rt);
  set_kv_reuse(*agent, *wa, step, *input, std::move(input_marks));
  if (step.output_schema) {
    auto constraint = output_constraint(*step.output_schema, *rt);
    if (!constraint.ok()) return unit_ended(si, pu, constraint.error());
    agent->output_constraint = std::move(*constraint);
    agent->output_schema = step.output_schema->json;
    // With tools the schema comes with the constrained turn that asks for the JSON answer
    // (agent_actor.h); the tool loop's prompt stays as written.
    if (agent->tools.empty()) *input += schema_prompt(*step.output_schema);
  }
  auto self = shared_from_this();
  ProgressFn progress = [self, si, unit](const Progress& p) {
    self->enter();
    self->on_progress(si, unit, p);
    self->leave();
  };
  auto slot = add_slot(rt);
  Result<JobId> job = make_error(ErrorCode::internal, "not started");
  if (!step.best_of) {
    job = rt->start_agent(
        *agent, *input, std::move(progress),
        [self, si, pu, unit, slot, &step](Result<AgentResult> r) {
          self->enter();
          self->end_slot(slot);
          self->unit_ended(si, pu,
                           r.ok() ? checked(step, agent_outcome(*r, unit), r->stop)
                                  : Result<UnitOutcome>(self->unit_error(si, slot, r.error())));
          self->leave();
        });
  } else {
    auto spec = best_of_spec(step, *agent);
    if (!spec.ok()) return unit_ended(si, pu, spec.error());
    if (spec->verifier) {
      spec->verifier->program = agent->program;
      set_kv_reuse(*spec->verifier, *wf.find_agent(step.best_of->verifier.name), step, "", {});
    }
    {
      std::lock_guard lk(mu);
      status[i].samples_total += spec->n;
    }
    job = rt->start_best_of(
        *agent, *input, *spec, std::move(progress),
        [self, si, pu, unit, slot, &step](Result<BestOfResult> r) {
          self->enter();
          self->end_slot(slot);
          self->unit_ended(si, pu,
                           r.ok()
                               ? checked(step, best_of_outcome(*r, unit), StopReason::final_answer)
                               : Result<UnitOutcome>(self->unit_error(si, slot, r.error())));
          self->leave();
        });
  }
  if (!job.ok()) return unit_ended(si, pu, job.error());
  set_job_id(slot, *job);
  arm_timeout(si, slot);
}

void WorkflowRunner::Impl::unit_ended(int si, const PendingUnit& pu, Result<UnitOutcome> r) {
  const auto i = static_cast<std::size_t>(si);
  const auto& step = wf.steps[i];
  std::vector<std::shared_ptr<JobSlot>> cancel;
  if (!r.ok()) {
    RunEvent retry;
    std::chrono::milliseconds wait{0};
    bool again = false;
    {
      std::lock_guard lk(mu);
      --steps[i].active;
      --active_units;
      again = retry_locked(si, pu, r.error(), retry, wait);
      if (!again)
        fail_locked(si,
                    pu.attempt > 1 ? r.error().with_context("after " + std::to_string(pu.attempt) +
                                                            " attempts")
                                   : r.error(),
                    cancel);
    }
    cancel_jobs(cancel);
    if (again) {
      emit(retry);
      PendingUnit next = pu;
      ++next.attempt;
      schedule_retry(si, std::move(next), wait);
    }
    return pump();
  }
  bool more = false;  // the loop goes on
  if (step.loop) {
    std::optional<workflows::Pattern> until;
    {
      std::lock_guard lk(mu);
      until = steps[i].until;
    }
    more = pu.iteration + 1 < step.loop->max_iterations && !(until && until->matches(r->output));
  }
  // A map item (when its loop, if any, ends) or a plain loop's iteration: checkpointed
  // before it counts as done.
  const bool per_iteration = step.loop && !step.map;
  if (per_iteration || (step.map && !more)) {
    const int unit = per_iteration ? pu.iteration : pu.item;
    if (hooks.unit_done) hooks.unit_done(si, unit, *r);
    RunEvent e;
    e.kind = RunEvent::Kind::unit_finished;
    e.step = step.id;
    e.unit = unit;
    std::int64_t tokens = 0;
    for (const auto& smp : r->samples)
      tokens += smp.tokens;
    e.data = {{"output", r->output}, {"tokens", tokens}};
    emit(e);
  }
  {
    std::lock_guard lk(mu);
    StepRun& s = steps[i];
    --s.active;
    --active_units;
    if (more) {
      s.ready.push_front({pu.item, pu.iteration + 1, r->output});
    } else {
      ++status[i].units_done;
      // A plain unit that ended is kept for a run that is cancelled later (best-of samples
      // arrive through on_progress).
      if (!step.best_of) ended[i].insert(ended[i].end(), r->samples.begin(), r->samples.end());
    }
    s.outcomes[static_cast<std::size_t>(pu.item)] = std::move(*r);
  }
  pump();
}

}  // namespace agentrt::actors::workflow
