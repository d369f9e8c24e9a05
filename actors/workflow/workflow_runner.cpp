// WorkflowRunner: one Runtime per model, the step scheduler, progress and outputs.
#include "actors/workflow/workflow_runner.h"

#include <deque>
#include <filesystem>
#include <thread>

#include "actors/workflow/runner_impl.h"
#include "workflows/planner.h"

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

std::string resolve_model_dir(const workflows::Workflow& wf, const workflows::ModelSpec& m,
                              const RunnerOptions& options) {
  const bool is_default = m.name == "default" || wf.models.size() == 1;
  if (is_default && !options.model_dir.empty()) return options.model_dir;
  if (m.path.empty()) return options.fallback_model_dir;
  std::filesystem::path p(m.path);
  if (p.is_relative()) p = std::filesystem::path(wf.file).parent_path() / p;
  return p.lexically_normal().string();
}

WorkflowRunner::WorkflowRunner(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
WorkflowRunner::~WorkflowRunner() = default;

Result<std::unique_ptr<WorkflowRunner>> WorkflowRunner::create(const workflows::Workflow& wf,
                                                               const RunnerOptions& options,
                                                               RuntimePool& pool) {
  auto impl = std::make_unique<Impl>();
  impl->wf = wf;
  impl->opt = options;
  std::vector<ToolConfig> tools;
  for (const auto& t : wf.tools) {
    ToolConfig c;
    c.name = t.name;
    c.builtin = BuiltinTool::calculator;  // the only builtin the schema admits today
    tools.push_back(c);
  }
  for (const auto& a : wf.agents) {
    const workflows::ModelSpec* m = wf.model_of(a);
    if (!m) return make_error(ErrorCode::invalid_argument, "agent '" + a.name + "': no model");
    if (impl->runtimes.count(m->name)) continue;
    const bool is_default = m->name == "default" || wf.models.size() == 1;
    ModelKey key;
    key.dir = resolve_model_dir(wf, *m, options);
    key.backend = is_default && !options.backend.empty() ? options.backend : m->backend;
    key.device = m->device;
    key.kv_blocks = options.kv_blocks > 0 ? options.kv_blocks
                    : m->kv_blocks > 0    ? m->kv_blocks
                                          : kDefaultRunnerKvBlocks;
    key.threads = options.threads > 0 ? options.threads : m->threads;
    // Live requests per engine; agents, map items and best-of samples beyond it wait.
    key.max_live_requests =
        options.max_live_requests > 0 ? options.max_live_requests : kDefaultRunnerLiveRequests;
    key.weight_check = options.weight_check;
    auto rt = pool.get(key);
    if (!rt.ok()) return rt.error().with_context("model '" + m->name + "' (" + key.dir + ")");
    if (auto st = pool.add_tools(*rt, tools); !st.ok())
      return st.error().with_context("model '" + m->name + "'");
    impl->runtimes[m->name] = *rt;
  }
  return std::unique_ptr<WorkflowRunner>(new WorkflowRunner(std::move(impl)));
}

void WorkflowRunner::Impl::emit(int step, const std::string& line) {
  if (events) events(wf.steps[static_cast<std::size_t>(step)].id, line);
}

void WorkflowRunner::Impl::on_progress(int si, int unit, const Progress& p) {
  std::string line;
  {
    std::lock_guard lk(mu);
    auto& st = status[static_cast<std::size_t>(si)];
    auto& seen = tokens_seen[{si, unit, p.sample}];
    st.tokens += p.generated_tokens - seen;
    seen = p.generated_tokens;
    const std::string who = p.sample >= 0 ? "sample " + std::to_string(p.sample) + ": " : "";
    if (p.kind == ProgressKind::state) {
      st.activity = p.text;
      if (p.sample >= 0 && p.text == "finished") {
        ++st.samples_done;
        line = who + "finished (" + std::to_string(st.samples_done) + "/" +
               std::to_string(st.samples_total) + ")";
      }
    } else if (p.kind == ProgressKind::tool_call && p.call) {
      ++st.tool_calls;
      line = who + "call " + p.call->name + " " + p.call->arguments.dump();
    } else if (p.kind == ProgressKind::tool_result && p.call) {
      line = who + p.call->name + " -> " + p.text;
    } else if (p.kind == ProgressKind::sample_done && p.sample_result) {
      const SampleResult& s = *p.sample_result;
      SampleSummary sum{s.finished,
                        s.answer,
                        s.result.generated_tokens,
                        s.result.tool_calls,
                        s.error,
                        messages_json(s.result.conversation),
                        unit,
                        p.sample};
      ended[static_cast<std::size_t>(si)].push_back(std::move(sum));
    }
  }
  if (!line.empty()) emit(si, line);
}

void WorkflowRunner::Impl::run_step(std::size_t i, Status& first_error) {
  {
    std::lock_guard g(mu);
    started[i] = std::chrono::steady_clock::now();  // it may have waited for a worker
  }
  emit(static_cast<int>(i), "started");
  Result<StepResult> r = execute(static_cast<int>(i));
  std::vector<std::pair<Runtime*, JobId>> to_cancel;
  std::string line;
  {
    std::lock_guard g(mu);
    auto& st = status[i];
    st.elapsed =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started[i]).count();
    if (r.ok()) {
      StepStatus keep = st;
      results[i] = std::move(*r);
      results[i].status = keep;
      st.state = StepState::done;
      st.activity = "done";
    } else {
      const bool cancel = r.error().code == ErrorCode::cancelled || cancelled;
      st.state = cancel ? StepState::cancelled : StepState::failed;
      st.error = r.error().message;
      results[i].samples = ended[i];  // what had finished is kept
      if (!stop && !cancel) first_error = r.error().with_context("step '" + wf.steps[i].id + "'");
      if (!stop) to_cancel.assign(jobs.begin(), jobs.end());
      stop = true;
    }
    results[i].status = st;
    char buf[160];
    std::snprintf(buf, sizeof buf, "%s: %lld tokens, %d tool calls, %.1fs", to_string(st.state),
                  static_cast<long long>(st.tokens), st.tool_calls, st.elapsed);
    line = buf + (st.error.empty() ? "" : ": " + st.error);
    --running;
  }
  for (auto& [rt, job] : to_cancel)
    rt->cancel(job);
  emit(static_cast<int>(i), line);
  cv.notify_all();
}

