// ThreadPool: a fixed set of std::threads for data-parallel loops in the CPU backend.
// One thread at a time may call parallel_for (the backend's step thread); it takes part
// in the work itself and returns when every index has run.
//
// A forward step makes about ten parallel_for calls per layer, microseconds apart, so a
// condition-variable hand-off per call would cost more than the small calls themselves.
// Workers therefore spin (with pause) for kSpinMicros after a job before they sleep on a
// condition variable, and the caller spins (yielding) until the workers are done.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
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

  // Runs fn(i) once for every i in [0, n), spread over the pool; fn must not throw.
  void parallel_for(std::size_t n, const std::function<void(std::size_t)>& fn);

 private:
  void worker_loop();
  void run_items();
  // Waits until generation_ differs from seen (or stop); returns the new generation.
  std::uint64_t wait_for_job(std::uint64_t seen);

  std::vector<std::thread> workers_;
  std::mutex mu_;  // guards the sleep of idle workers
  std::condition_variable start_cv_;
  std::atomic<std::uint64_t> generation_{0};  // bumped per parallel_for, after the job is set
  std::atomic<int> sleepers_{0};              // workers blocked (or about to) on start_cv_
  std::atomic<std::size_t> active_{0};        // workers still inside the current job
  std::atomic<bool> stop_{false};
  const std::function<void(std::size_t)>* fn_ = nullptr;
  std::size_t n_ = 0;
  std::atomic<std::size_t> next_{0};
};

}  // namespace agentrt::cpu
