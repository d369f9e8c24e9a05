#pragma once
// Per-kernel device time of an eager step, for benchmarks: CUDA events recorded on the
// stream after each launch; the time between two marks goes to the second mark's name.
// Off by default (a mark is then a no-op); never enabled while a graph is being captured.
#include <cuda_runtime.h>

#include <map>
#include <string>
#include <vector>

#include "engine/common/result.h"

namespace agentrt::kernels {

struct KernelTime {
  double ms = 0;  // summed over the collected steps
  std::int64_t launches = 0;
};

class KernelTimer {
 public:
  KernelTimer() = default;
  ~KernelTimer();
  KernelTimer(const KernelTimer&) = delete;
  KernelTimer& operator=(const KernelTimer&) = delete;

  bool enabled() const { return enabled_; }
  // Turning it on starts a step: begin() then mark()s, then collect().
  void set_enabled(bool on) { enabled_ = on; }
  // Records the step's first event on `stream`.
  Status begin(cudaStream_t stream);
  // Records an event after the launch just queued on `stream`; `what` is a string literal.
  Status mark(const char* what, cudaStream_t stream);
  // Waits for the last event and adds each interval to its name. Errors: a CUDA failure.
  Status collect();
  const std::map<std::string, KernelTime>& times() const { return times_; }
  void reset() { times_.clear(); }

 private:
  Result<cudaEvent_t> event(std::size_t i);

  bool enabled_ = false;
  std::vector<cudaEvent_t> events_;  // pooled; the first `used_` belong to this step
  std::vector<const char*> names_;   // names_[i] ends at events_[i + 1]
  std::size_t used_ = 0;
  std::map<std::string, KernelTime> times_;
};

}  // namespace agentrt::kernels
