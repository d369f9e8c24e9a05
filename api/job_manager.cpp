// JobManager: admission, queries, cancel and events (job_execution.cpp runs the jobs).
#include "api/job_manager.h"

#include <spdlog/spdlog.h>

#include <cstdio>

#include "api/body/api_limits.h"
#include "api/job_live.h"
#include "engine/common/echo.h"
#include "engine/common/file_read.h"
#include "workflows/loader.h"
#include "workflows/validator.h"

namespace agentrt::api {
namespace {

using nlohmann::json;

// "j-" + 12 hex digits of Unix milliseconds + 4 of a counter: ids sort by creation.
std::string new_job_id(std::uint32_t counter) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "j-%012llx%04x", static_cast<unsigned long long>(unix_ms_now()),
                counter & 0xffffu);
  return buf;
}

std::string place(const workflows::Diagnostics& d, const workflows::Diagnostic& x) {
  if (!x.loc.known()) return "";
  return d.file() + ":" + std::to_string(x.loc.line) + ":" + std::to_string(x.loc.col);
}

json diagnostics_json(const workflows::Diagnostics& d) {
  json errors = json::array();
  for (const auto& e : d.items())
    errors.push_back({{"line", e.loc.line}, {"column", e.loc.col}, {"message", e.message}});
  return errors;
}

bool inside(const std::filesystem::path& p, const std::filesystem::path& root) {
  auto r = root.begin();
  auto q = p.begin();
  for (; r != root.end(); ++r, ++q) {
    if (r->empty()) continue;  // a trailing separator
    if (q == p.end() || *q != *r) return false;
  }
  return true;
}

}  // namespace

std::string step_checkpoint_key(int step) {
  return "step:" + std::to_string(step);
}
std::string unit_checkpoint_key(int step, int unit) {
  return "unit:" + std::to_string(step) + ":" + std::to_string(unit);
}

JobManager::JobManager(JobManagerOptions options, std::shared_ptr<storage::Db> db,
                       std::unique_ptr<storage::JobStore> store, actors::RuntimePool& pool)
    : opt_(std::move(options)), db_(std::move(db)), store_(std::move(store)), pool_(pool) {}

Result<std::unique_ptr<JobManager>> JobManager::open(JobManagerOptions options,
                                                     std::shared_ptr<storage::Db> db,
                                                     actors::RuntimePool& pool) {
  if (options.model_roots.empty())
    return make_error(ErrorCode::invalid_argument, "job manager: no model directory");
  for (auto& r : options.model_roots) {
    std::error_code ec;
    auto c = std::filesystem::canonical(r, ec);
    if (ec)
      return make_error(ErrorCode::not_found,
                        "model directory " + r.string() + ": " + ec.message());
    r = c;
  }
  options.runner.model_dir.clear();  // a workflow's own model paths are honoured (and checked)
  options.runner.fallback_model_dir = options.model_roots.front().string();
  auto store = storage::JobStore::open(db);
  if (!store.ok()) return store.error();
  std::unique_ptr<JobManager> m(
      new JobManager(std::move(options), std::move(db), std::move(*store), pool));
  AGENTRT_TRY(m->recover());
  m->dispatcher_ = std::thread([p = m.get()] { p->dispatch_loop(); });
  return m;
}

JobManager::~JobManager() {
  shutdown();
}

bool JobManager::accepting() const {
  std::lock_guard lk(mu_);
  return !stopping_;
}

ApiOr<std::string> JobManager::read_named(const std::string& name) const {
  std::filesystem::path file = opt_.workflows_dir / name;
  if (file.extension() != ".yaml" && file.extension() != ".yml") file += ".yaml";
  std::error_code ec;
  if (!std::filesystem::exists(file, ec))
    return api_error(404, "not_found", "no workflow named '" + name + "'", "/workflow");
  auto text = read_file_bounded(file.string(), kMaxWorkflowFileBytes);
  if (!text.ok()) return api_error(422, "invalid_request", text.error().message, "/workflow");
  return std::move(*text);
}

