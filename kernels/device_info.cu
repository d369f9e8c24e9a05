#include <cuda_runtime.h>

#include "kernels/device_info.h"

namespace agentrt::kernels {

Result<std::vector<DeviceInfo>> list_devices() {
  int count = 0;
  cudaError_t err = cudaGetDeviceCount(&count);
  if (err != cudaSuccess) {
    return make_error(ErrorCode::not_found,
                      std::string("cudaGetDeviceCount: ") + cudaGetErrorString(err));
  }
  std::vector<DeviceInfo> devices;
  for (int i = 0; i < count; ++i) {
    cudaDeviceProp prop{};
    err = cudaGetDeviceProperties(&prop, i);
    if (err != cudaSuccess) {
      return make_error(ErrorCode::internal,
                        std::string("cudaGetDeviceProperties: ") + cudaGetErrorString(err));
    }
    devices.push_back(
        {i, prop.name, prop.major, prop.minor, prop.totalGlobalMem, prop.multiProcessorCount});
  }
  return devices;
}

}  // namespace agentrt::kernels
