// RuntimePool: one Runtime per (model dir, backend, device), created on first use.
#include "actors/runtime_pool.h"

#include <filesystem>
#include <system_error>

#include "engine/backends/backend_factory.h"

namespace agentrt::actors {
namespace {

// Fails before the model loads for a backend this build cannot make.
Status check_backend(const ModelKey& key) {
  if (key.backend != "cpu" && key.backend != "cuda")
    return make_error(ErrorCode::invalid_argument,
                      "backend '" + key.backend + "': expected cpu or cuda");
  if (!backends::backend_available(key.backend))
    return make_error(ErrorCode::unsupported, "backend '" + key.backend +
                                                  "': this agentrt was built without it (use "
                                                  "backend: cpu)");
  return ok_status();
}

}  // namespace

std::string canonical_model_dir(const std::string& dir) {
  std::error_code ec;
  auto p = std::filesystem::weakly_canonical(dir, ec);
  return ec ? std::filesystem::path(dir).lexically_normal().string() : p.string();
}

RuntimePool::RuntimePool(RuntimeOptions base) : base_(std::move(base)) {}

RuntimePool::~RuntimePool() = default;

Result<Runtime*> RuntimePool::get(const ModelKey& key) {
  AGENTRT_TRY(check_backend(key));
  const std::string dir = canonical_model_dir(key.dir);
  const std::string id = dir + '\n' + key.backend + '\n' + std::to_string(key.device);
  Entry* e = nullptr;
  {
    std::lock_guard lk(mu_);
    auto& slot = entries_[id];
    if (!slot) slot = std::make_unique<Entry>();
    e = slot.get();  // entries are never erased: the pointer stays valid
  }
  std::lock_guard lk(e->load_mu);
  if (e->runtime) return e->runtime.get();
  RuntimeOptions o = base_;
  o.model_dir = dir;
  o.backend_kind = key.backend;  // made by backends::make_backend (unless base injects one)
  o.device = key.device;
  if (key.kv_blocks > 0) o.kv_blocks = key.kv_blocks;
  if (key.threads > 0) o.cpu_threads = key.threads;
  if (key.max_live_requests > 0) o.max_pending_requests = key.max_live_requests;
  o.weight_check = key.weight_check;
  auto rt = Runtime::create(std::move(o));
  if (!rt.ok()) return rt.error();
  e->runtime = std::move(*rt);
  {
    std::lock_guard tlk(e->tools_mu);
    for (const auto& t : base_.tools)
      e->tools[t.name] = t.builtin;
  }
  e->ready.store(e->runtime.get());
  return e->runtime.get();
}

RuntimePool::Entry* RuntimePool::find(Runtime* rt) {
  std::lock_guard lk(mu_);
  for (auto& [id, e] : entries_)
    if (e->ready.load() == rt) return e.get();
  return nullptr;
}

Status RuntimePool::add_tools(Runtime* rt, const std::vector<ToolConfig>& tools) {
  Entry* e = find(rt);
  if (!e) return make_error(ErrorCode::invalid_argument, "add_tools: not a runtime of this pool");
  std::lock_guard lk(e->tools_mu);
  for (const auto& t : tools) {
    auto it = e->tools.find(t.name);
    if (it != e->tools.end()) {
      if (it->second == t.builtin) continue;
      return make_error(ErrorCode::invalid_argument,
                        "tool '" + t.name + "' is already registered as another built-in");
    }
    AGENTRT_TRY(rt->add_tool(t));
    e->tools[t.name] = t.builtin;
  }
  return ok_status();
}

std::vector<Runtime*> RuntimePool::all() {
  std::lock_guard lk(mu_);
  std::vector<Runtime*> out;
  for (auto& [id, e] : entries_)
    if (Runtime* rt = e->ready.load()) out.push_back(rt);
  return out;
}

std::vector<std::pair<std::string, Runtime*>> RuntimePool::all_by_dir() {
  std::lock_guard lk(mu_);
  std::vector<std::pair<std::string, Runtime*>> out;
  for (auto& [id, e] : entries_)
    if (Runtime* rt = e->ready.load()) out.emplace_back(id.substr(0, id.find('\n')), rt);
  return out;
}

void RuntimePool::flush_kv() {
  // Best effort at shutdown: a runtime whose tier fails does not keep the others from theirs.
  for (Runtime* rt : all())
    rt->flush_kv().permit_unchecked();
}

}  // namespace agentrt::actors
