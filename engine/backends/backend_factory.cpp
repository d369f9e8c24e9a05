#include "engine/backends/backend_factory.h"

#include "engine/cpu/cpu_backend.h"
#ifdef AGENTRT_HAVE_CUDA
#include "kernels/cuda_backend.h"
#endif

namespace agentrt::backends {

bool backend_available(std::string_view kind) {
#ifdef AGENTRT_HAVE_CUDA
  if (kind == "cuda") return true;
#endif
  return kind == "cpu";
}

Result<std::unique_ptr<Backend>> make_backend(std::shared_ptr<const model::Model> model,
                                              const BackendChoice& choice) {
  if (choice.kind == "cpu") {
    auto b = cpu::CpuBackend::create(std::move(model),
                                     {choice.kv_blocks, choice.block_size, choice.cpu_threads, 0});
    if (!b.ok()) return b.error();
    return std::unique_ptr<Backend>(std::move(*b));
  }
  if (choice.kind != "cuda") {
    return make_error(ErrorCode::invalid_argument,
                      "backend '" + choice.kind + "': expected cpu or cuda");
  }
#ifdef AGENTRT_HAVE_CUDA
  kernels::CudaBackendOptions o;
  o.num_blocks = choice.kv_blocks;
  o.block_size = choice.block_size;
  o.device = choice.device;
  auto b = kernels::CudaBackend::create(std::move(model), o);
  if (!b.ok()) return b.error();
  return std::unique_ptr<Backend>(std::move(*b));
#else
  return make_error(ErrorCode::unsupported,
                    "backend 'cuda': this agentrt was built without CUDA (use cpu)");
#endif
}

}  // namespace agentrt::backends
