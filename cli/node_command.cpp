// agentrt node --join HOST:PORT: a worker node of a cluster (cluster/node.h). It loads its
// model, joins the coordinator with the shared secret and runs the jobs routed to it until
// SIGINT or SIGTERM.
#include <atomic>
#include <charconv>
#include <cstdio>
#include <memory>
#include <thread>

#include "cli/cancel_signals.h"
#include "cli/cluster_tls_flags.h"
#include "cli/command.h"
#include "cli/cpu_precision.h"
#include "cli/default_model.h"
#include "cli/flag_text.h"
#include "cli/flags/resource_flags.h"
#include "cli/session_pin_flags.h"
#include "cluster/node.h"
#include "cluster/secret.h"

namespace agentrt::cli {
namespace {

struct NodeArgs {
  std::string join;
  std::string model_dir;
  std::string backend = "cpu";
  std::string secret_file;
  std::string name;
  flags::ResourceFlags resources;
  std::string cpu_precision;
  cluster::TlsFiles tls;
  std::string kv_store;
  double kv_store_gib = 1;
  SessionPinFlags sessions;
};

int run_node_command(const NodeArgs& a) {
  apply_cpu_precision(a.cpu_precision);
  const auto colon = a.join.rfind(':');
  if (colon == std::string::npos || colon == 0)
    return usage_error("node", "--join: expected HOST:PORT, got '" + a.join + "'");
  int port = 0;
  const std::string port_text = a.join.substr(colon + 1);
  auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc() || end != port_text.data() + port_text.size() || port < 1 || port > 65535)
    return usage_error("node", "--join: the port must be 1..65535, got '" + port_text + "'");
  auto resources = flags::parse_resource_flags(a.resources, std::thread::hardware_concurrency());
  if (!resources.ok()) return usage_error("node", resources.error().message);
  auto secret = cluster::load_secret(a.secret_file);
  if (!secret.ok()) return usage_error("node", secret.error().message);

  cluster::NodeOptions o;
  o.host = a.join.substr(0, colon);
  o.port = static_cast<std::uint16_t>(port);
  o.secret = std::move(*secret);
  o.name = a.name;
  o.model_dir = a.model_dir;
  o.fallback_model_dir = default_model_dir().string();
  o.backend = a.backend;
  o.threads = resources->threads;
  o.kv_blocks = resources->kv_blocks;
  o.tls = a.tls;
  o.kv_store_dir = a.kv_store;
  o.kv_store_bytes = static_cast<std::uint64_t>(a.kv_store_gib * (1ull << 30));
  o.sessions = session_options(a.sessions);

  install_cancel_signals();
  std::atomic<bool> stop{false};
  std::thread watcher([&] {
    while (!stop.load()) {
      if (take_cancel_signal() != 0) stop.store(true);
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  });
  const Status st = cluster::run_node(o, stop);
  stop.store(true);
  watcher.join();
  remove_cancel_signals();
  if (!st.ok()) {
    std::fprintf(stderr, "agentrt node: %s\n", st.error().message.c_str());
    return kExitFailure;
  }
  return kExitOk;
}

}  // namespace

CommandFn add_node_command(CLI::App& app) {
  auto a = std::make_shared<NodeArgs>();
  auto* cmd =
      app.add_subcommand("node", "Run a worker node of a cluster (agentrt serve --cluster-port)");
  cmd->add_option("--join", a->join, "The coordinator's HOST:PORT")->required();
  cmd->add_option("--model", a->model_dir, "Model directory (default: tiny-calc)");
  cmd->add_option("--backend", a->backend, "cpu or cuda")->check(CLI::IsMember({"cpu", "cuda"}));
  cmd->add_option("--secret-file", a->secret_file,
                  "File holding the cluster secret (else $AGENTRT_CLUSTER_SECRET_FILE or "
                  "$AGENTRT_CLUSTER_SECRET)");
  add_cluster_tls_options(cmd, "--tls-", a->tls);
  cmd->add_option("--name", a->name, "The node's name in the coordinator (default host:pid)");
  add_flag_text(cmd, "--threads", a->resources.threads, "CPU threads (default: all cores)");
  add_cpu_precision_flag(cmd, a->cpu_precision);
  add_flag_text(cmd, "--kv-blocks", a->resources.kv_blocks, "KV blocks of 16 tokens");
  cmd->add_option("--kv-store", a->kv_store,
                  "Directory of a RocksDB KV snapshot tier that outlives the process "
                  "(default: in memory)");
  cmd->add_option("--kv-store-gib", a->kv_store_gib,
                  "Size bound of the KV snapshot tier in GiB (default 1; LRU beyond)")
      ->check(CLI::Range(0.001, 1048576.0));
  add_session_pin_options(cmd, a->sessions);
  return [a] { return run_node_command(*a); };
}

}  // namespace agentrt::cli
