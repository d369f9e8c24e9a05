// ThreadPool: a fixed set of std::threads for data-parallel loops in the CPU backend.
// One thread at a time may call parallel_for (the backend's step thread); it takes part
// in the work itself and returns when every index has run.
//
// A forward step makes about ten parallel_for calls per layer, microseconds apart, so a
// condition-variable hand-off per call would cost more than the small calls themselves.
// Workers therefore spin (with pause) for kSpinMicros after a job before they sleep on a
// condition variable. The caller never waits for a worker that has not joined the job yet
// (on a shared machine it may be descheduled): it runs the unclaimed indices itself, closes
// the job, and waits only for the workers that joined before the close.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

namespace agentrt::cpu {

class ThreadPool {
 public:
  // How long an idle worker spins before it sleeps.
  static constexpr int kSpinMicros = 200;

  // num_threads counts the calling thread; 0 means std::thread::hardware_concurrency().
  explicit ThreadPool(int num_threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  // Threads that take part in parallel_for, the caller included.
  int size() const { return static_cast<int>(workers_.size()) + 1; }

  // Runs fn(i) once for every i in [0, n), spread over the pool; fn must not throw. fn is
  // called through a plain pointer (no std::function, so nothing is allocated per call).
  template <class Fn>
  void parallel_for(std::size_t n, const Fn& fn) {
    run(
        n, [](const void* f, std::size_t i) { (*static_cast<const Fn*>(f))(i); }, &fn);
  }

 private:
  using Call = void (*)(const void* fn, std::size_t i);
  void run(std::size_t n, Call call, const void* fn);
  void worker_loop();
  void run_items();
  // Waits until generation_ differs from seen (or stop); returns the new generation.
  std::uint64_t wait_for_job(std::uint64_t seen);

  std::vector<std::thread> workers_;
  std::mutex mu_;  // guards the sleep of idle workers
  std::condition_variable start_cv_;
  std::atomic<std::uint64_t> generation_{0};  // bumped per parallel_for, after the job is set
  std::atomic<int> sleepers_{0};              // workers blocked (or about to) on start_cv_
  // High 32 bits: the open job's generation; low: workers that joined it. kClosed once
  // the caller closed it.
  std::atomic<std::uint64_t> entered_{0};
  std::atomic<std::size_t> left_{0};  // workers that joined the current job and finished
  std::atomic<bool> stop_{false};
  Call call_ = nullptr;
  const void* fn_ = nullptr;
  std::size_t n_ = 0;
  std::atomic<std::size_t> next_{0};
};

}  // namespace agentrt::cpu