ApiOr<workflows::Workflow> JobManager::load_checked(
    const std::string& yaml, const std::string& file,
    const std::vector<std::pair<std::string, std::string>>& inputs,
    workflows::InputValues* values) const {
  auto loaded = workflows::load_workflow(yaml, file);
  auto& d = loaded.diagnostics;
  if (loaded.parsed && d.empty()) workflows::validate_workflow(loaded.workflow, d);
  if (loaded.parsed && d.empty()) workflows::check_tool_policy(loaded.workflow, opt_.tools, d);
  if (loaded.parsed && d.empty()) *values = workflows::resolve_inputs(loaded.workflow, inputs, d);
  if (!d.empty()) {
    const auto& first = d.items().front();
    ApiError e = api_error(422, "invalid_workflow", d.format(first), place(d, first));
    if (e.pointer.empty()) e.pointer = "/inputs";
    e.details = {{"diagnostics", diagnostics_json(d)}};
    return e;
  }
  workflows::Workflow wf = std::move(loaded.workflow);
  // Relative model paths are relative to the workflow directory, inline YAML included.
  wf.file = (opt_.workflows_dir / std::filesystem::path(file).filename()).string();
  for (const auto& m : wf.models) {
    const std::string where =
        file + ":" + std::to_string(m.loc.line) + ":" + std::to_string(m.loc.col);
    for (const auto& part : std::filesystem::path(m.path))
      if (part == "..")
        return api_error(422, "model_not_allowed",
                         "model '" + m.name + "': '..' is not allowed in a model path", where);
    if (m.backend != "cpu" && m.backend != opt_.runner.backend)
      return api_error(422, "model_not_allowed",
                       "model '" + m.name + "': backend '" + m.backend + "' is not the server's (" +
                           (opt_.runner.backend.empty() ? "cpu" : opt_.runner.backend) + ")",
                       where);
    const std::string dir = actors::workflow::resolve_model_dir(wf, m, opt_.runner);
    std::error_code ec;
    const auto real = std::filesystem::weakly_canonical(dir, ec);
    bool ok = !ec;
    if (ok) {
      ok = false;
      for (const auto& root : opt_.model_roots)
        ok = ok || inside(real, root);
    }
    if (!ok)
      return api_error(422, "model_not_allowed",
                       "model '" + m.name + "': " + echo_value(m.path) +
                           " is outside the server's model directories",
                       where);
  }
  return wf;
}

nlohmann::json JobManager::validate(const std::string& yaml) const {
  auto loaded = workflows::load_workflow(yaml, "inline.yaml");
  if (loaded.parsed) workflows::validate_workflow(loaded.workflow, loaded.diagnostics);
  if (loaded.parsed && loaded.diagnostics.empty())
    workflows::check_tool_policy(loaded.workflow, opt_.tools, loaded.diagnostics);
  return {{"valid", loaded.diagnostics.empty()}, {"errors", diagnostics_json(loaded.diagnostics)}};
}

std::optional<ApiError> JobManager::admission_error(const std::string& client) const {
  std::lock_guard lk(mu_);
  const int capacity = opt_.max_running_jobs + opt_.max_queued_jobs;
  if (static_cast<int>(live_.size()) >= capacity) {
    ApiError e = api_error(429, "busy",
                           "the server has " + std::to_string(live_.size()) +
                               " jobs queued or running (its capacity)");
    e.retry_after = 2;
    return e;
  }
  int mine = 0;
  for (const auto& [id, live] : live_)
    mine += jobs_.at(id).client == client ? 1 : 0;
  if (mine >= opt_.max_jobs_per_client) {
    ApiError e = api_error(429, "client_limit",
                           "this client has " + std::to_string(mine) +
                               " jobs queued or running (the limit per client)");
    e.retry_after = 2;
    return e;
  }
  return std::nullopt;
}

std::optional<ApiOr<Submitted>> JobManager::replay(const std::string& index_key,
                                                   const std::string& body_hash) const {
  if (index_key.empty()) return std::nullopt;
  auto found = store_->find_idempotent(index_key);
  if (!found.ok()) return ApiOr<Submitted>(api_error(500, "store", found.error().message));
  if (!*found) return std::nullopt;
  std::lock_guard lk(mu_);
  auto it = jobs_.find(**found);
  if (it != jobs_.end() && it->second.request_hash != body_hash)
    return ApiOr<Submitted>(
        api_error(409, "idempotency_conflict",
                  "Idempotency-Key was used for job " + **found + " with another body"));
  return ApiOr<Submitted>(Submitted{**found, true});
}

void JobManager::apply_kv_reuse(const JobRecord& rec, workflows::Workflow& wf) {
  if (rec.kv_reuse.empty()) return;
  workflows::KvReuseSpec k;
  k.mode = rec.kv_reuse == "blend" ? workflows::KvReuseMode::blend : workflows::KvReuseMode::exact;
  k.blend_recompute = rec.blend_recompute;
  k.blend_anchors = rec.blend_anchors;
  wf.override_kv_reuse(k);
}

