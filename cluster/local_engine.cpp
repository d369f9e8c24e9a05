// LocalEngine (local_engine.h): the server's own runs, reported as a worker's.
#include "cluster/local_engine.h"

#include <spdlog/spdlog.h>

#include "cluster/node_job.h"

namespace agentrt::cluster {
namespace {

namespace wf = actors::workflow;

}  // namespace

LocalEngine::LocalEngine(LocalEngineCallbacks callbacks)
    : cb_(std::move(callbacks)),
      completions_(std::make_unique<NodeCompletions>(cb_.part)),
      jobs_thread_([this] { run_tasks(); }) {}

LocalEngine::~LocalEngine() {
  shutdown();
}

void LocalEngine::post(std::function<void()> task) {
  {
    std::lock_guard lock(mu_);
    tasks_.push_back(std::move(task));
  }
  cv_.notify_one();
}

void LocalEngine::run_tasks() {
  std::unique_lock lock(mu_);
  for (;;) {
    cv_.wait(lock, [&] { return stopped_ || !tasks_.empty(); });
    if (tasks_.empty()) return;  // stopped, and nothing left
    auto task = std::move(tasks_.front());
    tasks_.pop_front();
    lock.unlock();
    task();
    lock.lock();
  }
}

void LocalEngine::refuse(const std::string& id, std::int32_t attempt, const Error& e) {
  spdlog::warn("cluster: job {} cannot run on the server's engine: {}", id, e.message);
  JobResultMsg r;
  r.job = id;
  r.attempt = attempt;
  r.error_code = static_cast<std::int32_t>(e.code);
  r.error_message = e.message;
  cb_.job_done(std::move(r));
}

void LocalEngine::start_job(const JobSpec& spec, const LocalJobFn& run) {
  post([this, spec, run] {
    const std::string& id = spec.job;
    const std::int32_t attempt = spec.attempt;
    auto resume = resume_state_of(spec.resume);
    if (!resume.ok()) return refuse(id, attempt, resume.error());
    if (!run) return refuse(id, attempt, Error{ErrorCode::invalid_argument, "no local run"});
    {
      std::lock_guard lock(mu_);
      if (stopped_) return refuse(id, attempt, Error{ErrorCode::cancelled, "the engine stopped"});
    }
    auto hooks = checkpoint_hooks([cb = cb_.checkpoint, id, attempt](NamedText c) {
      cb(JobCheckpoint{id, attempt, std::move(c)});
    });
    auto runner = run(std::move(*resume), std::move(hooks),
                      [done = cb_.job_done, id, attempt](wf::WorkflowOutcome outcome) {
                        done(job_result(id, attempt, outcome));
                      });
    if (!runner.ok()) return refuse(id, attempt, runner.error());
    std::lock_guard lock(mu_);
    jobs_[id] = {attempt, std::move(*runner)};
  });
}

void LocalEngine::cancel_job(const std::string& id, std::int32_t attempt) {
  post([this, id, attempt] {
    std::shared_ptr<wf::WorkflowRunner> runner;
    {
      std::lock_guard lock(mu_);
      auto it = jobs_.find(id);
      if (it == jobs_.end() || it->second.first != attempt) return;
      runner = it->second.second;
    }
    runner->cancel();
  });
}

void LocalEngine::end_job(const std::string& id, std::int32_t attempt) {
  post([this, id, attempt] {
    std::shared_ptr<wf::WorkflowRunner> runner;  // destroyed unlocked: it waits for its done
    std::lock_guard lock(mu_);
    auto it = jobs_.find(id);
    if (it == jobs_.end() || it->second.first != attempt) return;
    runner = std::move(it->second.second);
    jobs_.erase(it);
  });
}

void LocalEngine::start_completion(CompletionCall call, LocalCompletionFn run) {
  std::lock_guard lock(mu_);
  if (!completions_) {
    const nlohmann::json e = {{"error",
                               {{"message", "the server's engine stopped"},
                                {"type", "server_error"},
                                {"param", nullptr},
                                {"code", "shutting_down"}}}};
    cb_.part(CompletionPart{call.id, call.attempt, 1, 503, e.dump()});
    return;
  }
  completions_->start(std::move(call), std::move(run));
}

void LocalEngine::cancel_completion(std::uint64_t id, std::int32_t attempt) {
  std::lock_guard lock(mu_);
  if (completions_) completions_->cancel(id, attempt);
}

NodeLoad LocalEngine::load() const {
  std::lock_guard lock(mu_);  // held across engine_load: none runs once shutdown() returned
  if (stopped_) return NodeLoad{};
  NodeLoad load = cb_.engine_load ? cb_.engine_load() : NodeLoad{};
  load.running =
      static_cast<std::int32_t>(jobs_.size()) + (completions_ ? completions_->running() : 0);
  return load;
}

int LocalEngine::running_jobs() const {
  std::lock_guard lock(mu_);
  return static_cast<int>(jobs_.size());
}

void LocalEngine::shutdown() {
  std::unique_ptr<NodeCompletions> completions;
  {
    std::lock_guard lock(mu_);
    stopped_ = true;
    completions = std::move(completions_);
  }
  cv_.notify_all();
  if (jobs_thread_.joinable()) jobs_thread_.join();  // runs what was asked before the stop
  std::map<std::string, std::pair<std::int32_t, std::shared_ptr<wf::WorkflowRunner>>> jobs;
  {
    std::lock_guard lock(mu_);
    jobs.swap(jobs_);
  }
  for (auto& [id, run] : jobs)
    run.second->cancel();
  jobs.clear();         // each waits for its done
  completions.reset();  // cancels the calls and joins their threads
}

}  // namespace agentrt::cluster
