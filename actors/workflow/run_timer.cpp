#include "actors/workflow/run_timer.h"

#include <condition_variable>
#include <map>
#include <mutex>
#include <utility>

namespace agentrt::actors::workflow {

struct RunTimer::State {
  std::mutex mu;
  std::condition_variable cv;
  // (deadline, id) -> callback: ordered by deadline, ties by id (scheduling order).
  std::map<std::pair<Clock::time_point, std::uint64_t>, std::function<void()>> pending;
  std::map<std::uint64_t, Clock::time_point> deadline_of;
  std::uint64_t next_id = 1;
  bool stop = false;
};

RunTimer::RunTimer() : st_(std::make_shared<State>()) {}

RunTimer::~RunTimer() {
  {
    std::lock_guard lk(st_->mu);
    st_->stop = true;
    st_->pending.clear();
    st_->deadline_of.clear();
  }
  st_->cv.notify_all();
  if (!thread_.joinable()) return;
  if (thread_.get_id() == std::this_thread::get_id())
    thread_.detach();  // inside a callback: the loop sees `stop` and ends (it owns st_)
  else
    thread_.join();
}

std::uint64_t RunTimer::at(Clock::time_point when, std::function<void()> fn) {
  std::lock_guard lk(st_->mu);
  if (st_->stop) return 0;
  const std::uint64_t id = st_->next_id++;
  st_->pending.emplace(std::make_pair(when, id), std::move(fn));
  st_->deadline_of[id] = when;
  if (!thread_.joinable()) {
    thread_ = std::thread([st = st_] {
      std::unique_lock held(st->mu);
      while (!st->stop) {
        if (st->pending.empty()) {
          st->cv.wait(held);
          continue;
        }
        auto first = st->pending.begin();
        if (first->first.first > Clock::now()) {
          // A copy: wait_until reads its deadline again after waking, when cancel() may
          // have erased the entry.
          const Clock::time_point deadline = first->first.first;
          st->cv.wait_until(held, deadline);
          continue;
        }
        auto due = std::move(first->second);
        st->deadline_of.erase(first->first.second);
        st->pending.erase(first);
        held.unlock();
        due();
        due = nullptr;  // its captures go before the lock is taken again
        held.lock();
      }
    });
  }
  st_->cv.notify_all();
  return id;
}

void RunTimer::cancel(std::uint64_t id) {
  std::lock_guard lk(st_->mu);
  auto it = st_->deadline_of.find(id);
  if (it == st_->deadline_of.end()) return;
  st_->pending.erase({it->second, id});
  st_->deadline_of.erase(it);
}

void RunTimer::expedite() {
  {
    std::lock_guard lk(st_->mu);
    decltype(st_->pending) now;
    const auto t = Clock::time_point::min();
    for (auto& [key, fn] : st_->pending) {
      now.emplace(std::make_pair(t, key.second), std::move(fn));
      st_->deadline_of[key.second] = t;
    }
    st_->pending = std::move(now);
  }
  st_->cv.notify_all();
}

}  // namespace agentrt::actors::workflow
