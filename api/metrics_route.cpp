// GET /metrics: the Prometheus text exposition of ServerMetrics (docs/metrics.md), with a
// snapshot of every loaded runtime, the jobs by state and the session table.
#include <filesystem>
#include <map>
#include <set>

#include "api/server_impl.h"

namespace agentrt::api {
namespace {

// As RuntimePool names its runtimes' directories (symlinks resolved).
std::string canonical_dir(const std::filesystem::path& dir) {
  std::error_code ec;
  auto p = std::filesystem::weakly_canonical(dir, ec);
  return ec ? dir.lexically_normal().string() : p.string();
}

// Each loaded runtime under the model name the OpenAI API uses: the basename of the model
// directory as given to the server; a runtime of another directory (a workflow's model)
// under its own basename, or its path when that name is taken.
std::vector<std::pair<std::string, actors::RuntimeMetrics>> runtime_metrics(Server::Impl& impl) {
  std::map<std::string, std::string> names;  // canonical dir -> model name
  for (const auto& dir : impl.opt.model_dirs)
    names.emplace(canonical_dir(dir), model_name(dir));
  std::vector<std::pair<std::string, actors::RuntimeMetrics>> out;
  std::set<std::string> used;
  for (const auto& [dir, rt] : impl.pool->all_by_dir()) {
    auto it = names.find(dir);
    std::string name = it != names.end() ? it->second : model_name(dir);
    if (used.count(name) != 0) name = dir;
    while (used.count(name) != 0)
      name += "+";  // the same dir on another backend or device
    used.insert(name);
    out.emplace_back(std::move(name), rt->metrics());
  }
  return out;
}

}  // namespace

void install_metrics_route(Server::Impl& impl) {
  impl.http.Get("/metrics", [&impl](const httplib::Request&, httplib::Response& res) {
    MetricsSnapshot s;
    if (impl.pool) s.models = runtime_metrics(impl);
    if (impl.jobs) s.jobs_by_state = impl.jobs->counts_by_state();
    if (impl.sessions) s.sessions = impl.sessions->metrics();
    if (impl.opt.cluster_metrics) s.cluster = impl.opt.cluster_metrics();
    res.status = 200;
    res.set_content(impl.metrics.render(s), kMetricsContentType);
  });
}

}  // namespace agentrt::api
