// The run's scheduler: which step begins or which unit starts next (within map.concurrency
// and kMaxRunUnits), and how a step ends (its result, the step_done hook, or a failure
// that stops the run). See runner_impl.h for how threads move through it.
#include <cstdio>

#include "actors/workflow/reuse_plan.h"
#include "actors/workflow/runner_impl.h"
#include "actors/workflow/schema_output.h"

namespace agentrt::actors::workflow {
namespace {

using workflows::Value;

std::string fmt_confidence(double c) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%.2f", c);
  return buf;
}

struct Action {
  enum class Kind { none, begin, unit, complete, skip } kind = Kind::none;
  int step = 0;
  PendingUnit unit;
  int dep = -1;  // skip: the skipped dependency
};

// A finished step's output and fields from its units' outcomes, in item order.
StepResult step_result(const workflows::Step& step,
                       const std::vector<std::optional<UnitOutcome>>& outcomes) {
  StepResult result;
  std::vector<std::string> outputs, answers, confidences;
  std::map<std::string, std::vector<std::string>> extracted;
  for (const auto& o : outcomes) {
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
  std::vector<const std::string*> texts;  // output_schema: typed fields from the JSON
  for (const auto& o : outcomes)
    texts.push_back(o ? &o->output : nullptr);
  add_schema_fields(step, texts, result.fields);
  return result;
}

std::string finished_line(const StepStatus& st) {
  char buf[160];
  std::snprintf(buf, sizeof buf, "%s: %lld tokens, %d tool calls, %.1fs", to_string(st.state),
                static_cast<long long>(st.tokens), st.tool_calls, st.elapsed);
  std::string line = buf;
  if (st.attempts > 1) line += ", " + std::to_string(st.attempts) + " attempts";
  if (st.state == StepState::skipped && !st.reason.empty()) return "skipped: " + st.reason;
  return line + (st.error.empty() ? "" : ": " + st.error);
}

RunEvent finished_event(const StepStatus& st) {
  RunEvent e;
  e.kind = RunEvent::Kind::step_finished;
  e.step = st.id;
  e.data = {
      {"state", to_string(st.state)}, {"tokens", st.tokens}, {"cached_tokens", st.cached_tokens},
      {"tool_calls", st.tool_calls},  {"error", st.error},   {"elapsed", st.elapsed},
      {"attempts", st.attempts},      {"reason", st.reason}};
  e.line = finished_line(st);
  return e;
}

}  // namespace

void WorkflowRunner::Impl::cancel_jobs(const std::vector<std::shared_ptr<JobSlot>>& jobs) {
  for (const auto& slot : jobs)
    if (slot->id) slot->rt->cancel(*slot->id);  // an id is set once, before it is listed
}

void WorkflowRunner::Impl::fail_locked(int si, const Error& e,
                                       std::vector<std::shared_ptr<JobSlot>>& cancel) {
  StepRun& s = steps[static_cast<std::size_t>(si)];
  // A step keeps its first real failure over the cancels it caused.
  if (!s.error || (s.error->code == ErrorCode::cancelled && e.code != ErrorCode::cancelled))
    s.error = e;
  if (e.code != ErrorCode::cancelled && !cancelled && !first_error)
    first_error = e.with_context("step '" + wf.steps[static_cast<std::size_t>(si)].id + "'");
  if (stop) return;
  stop = true;
  cancel.insert(cancel.end(), jobs.begin(), jobs.end());
  timer.expedite();  // retry waits end now (their units end as cancelled)
}

void WorkflowRunner::Impl::pump() {
  for (;;) {
    Action a;
    {
      std::lock_guard lk(mu);
      if (finishing) return;
      const std::size_t n = wf.steps.size();
      // 1. Waiting steps: begin those whose dependencies are done; skip (or, after a
      //    cancel, cancel) those that cannot run.
      for (std::size_t i = 0; i < n && a.kind == Action::Kind::none; ++i) {
        if (status[i].state != StepState::waiting) continue;
        // A dependency skipped by its `when` (the run goes on) skips this step too, unless
        // its own `when` decides (it then reads the skipped step's output as empty).
        bool ready = true, blocked = stop;
        int skipped_dep = -1;
        for (const auto& d : dependencies[i]) {
          const StepState s = status[static_cast<std::size_t>(d.from)].state;
          ready = ready && (s == StepState::done || s == StepState::skipped);
          if (s == StepState::skipped && skipped_dep < 0) skipped_dep = d.from;
          blocked = blocked || (is_over(s) && s != StepState::done && s != StepState::skipped);
        }
        if (blocked) {
          status[i].state = cancelled ? StepState::cancelled : StepState::skipped;
          i = static_cast<std::size_t>(-1);  // a step it blocks may come earlier
        } else if (ready && skipped_dep >= 0 && !wf.steps[i].when) {
          status[i].state = StepState::running;  // skip_step ends it, with its event
          started_at[i] = std::chrono::steady_clock::now();
          a = {Action::Kind::skip, static_cast<int>(i), {}};
          a.dep = skipped_dep;
        } else if (ready) {
          status[i].state = StepState::running;
          started_at[i] = std::chrono::steady_clock::now();
          a = {Action::Kind::begin, static_cast<int>(i), {}};
        }
      }
      // 2. Running steps: start a unit where a slot is free, complete those with no unit
      //    left (or stopped, once their units have ended).
      for (std::size_t i = 0; i < n && a.kind == Action::Kind::none; ++i) {
        StepRun& s = steps[i];
        if (status[i].state != StepState::running || !s.begun || s.completing) continue;
        const bool halted = stop || s.error.has_value();
        if (!halted && !s.ready.empty() && static_cast<std::size_t>(s.active) < s.width &&
            active_units < kMaxRunUnits) {
          a = {Action::Kind::unit, static_cast<int>(i), std::move(s.ready.front())};
          s.ready.pop_front();
          ++s.active;
          ++active_units;
        } else if (s.active == 0 && s.backing_off == 0 && (halted || s.ready.empty())) {
          s.completing = true;
          a = {Action::Kind::complete, static_cast<int>(i), {}};
        }
      }
      if (a.kind == Action::Kind::none) {
        bool all_ended = true;
        for (const auto& st : status)
          all_ended = all_ended && is_over(st.state);
        finishing = all_ended;  // the last thread to leave delivers `done`
        break;
      }
    }
    switch (a.kind) {
      case Action::Kind::begin:
        begin_step(a.step);
        break;
      case Action::Kind::unit:
        start_unit(a.step, std::move(a.unit));
        break;
      case Action::Kind::complete:
        complete_step(a.step);
        break;
      case Action::Kind::skip:
        skip_step(a.step,
                  "step '" + wf.steps[static_cast<std::size_t>(a.dep)].id + "' was skipped");
        break;
      case Action::Kind::none:
        break;
    }
  }
  send_hints();
}

void WorkflowRunner::Impl::send_hints() {
  // Sent under mu, so two threads leaving pump() cannot deliver their hints out of order
  // (Runtime::hint_reuse only queues them for the engine loop).
  std::lock_guard lk(mu);
  if (hinted.size() != status.size()) return;  // start() has not planned them
  std::vector<StepState> states;
  for (const auto& st : status)
    states.push_back(st.state);
  const auto next = steps_to_next_use(dependencies, states);
  for (std::size_t i = 0; i < next.size(); ++i) {
    if (next[i] == hinted[i] || step_prefix[i].empty() || step_runtime[i] == nullptr) continue;
    hinted[i] = next[i];
    // A step whose dependencies all run now is prefetched (KVFlow): its prefix comes back
    // from the host tier while they finish.
    step_runtime[i]->hint_reuse(
        hint_base + static_cast<std::int64_t>(i),
        next[i] == kNoNextUse ? std::vector<std::int32_t>{} : step_prefix[i], next[i],
        next[i] == 1);
  }
}

void WorkflowRunner::Impl::begin_step(int si) {
  const auto i = static_cast<std::size_t>(si);
  const auto& step = wf.steps[i];
  if (auto it = resume.steps.find(si); it != resume.steps.end()) {
    // Finished before: its result stands as if it had run now (no hooks, no events).
    std::lock_guard lk(mu);
    results[i] = it->second;
    StepStatus st = it->second.status;
    st.id = step.id;
    st.kind = step.kind();
    st.state = StepState::done;
    status[i] = results[i].status = st;
    steps[i].begun = steps[i].completing = true;
    return;
  }
  if (check_when(si)) return;  // skipped, or its condition failed
  RunEvent begun;
  begun.kind = RunEvent::Kind::step_started;
  begun.step = step.id;
  begun.line = "started";
  emit(begun);

  StepRun run;
  std::optional<Error> error;
  if (step.map) {
    auto over =
        step.map->over.tpl.render([&](const std::vector<std::string>& p) { return lookup(p, {}); });
    auto items = over.ok() ? over->to_items("step '" + step.id + "': map.over")  // caps
                           : Result<std::vector<std::string>>(over.error());
    if (items.ok()) {
      for (auto& item : *items)
        run.items.push_back({{step.map->as, Value(item)}});
    } else {
      error = items.error();
    }
  } else {
    run.items.push_back({});
  }
  if (step.loop) {
    auto until = workflows::Pattern::compile(step.loop->until.empty() ? "(?!)" : step.loop->until);
    if (until.ok()) run.until = *until;  // the validator checked it
  }
  run.outcomes.resize(run.items.size());
  run.width = step.map && step.map->concurrency > 0
                  ? static_cast<std::size_t>(step.map->concurrency)
                  : std::max<std::size_t>(run.items.size(), 1);
  int units_total = static_cast<int>(run.items.size()), units_done = 0;
  std::vector<SampleSummary> resumed_samples;
  if (step.loop && !step.map) {
    // A loop resumes after its last consecutive finished iteration.
    int k = 0;
    const UnitOutcome* last = nullptr;
    for (auto it = resume.units.find({si, k}); it != resume.units.end();
         it = resume.units.find({si, ++k}))
      last = &it->second;
    units_total = std::max(k, 1);
    if (!last) {
      run.ready.push_back({0, 0, ""});
    } else {
      run.outcomes[0] = *last;
      const bool over =
          k >= step.loop->max_iterations || (run.until && run.until->matches(last->output));
      if (over) {
        units_done = 1;
        resumed_samples = last->samples;
      } else {
        run.ready.push_back({0, k, last->output});
      }
    }
  } else {
    for (std::size_t u = 0; u < run.items.size(); ++u) {
      auto it = resume.units.find({si, static_cast<int>(u)});
      if (step.map && it != resume.units.end()) {
        run.outcomes[u] = it->second;
        ++units_done;
        resumed_samples.insert(resumed_samples.end(), it->second.samples.begin(),
                               it->second.samples.end());
      } else {
        run.ready.push_back({static_cast<int>(u), 0, ""});
      }
    }
  }
  std::vector<std::shared_ptr<JobSlot>> cancel;
  {
    std::lock_guard lk(mu);
    run.begun = true;
    steps[i] = std::move(run);
    status[i].units_total = units_total;
    status[i].units_done = units_done;
    if (step.best_of) {
      status[i].samples_total += static_cast<int>(resumed_samples.size());
      status[i].samples_done += static_cast<int>(resumed_samples.size());
    }
    ended[i].insert(ended[i].end(), resumed_samples.begin(), resumed_samples.end());
    if (error) fail_locked(si, *error, cancel);
  }
  cancel_jobs(cancel);
}

void WorkflowRunner::Impl::complete_step(int si) {
  const auto i = static_cast<std::size_t>(si);
  const auto& step = wf.steps[i];
  std::optional<Error> error;
  std::vector<std::optional<UnitOutcome>> outcomes;
  {
    std::lock_guard lk(mu);
    error = steps[i].error;
    outcomes = std::move(steps[i].outcomes);
    for (const auto& o : outcomes)
      if (!o && !error) error = make_error(ErrorCode::cancelled, "cancelled before it started");
    // A loop stopped between iterations left a ready entry: it did not finish either.
    if (!steps[i].ready.empty() && !error)
      error = make_error(ErrorCode::cancelled, "cancelled before it started");
  }
  // The step's final status. The hook and the step_finished event come before the step
  // counts as ended, so a dependent's events (and the run's end) always follow them.
  StepResult result;
  if (!error) result = step_result(step, outcomes);
  bool was_cancelled = false;
  {
    std::lock_guard lk(mu);
    if (error) result.samples = ended[i];  // what had finished is kept
    result.status = status[i];
    was_cancelled = cancelled;
  }
  StepStatus& st = result.status;
  st.elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started_at[i]).count();
  if (!error) {
    st.state = StepState::done;
    st.activity = "done";
    // The server writes the step's checkpoint here.
    if (hooks.step_done) hooks.step_done(si, result);
  } else {
    st.state = error->code == ErrorCode::cancelled || was_cancelled ? StepState::cancelled
                                                                    : StepState::failed;
    st.error = error->message;
  }
  emit(finished_event(st));
  std::lock_guard lk(mu);
  status[i] = st;
  results[i] = std::move(result);
}

}  // namespace agentrt::actors::workflow
