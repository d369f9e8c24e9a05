// WorkflowRunner: its models (from the RuntimePool), start / run / cancel, entering and
// leaving the run, and the outcome.
#include "actors/workflow/workflow_runner.h"

#include <atomic>
#include <filesystem>
#include <future>
#include <set>
#include <thread>

#include "actors/workflow/reuse_plan.h"
#include "actors/workflow/runner_impl.h"
#include "actors/workflow/workflow_tools.h"

namespace agentrt::actors::workflow {

const char* to_string(StepState s) {
  switch (s) {
    case StepState::waiting:
      return "waiting";
    case StepState::running:
      return "running";
    case StepState::done:
      return "done";
    case StepState::failed:
      return "failed";
    case StepState::cancelled:
      return "cancelled";
    case StepState::skipped:
      return "skipped";
  }
  return "?";
}

const char* to_string(RunEvent::Kind k) {
  switch (k) {
    case RunEvent::Kind::step_started:
      return "step_started";
    case RunEvent::Kind::step_finished:
      return "step_finished";
    case RunEvent::Kind::tool_call:
      return "tool_call";
    case RunEvent::Kind::tool_result:
      return "tool_result";
    case RunEvent::Kind::sample_finished:
      return "sample_finished";
    case RunEvent::Kind::unit_finished:
      return "unit_finished";
    case RunEvent::Kind::unit_retry:
      return "unit_retry";
    case RunEvent::Kind::line:
      return "line";
  }
  return "?";
}

std::string resolve_model_dir(const workflows::Workflow& wf, const workflows::ModelSpec& m,
                              const RunnerOptions& options) {
  const bool is_default = m.name == "default" || wf.models.size() == 1;
  if (is_default && !options.model_dir.empty()) return options.model_dir;
  if (m.path.empty()) return options.fallback_model_dir;
  std::filesystem::path p(m.path);
  if (p.is_relative()) p = std::filesystem::path(wf.file).parent_path() / p;
  return p.lexically_normal().string();
}

Result<std::unique_ptr<WorkflowRunner>> WorkflowRunner::create(const workflows::Workflow& wf,
                                                               const RunnerOptions& options,
                                                               RuntimePool& pool) {
  auto impl = std::make_shared<Impl>();
  impl->wf = wf;
  impl->opt = options;
  impl->dependencies = workflows::step_dependencies(wf);
  for (const auto& a : wf.agents) {
    const workflows::ModelSpec* m = wf.model_of(a);
    if (!m) return make_error(ErrorCode::invalid_argument, "agent '" + a.name + "': no model");
    if (impl->runtimes.count(m->name)) continue;
    const bool is_default = m->name == "default" || wf.models.size() == 1;
    ModelKey key;
    key.dir = resolve_model_dir(wf, *m, options);
    key.backend = is_default && !options.backend.empty() ? options.backend : m->backend;
    key.device = m->device;
    key.kv_blocks = options.kv_blocks > 0 ? options.kv_blocks : m->kv_blocks;  // 0: the pool's
    key.threads = options.threads > 0 ? options.threads : m->threads;
    // Live requests per engine; agents, map items and best-of samples beyond it wait.
    key.max_live_requests =
        options.max_live_requests > 0 ? options.max_live_requests : kDefaultRunnerLiveRequests;
    key.weight_check = options.weight_check;
    auto rt = pool.get(key);
    if (!rt.ok()) return rt.error().with_context("model '" + m->name + "' (" + key.dir + ")");
    impl->runtimes[m->name] = *rt;
    // The run's own tools (its settings, custom commands, MCP servers started here and
    // stopped with the runner), over the first runtime's registry: one set for all models.
    if (!impl->job_tools) {
      auto jt = mcp::JobTools::start((*rt)->tools(), job_tool_decls(wf));
      if (!jt.ok()) return jt.error().with_context("workflow tools");
      impl->job_tools = std::move(*jt);
    }
    if (!impl->programs.count(*rt))
      impl->programs[*rt] =
          options.program.empty() ? (*rt)->new_program() : Runtime::program_of_key(options.program);
  }
  return std::unique_ptr<WorkflowRunner>(new WorkflowRunner(std::move(impl)));
}

WorkflowRunner::WorkflowRunner(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

WorkflowRunner::~WorkflowRunner() {
  cancel();
  std::unique_lock lk(impl_->mu);
  if (!impl_->started || impl_->done_thread == std::this_thread::get_id()) return;
  impl_->cv.wait(lk, [&] { return impl_->delivered; });
}

void WorkflowRunner::Impl::enter() {
  std::lock_guard lk(mu);
  ++inside;
}

void WorkflowRunner::Impl::leave() {
  {
    std::lock_guard lk(mu);
    --inside;
    if (!finishing || inside > 0 || done_called) return;
    done_called = true;
    done_thread = std::this_thread::get_id();
  }
  auto fn = std::move(done);
  done = nullptr;
  if (fn) fn(make_outcome());
  // The caller holds a reference to this Impl (a callback's, or the runner's own).
  std::lock_guard lk(mu);
  delivered = true;
  cv.notify_all();
}

WorkflowOutcome WorkflowRunner::Impl::make_outcome() {
  WorkflowOutcome out;
  std::vector<Runtime*> used;
  {
    std::lock_guard lk(mu);
    out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    out.steps = results;
    for (std::size_t i = 0; i < out.steps.size(); ++i)
      out.steps[i].status = status[i];  // skipped and cancelled steps never finished
    if (cancelled) {
      out.status = make_error(ErrorCode::cancelled, "cancelled");
    } else if (first_error) {
      out.status = *first_error;
    }
  }
  if (out.status.ok()) {
    if (wf.outputs.empty()) {
      for (const auto& r : out.steps)
        out.outputs.emplace_back(r.status.id, r.output);
    }
    for (const auto& o : wf.outputs) {
      auto v = o.value.tpl.render([&](const std::vector<std::string>& p) { return lookup(p, {}); });
      if (!v.ok()) {
        out.status = v.error().with_context("output '" + o.name + "'");
        break;
      }
      out.outputs.emplace_back(o.name, std::move(*v));
    }
  }
  std::set<Runtime*> seen;  // two models of one directory share a runtime
  for (const auto& [name, rt] : runtimes)
    if (seen.insert(rt).second) out.metrics.push_back(rt->metrics());
  return out;
}

Status WorkflowRunner::start(const workflows::InputValues& inputs, RunHooks hooks,
                             ResumeState resume, std::function<void(WorkflowOutcome)> done) {
  Impl& m = *impl_;
  const std::size_t n = m.wf.steps.size();
  {
    std::lock_guard lk(m.mu);
    if (m.started)
      return make_error(ErrorCode::invalid_argument, "workflow runner: a run was already started");
    m.started = true;
    m.inputs = inputs;
    m.hooks = std::move(hooks);
    m.resume = std::move(resume);
    m.done = std::move(done);
    m.status.assign(n, StepStatus{});
    m.results.assign(n, StepResult{});
    m.started_at.assign(n, {});
    m.steps.assign(n, StepRun{});
    m.ended.assign(n, {});
    m.stop = m.cancelled;  // a cancel() before start() ends the run at once
    m.t0 = std::chrono::steady_clock::now();
    for (std::size_t i = 0; i < n; ++i) {
      m.status[i].id = m.wf.steps[i].id;
      m.status[i].kind = m.wf.steps[i].kind();
    }
  }
  m.plan_prefixes();
  m.enter();
  m.pump();
  m.leave();
  return ok_status();
}

void WorkflowRunner::Impl::plan_prefixes() {
  // Owner ids apart for each run of any runner (a workflow has far fewer than 2^20 steps).
  static std::atomic<std::int64_t> next_run{1};
  hint_base = next_run.fetch_add(1) << 20;
  const std::size_t n = wf.steps.size();
  step_runtime.assign(n, nullptr);
  step_prefix.assign(n, {});
  for (std::size_t i = 0; i < n; ++i) {
    const workflows::AgentSpec* wa = wf.find_agent(wf.steps[i].agent.name);
    if (!wa) continue;
    auto spec = agent_spec(*wa);  // a system prompt naming a step's output has no hint
    if (!spec.ok()) continue;
    Runtime* rt = runtimes.at(wf.model_of(*wa)->name);
    auto tokens = rt->agent_prefix_tokens(*spec);
    if (!tokens.ok()) continue;
    step_runtime[i] = rt;
    step_prefix[i] = std::move(*tokens);
  }
  std::lock_guard lk(mu);
  hinted.assign(n, kNoNextUse);
}

WorkflowOutcome WorkflowRunner::run(const workflows::InputValues& inputs, EventFn events) {
  RunHooks hooks;
  if (events) {
    hooks.event = [events = std::move(events)](const RunEvent& e) {
      if (!e.line.empty()) events(e.step, e.line);
    };
  }
  auto promise = std::make_shared<std::promise<WorkflowOutcome>>();
  auto future = promise->get_future();
  auto st = start(inputs, std::move(hooks), {},
                  [promise](WorkflowOutcome o) { promise->set_value(std::move(o)); });
  if (!st.ok()) {
    WorkflowOutcome o;
    o.status = st.error();
    return o;
  }
  return future.get();
}

void WorkflowRunner::cancel() {
  std::vector<std::shared_ptr<JobSlot>> jobs;
  bool started = false;
  {
    std::lock_guard lk(impl_->mu);
    impl_->cancelled = impl_->stop = true;
    jobs.assign(impl_->jobs.begin(), impl_->jobs.end());
    impl_->timer.expedite();  // retry waits end now
    started = impl_->started;
  }
  Impl::cancel_jobs(jobs);
  if (!started) return;
  impl_->enter();
  impl_->pump();  // waiting steps end as cancelled; a run with nothing in flight ends here
  impl_->leave();
}

std::vector<StepStatus> WorkflowRunner::snapshot() const {
  std::lock_guard lk(impl_->mu);
  std::vector<StepStatus> out = impl_->status;
  const auto now = std::chrono::steady_clock::now();
  for (std::size_t i = 0; i < out.size(); ++i)
    if (out[i].state == StepState::running)
      out[i].elapsed = std::chrono::duration<double>(now - impl_->started_at[i]).count();
  return out;
}

}  // namespace agentrt::actors::workflow