WorkflowOutcome WorkflowRunner::run(const workflows::InputValues& inputs, EventFn events) {
  Impl& m = *impl_;
  const std::size_t n = m.wf.steps.size();
  {
    std::lock_guard lk(m.mu);
    m.inputs = &inputs;
    m.events = std::move(events);
    m.status.assign(n, StepStatus{});
    m.results.assign(n, StepResult{});
    m.started.assign(n, {});
    m.tokens_seen.clear();
    m.ended.assign(n, {});
    m.unit_threads = 0;
    m.running = 0;
    m.stop = m.cancelled;  // a cancel() before run() ends it at once
    m.t0 = std::chrono::steady_clock::now();
    for (std::size_t i = 0; i < n; ++i) {
      m.status[i].id = m.wf.steps[i].id;
      m.status[i].kind = m.wf.steps[i].kind();
    }
  }
  const auto deps = workflows::step_dependencies(m.wf);
  // A pool of at most kMaxStepThreads workers runs the steps that are ready.
  std::deque<std::size_t> ready;
  std::vector<std::thread> workers;
  bool finished = false;
  Status first_error;
  auto worker = [this, &ready, &finished, &first_error] {
    Impl& im = *impl_;
    std::unique_lock lk(im.mu);
    for (;;) {
      im.cv.wait(lk, [&] { return finished || !ready.empty(); });
      if (ready.empty()) return;
      const std::size_t i = ready.front();
      ready.pop_front();
      lk.unlock();
      im.run_step(i, first_error);
      lk.lock();
    }
  };
  std::unique_lock lk(m.mu);
  while (true) {
    for (bool changed = true; changed;) {
      changed = false;
      for (std::size_t i = 0; i < n; ++i) {
        if (m.status[i].state != StepState::waiting) continue;
        bool ready_now = true, blocked = m.stop;
        for (const auto& d : deps[i]) {
          const StepState s = m.status[static_cast<std::size_t>(d.from)].state;
          ready_now = ready_now && s == StepState::done;
          blocked = blocked ||
                    (s != StepState::done && s != StepState::waiting && s != StepState::running);
        }
        if (blocked) {
          m.status[i].state = m.cancelled ? StepState::cancelled : StepState::skipped;
          changed = true;
        } else if (ready_now) {
          m.status[i].state = StepState::running;
          m.started[i] = std::chrono::steady_clock::now();
          ++m.running;
          changed = true;
          ready.push_back(i);
          if (workers.size() < static_cast<std::size_t>(kMaxStepThreads))
            workers.emplace_back(worker);
          m.cv.notify_all();
        }
      }
    }
    if (m.running == 0) break;
    m.cv.wait(lk);
  }
  finished = true;
  m.cv.notify_all();
  lk.unlock();
  for (auto& t : workers)
    t.join();

  WorkflowOutcome out;
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - m.t0).count();
  out.steps = m.results;
  for (std::size_t i = 0; i < n; ++i)
    out.steps[i].status = m.status[i];  // skipped and cancelled steps never finished
  if (m.cancelled) {
    out.status = make_error(ErrorCode::cancelled, "cancelled");
  } else if (!first_error.ok()) {
    out.status = first_error;
  }
  if (out.status.ok()) {
    if (m.wf.outputs.empty()) {
      for (const auto& r : out.steps)
        out.outputs.emplace_back(r.status.id, r.output);
    }
    for (const auto& o : m.wf.outputs) {
      auto v =
          o.value.tpl.render([&](const std::vector<std::string>& p) { return m.lookup(p, {}); });
      if (!v.ok()) {
        out.status = v.error().with_context("output '" + o.name + "'");
        break;
      }
      out.outputs.emplace_back(o.name, std::move(*v));
    }
  }
  std::set<Runtime*> seen;  // two models of one directory share a runtime
  for (const auto& [name, rt] : m.runtimes)
    if (seen.insert(rt).second) out.metrics.push_back(rt->metrics());
  m.inputs = nullptr;
  return out;
}

void WorkflowRunner::cancel() {
  std::vector<std::pair<Runtime*, JobId>> jobs;
  {
    std::lock_guard lk(impl_->mu);
    impl_->cancelled = impl_->stop = true;
    jobs.assign(impl_->jobs.begin(), impl_->jobs.end());
  }
  for (auto& [rt, job] : jobs)
    rt->cancel(job);
  impl_->cv.notify_all();
}

std::vector<StepStatus> WorkflowRunner::snapshot() const {
  std::lock_guard lk(impl_->mu);
  std::vector<StepStatus> out = impl_->status;
  const auto now = std::chrono::steady_clock::now();
  for (std::size_t i = 0; i < out.size(); ++i)
    if (out[i].state == StepState::running)
      out[i].elapsed = std::chrono::duration<double>(now - impl_->started[i]).count();
  return out;
}

}  // namespace agentrt::actors::workflow
