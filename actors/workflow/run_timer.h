// RunTimer: deadlines for a workflow run (a step's timeout, the wait before a retry).
// One thread, started at the first at() and stopped with the timer; callbacks run on it,
// one at a time, without the timer's lock held (they may call at() and cancel()).
// Thread-safe. Destroying the timer from inside one of its own callbacks is allowed: the
// thread then ends by itself after that callback returns.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <thread>

namespace agentrt::actors::workflow {

class RunTimer {
 public:
  using Clock = std::chrono::steady_clock;
  RunTimer();
  ~RunTimer();
  RunTimer(const RunTimer&) = delete;
  RunTimer& operator=(const RunTimer&) = delete;

  // Runs fn at `when` (at once when it has passed); returns an id for cancel().
  std::uint64_t at(Clock::time_point when, std::function<void()> fn);
  // Drops a callback that has not started; unknown or fired ids are ignored.
  void cancel(std::uint64_t id);
  // Every pending callback runs now, in deadline order (a run that stops ends its waits).
  void expedite();

 private:
  struct State;
  std::shared_ptr<State> st_;
  std::thread thread_;
};

}  // namespace agentrt::actors::workflow