ApiOr<Submitted> JobManager::submit(const JobRequest& req, const std::string& client,
                                    const std::string& idempotency_key,
                                    const std::string& body_hash) {
  auto stopping = [] {
    ApiError e = api_error(503, "shutting_down", "the server is stopping; try again later");
    e.retry_after = 5;
    return e;
  };
  if (!accepting()) return stopping();
  const std::string index_key = idempotency_key.empty() ? "" : client + "\n" + idempotency_key;
  // Cheap answers first, without parsing: a replay, or a full server.
  if (auto r = replay(index_key, body_hash)) return std::move(*r);
  if (auto full = admission_error(client)) return *full;
  std::string yaml = req.yaml;
  std::string file = "inline.yaml";
  if (!req.workflow.empty()) {
    auto text = read_named(req.workflow);
    if (!text.ok()) return text.error();
    yaml = std::move(*text);
    file = req.workflow;
  }
  workflows::InputValues values;
  auto wf = load_checked(yaml, file, req.inputs, &values);
  if (!wf.ok()) return wf.error();

  // One admission at a time from here: the replay and capacity checks again (a twin or
  // other submissions may have got in while this one parsed), then the durable write.
  std::lock_guard serial(submit_mu_);
  if (!accepting()) return stopping();
  if (auto r = replay(index_key, body_hash)) return std::move(*r);
  if (auto full = admission_error(client)) return *full;
  JobRecord rec;
  {
    std::lock_guard lk(mu_);
    rec.id = new_job_id(id_counter_++);
  }
  rec.client = client;
  rec.workflow_name = req.workflow;
  rec.yaml = yaml;
  rec.inputs = req.inputs;
  rec.request_hash = body_hash;
  rec.kv_reuse = req.kv_reuse;
  rec.blend_recompute = req.blend_recompute;
  rec.blend_anchors = req.blend_anchors;
  rec.program = req.program;
  apply_kv_reuse(rec, *wf);
  rec.created_ms = rec.updated_ms = unix_ms_now();
  for (const auto& s : wf->steps)
    rec.steps.push_back(StepView{s.id, "waiting", 0, 0, 0, 0.0, 0, 0, ""});
  if (auto st = store_->put_job(rec.id, to_json(rec), true, index_key); !st.ok())
    return api_error(500, "store", "the job could not be stored: " + st.error().message);
  {
    std::lock_guard lk(mu_);
    auto live = std::make_unique<Live>();
    live->id = rec.id;
    live->wf = std::move(*wf);
    live->inputs = std::move(values);
    live_[rec.id] = std::move(live);
    jobs_[rec.id] = rec;
    pending_.push_back(rec.id);
    forget_old_jobs();
  }
  emit(rec.id, {{"type", "job_queued"}});
  spdlog::info("job {} queued: {} from {}", rec.id,
               rec.workflow_name.empty() ? "inline workflow" : rec.workflow_name, client);
  cv_.notify_all();
  return Submitted{rec.id, false};
}

std::optional<nlohmann::json> JobManager::get(const std::string& id) const {
  std::shared_ptr<actors::workflow::WorkflowRunner> runner;
  JobRecord rec;
  {
    std::lock_guard lk(mu_);
    auto it = jobs_.find(id);
    if (it == jobs_.end()) return std::nullopt;
    rec = it->second;
    if (auto l = live_.find(id); l != live_.end()) runner = l->second->runner;
  }
  if (runner && rec.state == JobState::running) {
    const auto live = runner->snapshot();
    for (std::size_t i = 0; i < live.size() && i < rec.steps.size(); ++i) {
      auto& v = rec.steps[i];
      if (v.state == "done") continue;  // from its checkpoint (a resumed job)
      v.state = actors::workflow::to_string(live[i].state);
      v.tokens = live[i].tokens;
      v.kv_reused_tokens = live[i].cached_tokens;
      v.tool_calls = live[i].tool_calls;
      v.elapsed = live[i].elapsed;
      v.units_total = live[i].units_total;
      v.units_done = live[i].units_done;
      v.error = live[i].error;
      v.attempts = live[i].attempts;
      v.reason = live[i].reason;
    }
  }
  return public_view(rec);
}

nlohmann::json JobManager::list(std::optional<JobState> state, int limit,
                                const std::string& cursor) const {
  std::lock_guard lk(mu_);
  json jobs = json::array();
  std::string last;
  bool more = false;
  for (auto it = jobs_.upper_bound(cursor); it != jobs_.end(); ++it) {
    if (state && it->second.state != *state) continue;
    if (static_cast<int>(jobs.size()) == limit) {
      more = true;
      break;
    }
    json view = public_view(it->second);
    // The list leaves out each step's tool-call records (GET /v1/jobs/{id} has them).
    if (auto steps = view.find("steps"); steps != view.end() && steps->is_array())
      for (auto& step : *steps)
        step.erase("tool_records");
    jobs.push_back(std::move(view));
    last = it->first;
  }
  return {{"jobs", jobs}, {"next_cursor", more ? json(last) : json()}};
}

