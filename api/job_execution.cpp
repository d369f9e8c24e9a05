// JobManager: recovery at open, the dispatcher, running a job on the workflow runner with
// checkpoints and events, and shutdown.
#include <spdlog/spdlog.h>

#include "actors/workflow/checkpoint.h"
#include "actors/workflow/tool_records_json.h"
#include "api/body/api_error.h"
#include "api/job_live.h"
#include "api/job_manager.h"

namespace agentrt::api {
namespace {

using nlohmann::json;
namespace wf = actors::workflow;

json error_json(const Error& e) {
  return {{"code", code_name(e.code)}, {"message", e.message}};
}

// The checkpoints of a job as the runner's resume state. Errors (corrupt): a damaged or
// unreadable checkpoint, named by its key.
Result<wf::ResumeState> resume_state(storage::JobStore& store, const std::string& id) {
  std::vector<storage::DroppedRecord> dropped;
  auto cps = store.checkpoints(id, &dropped);
  if (!cps.ok()) return cps.error();
  if (!dropped.empty())
    return make_error(ErrorCode::corrupt,
                      dropped.front().what + " is damaged: " + dropped.front().reason);
  wf::ResumeState rs;
  for (const auto& [key, doc] : *cps) {
    int step = -1, unit = -1;
    if (std::sscanf(key.c_str(), "unit:%d:%d", &step, &unit) == 2) {
      auto u = wf::unit_outcome_from_json(doc);
      if (!u.ok())
        return make_error(ErrorCode::corrupt, "checkpoint " + key + ": " + u.error().message);
      rs.units[{step, unit}] = std::move(*u);
    } else if (std::sscanf(key.c_str(), "step:%d", &step) == 1) {
      auto s = wf::step_result_from_json(doc);
      if (!s.ok())
        return make_error(ErrorCode::corrupt, "checkpoint " + key + ": " + s.error().message);
      rs.steps[step] = std::move(*s);
    } else {
      return make_error(ErrorCode::corrupt, "checkpoint with an unknown key '" + key + "'");
    }
  }
  return rs;
}

json run_event_json(const wf::RunEvent& e) {
  json j = e.data.is_object() ? e.data : json::object();
  j["type"] = wf::to_string(e.kind);
  j["step"] = e.step;
  if (e.unit >= 0) j["unit"] = e.unit;
  if (e.sample >= 0) j["sample"] = e.sample;
  return j;
}

void apply_status(StepView& v, const wf::StepStatus& s) {
  v.state = wf::to_string(s.state);
  v.tokens = s.tokens;
  v.tool_calls = s.tool_calls;
  v.kv_reused_tokens = s.cached_tokens;
  v.elapsed = s.elapsed;
  v.units_total = s.units_total;
  v.units_done = s.units_done;
  v.error = s.error;
  v.attempts = s.attempts;
  v.reason = s.reason;
}

void apply_tool_records(StepView& v, const wf::StepResult& r) {
  std::size_t dropped = 0;
  v.tool_records = wf::step_tool_records_json(r.samples, wf::kMaxStepToolRecords, dropped);
  v.tool_records_dropped = static_cast<std::int64_t>(dropped);
}

}  // namespace

Status JobManager::recover() {
  auto scan = store_->scan_jobs();
  if (!scan.ok()) return scan.error().with_context("job store");
  dropped_ = scan->dropped;
  std::vector<std::pair<std::string, Error>> failures;
  for (const auto& d : scan->dropped)
    if (!d.job_id.empty())
      failures.emplace_back(d.job_id,
                            make_error(ErrorCode::corrupt, d.what + " is damaged: " + d.reason));
  for (auto& [id, doc] : scan->jobs) {
    auto rec = job_record_from_json(doc);
    if (!rec.ok()) {
      dropped_.push_back({id, "job", rec.error().message});
      failures.emplace_back(
          id, make_error(ErrorCode::corrupt, "job record does not parse: " + rec.error().message));
      continue;
    }
    if (finished(rec->state)) {
      rec->yaml.clear();
      jobs_[id] = std::move(*rec);
      continue;
    }
    auto live = std::make_unique<Live>();
    live->id = id;
    const std::string file = rec->workflow_name.empty() ? "inline.yaml" : rec->workflow_name;
    auto loaded = load_checked(rec->yaml, file, rec->inputs, &live->inputs);
    if (!loaded.ok()) {
      failures.emplace_back(
          id, make_error(ErrorCode::invalid_argument, "cannot resume: " + loaded.error().message));
      jobs_[id] = std::move(*rec);
      continue;
    }
    live->wf = std::move(*loaded);
    apply_kv_reuse(*rec, live->wf);
    if (rec->state == JobState::running) ++rec->resumes;
    rec->state = JobState::queued;
    jobs_[id] = std::move(*rec);
    live_[id] = std::move(live);
    pending_.push_back(id);
    ++resumed_;
  }
  for (const auto& [id, err] : failures) {
    spdlog::error("job {}: {}", id, err.message);
    live_.erase(id);
    std::erase(pending_, id);
    resumed_ -= jobs_.count(id) && !finished(jobs_[id].state) ? 1 : 0;
    fail_job(id, err);
  }
  if (resumed_ > 0) spdlog::info("{} unfinished job(s) will resume", resumed_);
  return ok_status();
}

void JobManager::fail_job(const std::string& id, const Error& e) {
  JobRecord rec;
  {
    std::lock_guard lk(mu_);
    auto it = jobs_.find(id);
    if (it != jobs_.end()) rec = it->second;
  }
  rec.id = id;
  rec.state = JobState::failed;
  rec.error = error_json(e);
  rec.updated_ms = unix_ms_now();
  if (rec.created_ms == 0) rec.created_ms = rec.updated_ms;
  if (auto st = persist(rec, true); !st.ok())
    spdlog::warn("job {}: failure not stored: {}", id, st.error().message);
  emit(id, {{"type", "job_finished"}, {"state", "failed"}, {"error", rec.error}}, true);
  std::lock_guard lk(mu_);
  rec.yaml.clear();
  jobs_[id] = std::move(rec);
  ++event_gen_;
  events_cv_.notify_all();
}

void JobManager::dispatch_loop() {
  for (;;) {
    std::vector<std::unique_ptr<Live>> reap;
    std::string next;
    {
      std::unique_lock lk(mu_);
      cv_.wait(lk, [&] {
        return stopping_ || !reap_.empty() ||
               (!pending_.empty() && running_ < opt_.max_running_jobs);
      });
      reap.swap(reap_);
      if (!stopping_ && !pending_.empty() && running_ < opt_.max_running_jobs) {
        next = pending_.front();
        pending_.pop_front();
        ++running_;
      }
      if (stopping_ && reap.empty() && running_ == 0) return;
      if (stopping_ && reap.empty()) {
        cv_.wait(lk, [&] { return !reap_.empty() || running_ == 0; });
        continue;
      }
    }
    reap.clear();  // runners end here, never inside their own callbacks
    if (!next.empty()) start_job(next);
  }
}

void JobManager::start_job(const std::string& id) {
  Live* live = nullptr;
  JobRecord rec;
  {
    std::lock_guard lk(mu_);
    auto it = live_.find(id);
    if (it == live_.end()) {
      --running_;
      return;
    }
    live = it->second.get();
    auto& r = jobs_[id];
    r.state = JobState::running;
    r.updated_ms = unix_ms_now();
    rec = r;
  }
  if (auto st = persist(rec, false); !st.ok())
    spdlog::warn("job {}: state not stored: {}", id, st.error().message);
  emit(id, {{"type", rec.resumes > 0 ? "job_resumed" : "job_started"}});
  spdlog::info("job {} {}", id, rec.resumes > 0 ? "resumed" : "started");
  if (auto st = launch(*live); !st.ok()) {
    spdlog::error("job {} failed to start: {}", id, st.error().message);
    {
      std::lock_guard lk(mu_);
      if (auto it = live_.find(id); it != live_.end()) {
        reap_.push_back(std::move(it->second));
        live_.erase(it);
      }
      --running_;
    }
    fail_job(id, st.error());
    cv_.notify_all();
  }
}

wf::RunHooks JobManager::run_hooks(const std::string& id) {
  wf::RunHooks hooks;
  hooks.event = [this, id](const wf::RunEvent& e) {
    {
      std::lock_guard lk(mu_);
      auto l = live_.find(id);
      if (l == live_.end() || l->second->interrupting) return;  // shutdown: no noise in the log
    }
    emit(id, run_event_json(e));
  };
  hooks.step_done = [this, id](int step, const wf::StepResult& result) {
    if (auto st = store_->put_checkpoint(id, step_checkpoint_key(step), wf::to_json(result), true);
        !st.ok())
      spdlog::warn("job {}: checkpoint of step {} not stored: {}", id, step, st.error().message);
    JobRecord rec;
    {
      std::lock_guard lk(mu_);
      auto& job = jobs_[id];
      if (step >= 0 && static_cast<std::size_t>(step) < job.steps.size()) {
        auto& v = job.steps[static_cast<std::size_t>(step)];
        apply_status(v, result.status);
        apply_tool_records(v, result);
        v.state = "done";
      }
      job.updated_ms = unix_ms_now();
      rec = job;
    }
    if (auto st = persist(rec, false); !st.ok())
      spdlog::warn("job {}: state not stored: {}", id, st.error().message);
  };
  hooks.unit_done = [this, id](int step, int unit, const wf::UnitOutcome& outcome) {
    if (auto st =
            store_->put_checkpoint(id, unit_checkpoint_key(step, unit), wf::to_json(outcome), true);
        !st.ok())
      spdlog::warn("job {}: checkpoint of step {} item {} not stored: {}", id, step, unit,
                   st.error().message);
  };
  return hooks;
}

Status JobManager::launch(Live& live) {
  const std::string id = live.id;
  if (opt_.remote && opt_.remote->available()) return launch_remote(live);
  auto resume = resume_state(*store_, id);
  if (!resume.ok()) return resume.error();
  wf::RunnerOptions ro = opt_.runner;
  {
    std::lock_guard lk(mu_);
    ro.program = jobs_[id].program;  // the job's agent program, when it names one
  }
  auto runner = wf::WorkflowRunner::create(live.wf, ro, pool_);
  if (!runner.ok()) return runner.error();
  std::shared_ptr<wf::WorkflowRunner> r = std::move(*runner);
  bool cancel_now = false;
  {
    std::lock_guard lk(mu_);
    live.runner = r;
    cancel_now = live.cancel_requested;
    if (stopping_) {
      live.interrupting = true;
      cancel_now = true;
    }
  }
  wf::RunHooks hooks = run_hooks(id);
  auto st = r->start(live.inputs, std::move(hooks), std::move(*resume),
                     [this, id](wf::WorkflowOutcome outcome) { on_done(id, std::move(outcome)); });
  if (!st.ok()) {
    std::lock_guard lk(mu_);
    live.runner.reset();
    return st;
  }
  if (cancel_now) r->cancel();
  return ok_status();
}

void JobManager::on_done(const std::string& id, wf::WorkflowOutcome outcome) {
  JobRecord rec;
  bool interrupted = false;
  {
    std::lock_guard lk(mu_);
    auto l = live_.find(id);
    interrupted = l != live_.end() && l->second->interrupting;
    rec = jobs_[id];
  }
  if (!interrupted) {
    if (outcome.status.ok()) {
      rec.state = JobState::succeeded;
      json outputs = json::object();
      for (const auto& [name, value] : outcome.outputs)
        outputs[name] = value.is_list() ? json(value.list()) : json(value.text());
      rec.outputs = std::move(outputs);
    } else {
      const Error& e = outcome.status.error();
      rec.state = e.code == ErrorCode::cancelled ? JobState::cancelled : JobState::failed;
      rec.error = error_json(e);
    }
    for (std::size_t i = 0; i < outcome.steps.size() && i < rec.steps.size(); ++i)
      if (rec.steps[i].state != "done" || outcome.steps[i].status.state == wf::StepState::done) {
        apply_status(rec.steps[i], outcome.steps[i].status);
        apply_tool_records(rec.steps[i], outcome.steps[i]);
      }
    rec.updated_ms = unix_ms_now();
    if (auto st = persist(rec, true); !st.ok())
      spdlog::warn("job {}: final state not stored: {}", id, st.error().message);
    json ev = {{"type", "job_finished"}, {"state", to_string(rec.state)}};
    if (!rec.error.is_null()) ev["error"] = rec.error;
    emit(id, std::move(ev), true);
    spdlog::info("job {} {} in {:.1f}s", id, to_string(rec.state), outcome.seconds);
  } else {
    spdlog::info("job {} interrupted by shutdown (resumes on the next start)", id);
  }
  {
    std::lock_guard lk(mu_);
    if (!interrupted) {
      rec.yaml.clear();
      jobs_[id] = std::move(rec);
    }
    if (auto l = live_.find(id); l != live_.end()) {
      reap_.push_back(std::move(l->second));
      live_.erase(l);
    }
    --running_;
    ++event_gen_;
  }
  events_cv_.notify_all();
  cv_.notify_all();
}

void JobManager::shutdown() {
  std::vector<std::shared_ptr<wf::WorkflowRunner>> runners;
  std::vector<std::string> remote;
  {
    std::lock_guard lk(mu_);
    if (stopping_ && !dispatcher_.joinable()) return;
    stopping_ = true;
    for (auto& [id, live] : live_) {
      if (jobs_[id].state != JobState::running) continue;
      live->interrupting = true;
      if (live->runner)
        runners.push_back(live->runner);
      else if (opt_.remote)
        remote.push_back(id);
    }
  }
  spdlog::info("stopping: {} running job(s) interrupted", runners.size() + remote.size());
  for (auto& r : runners)
    r->cancel();
  for (const auto& id : remote)  // on the cluster: they resume on the next start too
    opt_.remote->cancel(id);
  cv_.notify_all();
  if (dispatcher_.joinable()) dispatcher_.join();
  std::lock_guard lk(mu_);
  reap_.clear();
  ++event_gen_;
  events_cv_.notify_all();
}

}  // namespace agentrt::api
