// Turning CUDA runtime and cuBLASLt return codes into Status values. Host code only.
#pragma once

#include <cublasLt.h>
#include <cuda_runtime.h>

#include <string>

#include "engine/common/result.h"

namespace agentrt::kernels {

// ok_status() for cudaSuccess, else an internal error "<what>: <CUDA's message>".
inline Status cuda_status(cudaError_t err, const char* what) {
  if (err == cudaSuccess) return ok_status();
  const ErrorCode code =
      err == cudaErrorMemoryAllocation ? ErrorCode::out_of_memory : ErrorCode::internal;
  return make_error(
      code, std::string(what) + ": " + cudaGetErrorName(err) + ": " + cudaGetErrorString(err));
}

inline Status cublas_status(cublasStatus_t st, const char* what) {
  if (st == CUBLAS_STATUS_SUCCESS) return ok_status();
  return make_error(ErrorCode::internal, std::string(what) + ": cuBLASLt status " +
                                             std::to_string(static_cast<int>(st)));
}

// The launch error of the last kernel (configuration errors surface here at once; faults
// inside a kernel surface at the next synchronizing call).
inline Status launch_status(const char* kernel) {
  return cuda_status(cudaGetLastError(), kernel);
}

}  // namespace agentrt::kernels

#define AGENTRT_CUDA_TRY(expr) AGENTRT_TRY(::agentrt::kernels::cuda_status((expr), #expr))
