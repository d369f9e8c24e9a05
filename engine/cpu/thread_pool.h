// ThreadPool: a fixed set of std::threads for data-parallel loops in the CPU backend.
// One thread at a time may call parallel_for (the backend's step thread); it takes part
// in the work itself and returns when every index has run.
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

  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable start_cv_;
  std::condition_variable done_cv_;
  std::uint64_t generation_ = 0;  // bumped per parallel_for; guarded by mu_
  std::size_t busy_ = 0;          // workers still inside the current job; guarded by mu_
  bool stop_ = false;
  const std::function<void(std::size_t)>* fn_ = nullptr;
  std::size_t n_ = 0;
  std::atomic<std::size_t> next_{0};
};

}  // namespace agentrt::cpu
