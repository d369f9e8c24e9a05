// CUDA devices visible to this process. Safe to call on a machine without a GPU: it returns
// an error naming the CUDA runtime's reason.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "engine/common/result.h"

namespace agentrt::kernels {

struct DeviceInfo {
  int index = 0;
  std::string name;
  int major = 0;  // compute capability
  int minor = 0;
  std::size_t total_memory = 0;  // bytes
  int multiprocessors = 0;
};

Result<std::vector<DeviceInfo>> list_devices();

}  // namespace agentrt::kernels