std::map<std::string, std::int64_t> JobManager::counts_by_state() const {
  std::map<std::string, std::int64_t> counts;
  for (JobState s : {JobState::queued, JobState::running, JobState::succeeded, JobState::failed,
                     JobState::cancelled})
    counts[to_string(s)] = 0;
  std::lock_guard lk(mu_);
  for (const auto& [id, record] : jobs_)
    ++counts[to_string(record.state)];
  return counts;
}

ApiOr<nlohmann::json> JobManager::cancel(const std::string& id) {
  std::shared_ptr<actors::workflow::WorkflowRunner> runner;
  std::unique_ptr<Live> dropped;
  JobRecord rec;
  {
    std::lock_guard lk(mu_);
    auto it = jobs_.find(id);
    if (it == jobs_.end()) return api_error(404, "not_found", "no job " + id);
    if (finished(it->second.state))
      return api_error(409, "finished", "job " + id + " already " + to_string(it->second.state));
    auto l = live_.find(id);
    if (l == live_.end()) return api_error(409, "finished", "job " + id + " is ending");
    if (it->second.state == JobState::queued) {
      for (auto p = pending_.begin(); p != pending_.end(); ++p)
        if (*p == id) {
          pending_.erase(p);
          break;
        }
      dropped = std::move(l->second);
      live_.erase(l);
      rec = it->second;
    } else {
      l->second->cancel_requested = true;
      runner = l->second->runner;
    }
  }
  if (runner || (!dropped && opt_.remote)) {
    if (runner) runner->cancel();
    if (!runner) opt_.remote->cancel(id);  // a job on the cluster (unknown there: ignored)
    spdlog::info("job {} cancelling", id);
    return json{{"id", id}, {"state", "cancelling"}};
  }
  if (!dropped) return json{{"id", id}, {"state", "cancelling"}};  // starting: launch sees it
  rec.state = JobState::cancelled;
  rec.error = {{"code", "cancelled"}, {"message", "cancelled before it started"}};
  rec.updated_ms = unix_ms_now();
  if (auto st = persist(rec, true); !st.ok())
    spdlog::warn("job {}: cancel not stored: {}", id, st.error().message);
  emit(id, {{"type", "job_finished"}, {"state", "cancelled"}}, true);
  {
    std::lock_guard lk(mu_);
    jobs_[id] = rec;
    jobs_[id].yaml.clear();
    ++event_gen_;
  }
  events_cv_.notify_all();
  spdlog::info("job {} cancelled (queued)", id);
  return json{{"id", id}, {"state", "cancelled"}};
}

ApiOr<EventsPage> JobManager::events(const std::string& id, std::int64_t after,
                                     std::chrono::milliseconds wait) {
  constexpr int kPage = 256;
  const auto deadline = std::chrono::steady_clock::now() + wait;
  for (;;) {
    bool done = false;
    std::uint64_t gen = 0;
    {
      std::lock_guard lk(mu_);
      auto it = jobs_.find(id);
      if (it == jobs_.end()) return api_error(404, "not_found", "no job " + id);
      done = finished(it->second.state);  // read before the log: its last event is stored
      gen = event_gen_;
    }
    auto ev = store_->events_after(id, after, kPage);
    if (!ev.ok()) return api_error(500, "store", ev.error().message);
    EventsPage page{std::move(*ev), false};
    page.finished = done && static_cast<int>(page.events.size()) < kPage;
    if (!page.events.empty() || page.finished) return page;
    std::unique_lock lk(mu_);
    if (!events_cv_.wait_until(lk, deadline, [&] { return event_gen_ != gen; })) return page;
  }
}

void JobManager::emit(const std::string& id, nlohmann::json event, bool sync) {
  event["time_ms"] = unix_ms_now();
  if (auto seq = store_->append_event(id, event, sync); !seq.ok())
    spdlog::warn("job {}: event not stored: {}", id, seq.error().message);
  {
    std::lock_guard lk(mu_);
    ++event_gen_;
  }
  events_cv_.notify_all();
}

Status JobManager::persist(const JobRecord& r, bool sync) {
  return store_->put_job(r.id, to_json(r), sync);
}

void JobManager::forget_old_jobs() {
  if (jobs_.size() <= opt_.max_jobs_kept) return;
  for (auto it = jobs_.begin(); it != jobs_.end() && jobs_.size() > opt_.max_jobs_kept;) {
    if (!finished(it->second.state)) {
      ++it;
      continue;
    }
    if (auto st = store_->erase_job(it->first); !st.ok())
      spdlog::warn("job {}: not forgotten: {}", it->first, st.error().message);
    it = jobs_.erase(it);
  }
}

}  // namespace agentrt::api
