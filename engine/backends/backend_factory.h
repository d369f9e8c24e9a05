// make_backend: the one place where a backend kind becomes a Backend. The CLI's generate,
// the Runtime (and through it the workflow runner and the server) all build theirs here.
// The CUDA backend exists only in builds with CUDA (kernels/, macro AGENTRT_HAVE_CUDA);
// this library sits above kernels/, which depends on the engine, so it is not part of
// agentrt_engine.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "engine/backend.h"
#include "engine/common/result.h"
#include "engine/model/model.h"

namespace agentrt::backends {

// KV blocks (of 16 tokens) of a runtime's pool when nobody sizes it: RuntimeOptions::
// kv_blocks, a workflow model's kv_blocks 0. 32,768 tokens.
inline constexpr int kDefaultKvBlocks = 2048;

struct BackendChoice {
  std::string kind = "cpu";  // "cpu", or "cuda" (bf16 on the GPU)
  int device = 0;            // CUDA device ordinal; ignored by the CPU backend
  int kv_blocks = kDefaultKvBlocks;
  int cpu_threads = 0;  // CPU backend threads; 0 = all cores
  int block_size = 16;  // tokens per KV block
};

// Whether this build can make `kind`: "cpu" always, "cuda" with AGENTRT_HAVE_CUDA.
bool backend_available(std::string_view kind);

// The backend `choice` names, for a loaded model. Errors: invalid_argument for a kind other
// than cpu or cuda; unsupported for cuda in a build without it; the backend's own create
// errors (a pool over its memory limit is out_of_memory, a bad device invalid_argument).
Result<std::unique_ptr<Backend>> make_backend(std::shared_ptr<const model::Model> model,
                                              const BackendChoice& choice);

}  // namespace agentrt::backends
