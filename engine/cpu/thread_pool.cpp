#include "engine/cpu/thread_pool.h"

#include <chrono>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define AGENTRT_CPU_RELAX() _mm_pause()
#else
#define AGENTRT_CPU_RELAX() std::this_thread::yield()
#endif

namespace agentrt::cpu {

ThreadPool::ThreadPool(int num_threads) {
  int n = num_threads > 0 ? num_threads : static_cast<int>(std::thread::hardware_concurrency());
  if (n < 1) n = 1;
  workers_.reserve(static_cast<std::size_t>(n - 1));
  for (int i = 1; i < n; ++i)
    workers_.emplace_back([this] { worker_loop(); });
}

ThreadPool::~ThreadPool() {
  stop_.store(true);
  { std::lock_guard<std::mutex> lock(mu_); }
  start_cv_.notify_all();
  for (auto& t : workers_)
    t.join();
}

void ThreadPool::run_items() {
  for (;;) {
    const std::size_t i = next_.fetch_add(1, std::memory_order_relaxed);
    if (i >= n_) return;
    call_(fn_, i);
  }
}

std::uint64_t ThreadPool::wait_for_job(std::uint64_t seen) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::microseconds(kSpinMicros);
  for (int spins = 0;; ++spins) {
    const std::uint64_t g = generation_.load(std::memory_order_acquire);
    if (g != seen || stop_.load(std::memory_order_relaxed)) return g;
    AGENTRT_CPU_RELAX();
    if ((spins & 63) == 63 && std::chrono::steady_clock::now() > deadline) break;
  }
  // Sleep. sleepers_ is raised before the predicate reads generation_ (both seq_cst), and
  // parallel_for bumps generation_ before it reads sleepers_: one of them sees the other.
  std::unique_lock<std::mutex> lock(mu_);
  sleepers_.fetch_add(1);
  start_cv_.wait(lock, [&] { return stop_.load() || generation_.load() != seen; });
  sleepers_.fetch_sub(1);
  return generation_.load(std::memory_order_acquire);
}

namespace {
constexpr std::uint64_t kClosed = ~std::uint64_t{0};
std::uint64_t job_tag(std::uint64_t generation) {
  return (generation & 0x7fffffffu) << 32;
}
}  // namespace

void ThreadPool::worker_loop() {
  std::uint64_t seen = 0;
  for (;;) {
    seen = wait_for_job(seen);
    if (stop_.load()) return;
    // Join the job unless the caller has closed it (or moved on to a later one).
    std::uint64_t e = entered_.load(std::memory_order_acquire);
    bool joined = false;
    while (e != kClosed && (e & ~std::uint64_t{0xffffffffu}) == job_tag(seen)) {
      if (entered_.compare_exchange_weak(e, e + 1, std::memory_order_acq_rel)) {
        joined = true;
        break;
      }
    }
    if (!joined) continue;
    run_items();
    left_.fetch_add(1, std::memory_order_release);
  }
}

void ThreadPool::run(std::size_t n, Call call, const void* fn) {
  if (n == 0) return;
  if (workers_.empty() || n == 1) {
    for (std::size_t i = 0; i < n; ++i)
      call(fn, i);
    return;
  }
  call_ = call;
  fn_ = fn;
  n_ = n;
  next_.store(0, std::memory_order_relaxed);
  left_.store(0, std::memory_order_relaxed);
  const std::uint64_t generation = generation_.load(std::memory_order_relaxed) + 1;
  entered_.store(job_tag(generation), std::memory_order_release);
  generation_.store(generation);  // seq_cst: publishes the job, then sleepers_ is read
  if (sleepers_.load() > 0) {
    { std::lock_guard<std::mutex> lock(mu_); }
    start_cv_.notify_all();
  }
  run_items();
  // Every index is claimed: close the job and wait for the workers that joined it.
  const std::uint64_t joined = entered_.exchange(kClosed, std::memory_order_acq_rel) & 0xffffffffu;
  for (int spins = 0; left_.load(std::memory_order_acquire) < joined; ++spins) {
    if (spins < 256) {
      AGENTRT_CPU_RELAX();
    } else {
      std::this_thread::yield();  // a worker was descheduled: give it the core
    }
  }
  fn_ = nullptr;
}

}  // namespace agentrt::cpu
