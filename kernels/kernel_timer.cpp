#include "kernels/kernel_timer.h"

#include "kernels/cuda_check.h"

namespace agentrt::kernels {

KernelTimer::~KernelTimer() {
  for (cudaEvent_t e : events_)
    cudaEventDestroy(e);
}

Result<cudaEvent_t> KernelTimer::event(std::size_t i) {
  while (events_.size() <= i) {
    cudaEvent_t e = nullptr;
    const Status st = cuda_status(cudaEventCreate(&e), "kernel timer: event");
    if (!st.ok()) return st.error();
    events_.push_back(e);
  }
  return events_[i];
}

Status KernelTimer::begin(cudaStream_t stream) {
  used_ = 0;
  names_.clear();
  if (!enabled_) return ok_status();
  auto e = event(0);
  if (!e.ok()) return e.error();
  used_ = 1;
  return cuda_status(cudaEventRecord(*e, stream), "kernel timer: record");
}

Status KernelTimer::mark(const char* what, cudaStream_t stream) {
  if (!enabled_ || used_ == 0) return ok_status();
  auto e = event(used_);
  if (!e.ok()) return e.error();
  ++used_;
  names_.push_back(what);
  return cuda_status(cudaEventRecord(*e, stream), "kernel timer: record");
}

Status KernelTimer::collect() {
  if (used_ < 2) return ok_status();
  AGENTRT_TRY(cuda_status(cudaEventSynchronize(events_[used_ - 1]), "kernel timer: sync"));
  for (std::size_t i = 0; i + 1 < used_; ++i) {
    float ms = 0;
    AGENTRT_TRY(cuda_status(cudaEventElapsedTime(&ms, events_[i], events_[i + 1]),
                            "kernel timer: elapsed"));
    KernelTime& t = times_[names_[i]];
    t.ms += ms;
    ++t.launches;
  }
  used_ = 0;
  names_.clear();
  return ok_status();
}

}  // namespace agentrt::kernels
