// A step's control flow in the run: its `when` (skip it, or run it), the timeout of each
// unit's attempt (the job is cancelled, which frees its KV, and the unit fails with a
// timeout), and the retry of a failed unit after its backoff. See runner_impl.h.
#include <algorithm>
#include <cstdio>

#include "actors/workflow/runner_impl.h"
#include "engine/common/echo.h"

namespace agentrt::actors::workflow {
namespace {

std::string fmt_ms(std::int64_t ms) {
  char buf[32];
  if (ms % 3600000 == 0)
    std::snprintf(buf, sizeof buf, "%lldh", static_cast<long long>(ms / 3600000));
  else if (ms % 60000 == 0)
    std::snprintf(buf, sizeof buf, "%lldm", static_cast<long long>(ms / 60000));
  else if (ms % 1000 == 0)
    std::snprintf(buf, sizeof buf, "%llds", static_cast<long long>(ms / 1000));
  else if (ms >= 1000)
    std::snprintf(buf, sizeof buf, "%.1fs", static_cast<double>(ms) / 1000.0);
  else
    std::snprintf(buf, sizeof buf, "%lldms", static_cast<long long>(ms));
  return buf;
}

}  // namespace

bool WorkflowRunner::Impl::check_when(int si) {
  const auto i = static_cast<std::size_t>(si);
  const auto& step = wf.steps[i];
  if (!step.when) return false;
  auto holds =
      step.when->cond.evaluate([&](const std::vector<std::string>& p) { return lookup(p, {}); });
  if (holds.ok() && *holds) return false;
  if (holds.ok()) {
    skip_step(si, "when: " + echo_value(step.when->cond.text(), 120) + " is false");
    return true;
  }
  // A condition that cannot be decided fails the step (and so the run).
  std::vector<std::shared_ptr<JobSlot>> cancel;
  {
    std::lock_guard lk(mu);
    StepRun run;
    run.begun = true;
    steps[i] = std::move(run);
    fail_locked(si, holds.error().with_context("when"), cancel);
  }
  cancel_jobs(cancel);
  return true;
}

void WorkflowRunner::Impl::skip_step(int si, const std::string& reason) {
  const auto i = static_cast<std::size_t>(si);
  StepStatus st;
  {
    std::lock_guard lk(mu);
    steps[i].begun = steps[i].completing = true;
    st = status[i];
  }
  st.state = StepState::skipped;
  st.activity = "skipped";
  st.reason = reason;
  st.elapsed = 0.0;
  // As complete_step: the event comes before the step counts as ended.
  RunEvent e;
  e.kind = RunEvent::Kind::step_finished;
  e.step = st.id;
  e.data = {{"state", "skipped"}, {"tokens", 0},    {"cached_tokens", 0}, {"tool_calls", 0},
            {"error", ""},        {"elapsed", 0.0}, {"attempts", 0},      {"reason", reason}};
  e.line = "skipped: " + reason;
  emit(e);
  std::lock_guard lk(mu);
  status[i] = st;
  results[i] = StepResult{};
  results[i].status = st;
}

void WorkflowRunner::Impl::arm_timeout(int si, const std::shared_ptr<JobSlot>& slot) {
  const int ms = wf.steps[static_cast<std::size_t>(si)].timeout_ms;
  if (ms <= 0) return;
  std::weak_ptr<Impl> weak = weak_from_this();
  std::lock_guard lk(mu);
  if (slot->ended) return;  // done already (its callback came first)
  slot->timer = timer.at(RunTimer::Clock::now() + std::chrono::milliseconds(ms), [weak, slot] {
    auto self = weak.lock();
    if (!self) return;
    std::optional<JobId> id;
    {
      std::lock_guard lk2(self->mu);
      // A stopped run cancels its jobs itself (and expedites this timer): no timeout then.
      if (slot->ended || !slot->id || self->stop) return;
      slot->timed_out = true;
      id = slot->id;
    }
    slot->rt->cancel(*id);  // the job ends as cancelled and its KV is released
  });
}

Error WorkflowRunner::Impl::unit_error(int si, const std::shared_ptr<JobSlot>& slot,
                                       const Error& e) const {
  bool timed_out = false;
  {
    std::lock_guard lk(mu);
    timed_out = slot->timed_out;
  }
  if (!timed_out || e.code != ErrorCode::cancelled) return e;
  const int ms = wf.steps[static_cast<std::size_t>(si)].timeout_ms;
  return make_error(ErrorCode::timeout, "timed out after " + fmt_ms(ms) + " (the step's timeout)");
}

bool WorkflowRunner::Impl::retry_locked(int si, const PendingUnit& pu, const Error& e,
                                        RunEvent& event, std::chrono::milliseconds& wait) {
  const auto i = static_cast<std::size_t>(si);
  const auto& step = wf.steps[i];
  // The run's own stop (a cancel, another step's failure) is not retried.
  if (stop || e.code == ErrorCode::cancelled || pu.attempt > step.retries) return false;
  std::int64_t ms = step.backoff_ms;
  for (int k = 1; k < pu.attempt && ms < workflows::Step::kMaxBackoffMs; ++k)
    ms *= 2;
  ms = std::min<std::int64_t>(ms, workflows::Step::kMaxBackoffMs);
  wait = std::chrono::milliseconds(ms);
  ++steps[i].backing_off;
  const int total = step.retries + 1;
  event.kind = RunEvent::Kind::unit_retry;
  event.step = step.id;
  event.unit = step.map ? pu.item : step.loop ? pu.iteration : -1;
  // failed: the attempt that failed (the progress line's K of "attempt K/N"); attempt: the
  // one that runs after the wait.
  event.data = {{"failed", pu.attempt},
                {"attempt", pu.attempt + 1},
                {"attempts", total},
                {"error", e.message},
                {"wait_ms", ms}};
  event.line = (step.map ? "item " + std::to_string(pu.item) + ": " : std::string()) + "attempt " +
               std::to_string(pu.attempt) + "/" + std::to_string(total) + " failed (" + e.message +
               "); retrying in " + fmt_ms(ms);
  return true;
}

void WorkflowRunner::Impl::schedule_retry(int si, PendingUnit u, std::chrono::milliseconds wait) {
  std::weak_ptr<Impl> weak = weak_from_this();
  timer.at(RunTimer::Clock::now() + wait, [weak, si, u] {
    auto self = weak.lock();
    if (!self) return;
    self->enter();
    {
      std::lock_guard lk(self->mu);
      StepRun& s = self->steps[static_cast<std::size_t>(si)];
      --s.backing_off;
      // Stopped while waiting: the unit never ran again, so the step ends as cancelled.
      if (!self->stop) s.ready.push_front(u);
    }
    self->pump();
    self->leave();
  });
  std::lock_guard lk(mu);
  if (stop) timer.expedite();  // the run stopped before the wait was scheduled
}

}  // namespace agentrt::actors::workflow
