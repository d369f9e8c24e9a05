// RuntimePool: the one place runtimes are built. The CLI's `run` and the server's jobs ask it
// for a model's Runtime; the first request for a key loads the model, and every later one
// (any workflow, any job) shares that Runtime, its engine and its KV cache.
//
// Threads: every method may be called from any thread. A model loads on the thread that
// asks for it first; others asking for the same key wait for it, other keys do not.
// Runtimes live as long as the pool: it must outlive every runner that uses them.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "actors/runtime.h"
#include "actors/tool.h"
#include "engine/common/result.h"
#include "engine/model/weight_check.h"

namespace agentrt::actors {

// The directory as the OS resolves it (symlinks, "..", "."), as the pool keys its runtimes
// (RuntimeOptions::model_dir); as written, normalised, when it does not exist.
std::string canonical_model_dir(const std::string& dir);

// Which runtime: the model directory (canonicalised: two spellings of one directory share
// a runtime), backend and device. The other fields apply only when the key is first seen.
struct ModelKey {
  std::string dir;
  std::string backend = "cpu";  // "cpu" or "cuda"
  int device = 0;
  int kv_blocks = 0;          // 0: the base's kv_blocks (backends::kDefaultKvBlocks)
  int threads = 0;            // CPU threads; 0: the base's cpu_threads
  int max_live_requests = 0;  // 0: the base's max_pending_requests
  model::WeightCheck weight_check = model::WeightCheck::sample;
};

class RuntimePool {
 public:
  // `base` is the template of every runtime (engine options, TTLs, tools to register, the
  // persistent KV tier...); model_dir, backend_kind, device, kv_blocks, threads, the live
  // bound and the weight check are filled per key.
  explicit RuntimePool(RuntimeOptions base);
  // Destroys the runtimes (each cancels its jobs and flushes its KV).
  ~RuntimePool();
  RuntimePool(const RuntimePool&) = delete;
  RuntimePool& operator=(const RuntimePool&) = delete;

  // The runtime for `key`, created on first use. A failed load is not remembered (the next
  // call tries again). Errors: a backend other than cpu/cuda, the model's load errors.
  Result<Runtime*> get(const ModelKey& key);
  // Registers each tool on `rt` (a runtime of this pool) unless one of that name already
  // is. Errors: a name registered as another built-in, the runtime's add_tool errors.
  Status add_tools(Runtime* rt, const std::vector<ToolConfig>& tools);
  // Every runtime created so far.
  std::vector<Runtime*> all();
  // The same, each with its model directory (canonicalised, as the key's dir), in key order.
  std::vector<std::pair<std::string, Runtime*>> all_by_dir();
  // Writes every runtime's cached KV to its persistent tier, if it has one, and waits for
  // the writes (Runtime::flush_kv; shutdown). Best effort: a failing tier is skipped.
  void flush_kv();

 private:
  struct Entry {
    std::mutex load_mu;  // held while the model loads
    std::unique_ptr<Runtime> runtime;
    std::atomic<Runtime*> ready{nullptr};  // runtime, once loaded
    std::mutex tools_mu;
    std::map<std::string, BuiltinTool> tools;  // registered on it (guarded by tools_mu)
  };
  Entry* find(Runtime* rt);

  const RuntimeOptions base_;
  std::mutex mu_;                                          // guards entries_ (not their contents)
  std::map<std::string, std::unique_ptr<Entry>> entries_;  // by dir + backend + device
};

}  // namespace agentrt::actors
