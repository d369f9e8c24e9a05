// `agentrt serve [--host H] [--port P] [--data DIR] [--model DIR]... [--backend cpu|cuda]
// [--api-key-file F] ...`: the REST server (api/server.h, docs/api.md). It binds 127.0.0.1
// by default; any other address needs API keys. SIGINT or SIGTERM stops it cleanly: no new
// jobs, running ones checkpointed (they resume on the next start), KV and the store flushed.
// Exit: 0 stopped, 1 could not start, 2 usage.
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <thread>

#include "actors/runtime_pool.h"
#include "api/server.h"
#include "cli/cancel_signals.h"
#include "cli/cluster_completions.h"
#include "cli/cluster_jobs.h"
#include "cli/cluster_tls_flags.h"
#include "cli/command.h"
#include "cli/cpu_precision.h"
#include "cli/default_model.h"
#include "cli/flag_text.h"
#include "cli/flags/resource_flags.h"
#include "cli/session_pin_flags.h"
#include "cluster/secret.h"
#include "engine/model/weight_check.h"
#include "engine/scheduler/scheduler.h"

namespace agentrt::cli {
namespace {

struct ServeArgs {
  std::string host = "127.0.0.1";
  int port = 8080;
  std::string data = "agentrt-data";
  std::vector<std::string> models;
  std::string backend = "cpu";
  std::string api_key_file;
  std::string workflows;
  flags::ResourceFlags resources;
  std::string check_weights = "sample";
  std::string cpu_precision;
  int max_running = 8;
  int max_queued = 64;
  int max_per_client = 32;
  double kv_store_gib = 16;
  std::string thinking = "auto";
  SessionPinFlags sessions;
  int http_threads = 64;
  int max_completions = 0;
  double host_tier_gib = -1;  // < 0: the runtime's default
  std::string schedule = "attained";
  bool blend_anchors = false;
  kv::AnchorOptions anchors;
  std::vector<std::string> allow_tools;  // http, command, mcp
  int cluster_port = -1;                 // < 0: no cluster
  std::string cluster_bind = "127.0.0.1";
  std::string cluster_secret_file;
  std::string cluster_policy = "least_loaded";
  bool cluster_local_engine = false;   // the server's engine is a routing candidate too
  std::string cluster_route = "jobs";  // jobs: whole jobs to nodes; turns: each agent turn
  cluster::TlsFiles cluster_tls;       // --cluster-tls-*
};

// --cluster-port: the coordinator that worker nodes (`agentrt node --join`) join; jobs run
// on them while one is live. Null when the flag is absent.
Result<std::shared_ptr<api::RemoteJobs>> start_cluster(const ServeArgs& a) {
  if (a.cluster_port < 0) return std::shared_ptr<api::RemoteJobs>();
  auto secret = cluster::load_secret(a.cluster_secret_file);
  if (!secret.ok()) return secret.error();
  cluster::CoordinatorOptions co;
  co.bind = a.cluster_bind;
  co.port = static_cast<std::uint16_t>(a.cluster_port);
  co.secret = std::move(*secret);
  co.policy = a.cluster_policy;
  co.tls = a.cluster_tls;
  co.route_turns = a.cluster_route == "turns";
  auto c = cluster::Coordinator::start(std::move(co));
  if (!c.ok()) return c.error();
  spdlog::info("cluster: workers join at {}:{}{}", a.cluster_bind, (*c)->port(),
               a.cluster_tls.enabled() ? " (TLS)" : "");
  return std::shared_ptr<api::RemoteJobs>(std::make_shared<ClusterJobs>(std::move(*c)));
}

int serve(const ServeArgs& a) {
  apply_cpu_precision(a.cpu_precision);
  auto resources = flags::parse_resource_flags(a.resources, std::thread::hardware_concurrency());
  if (!resources.ok()) {
    std::fprintf(stderr, "agentrt serve: %s\n", resources.error().message.c_str());
    return kExitUsage;
  }
  spdlog::set_default_logger(spdlog::stderr_color_mt("agentrt"));
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
  api::ServerOptions o;
  o.host = a.host;
  o.port = a.port;
  o.data_dir = a.data;
  for (const auto& m : a.models)
    o.model_dirs.emplace_back(m);
  if (o.model_dirs.empty()) o.model_dirs.push_back(default_model_dir());
  o.workflows_dir = a.workflows;
  o.api_key_file = a.api_key_file;
  o.runner.backend = a.backend;
  o.runner.threads = resources->threads;
  o.runner.kv_blocks = resources->kv_blocks;
  o.runner.weight_check = *model::parse_weight_check(a.check_weights);  // CLI11 checked it
  o.jobs.max_running_jobs = a.max_running;
  o.jobs.max_queued_jobs = a.max_queued;
  o.jobs.max_jobs_per_client = a.max_per_client;
  o.kv_store_max_bytes = static_cast<std::uint64_t>(a.kv_store_gib * (1ull << 30));
  if (a.thinking != "auto") o.enable_thinking = a.thinking == "on";
  o.http_threads = a.http_threads;
  if (a.host_tier_gib >= 0)
    o.host_tier_bytes = static_cast<std::size_t>(a.host_tier_gib * (1ull << 30));
  o.max_completions = a.max_completions;
  o.order = *scheduler::parse_order(a.schedule);  // CLI11 checked the name
  o.blend_anchors = a.blend_anchors;
  o.anchors = a.anchors;
  for (const auto& t : a.allow_tools) {  // CLI11 checked the names
    o.jobs.tools.http = o.jobs.tools.http || t == "http";
    o.jobs.tools.command = o.jobs.tools.command || t == "command";
    o.jobs.tools.mcp = o.jobs.tools.mcp || t == "mcp";
  }
  o.sessions = session_options(a.sessions);
  auto cluster = start_cluster(a);
  if (!cluster.ok()) {
    std::fprintf(stderr, "agentrt serve: --cluster-port: %s\n", cluster.error().message.c_str());
    return kExitFailure;
  }
  o.jobs.remote = std::move(*cluster);
  auto cluster_jobs = std::dynamic_pointer_cast<ClusterJobs>(o.jobs.remote);
  if (cluster_jobs) {
    o.remote_completions = std::make_shared<ClusterCompletions>(cluster_jobs);
    o.cluster_metrics = [cluster_jobs] { return cluster_jobs->metrics(); };
  }
  const bool local_engine = cluster_jobs && a.cluster_local_engine;
  if (local_engine) o.kv_events = cluster_jobs->coordinator().local_kv_listener();
  // --cluster-route turns: jobs run here, and the default model's agent turns go to workers.
  const bool route_turns = cluster_jobs && a.cluster_route == "turns";
  if (route_turns)
    o.engine_front = [c = &cluster_jobs->coordinator(),
                      dir = actors::canonical_model_dir(o.model_dirs.front().string())](
                         const actors::EngineFrontContext& e) {
      if (e.model_dir != dir) return caf::actor();  // other models run here
      return c->turn_front(e.engine, e.fingerprint, e.block_size);
    };
  install_cancel_signals();  // a signal while the model loads stops the start
  auto server = api::Server::create(o);
  if (!server.ok()) {
    std::fprintf(stderr, "agentrt serve: %s\n", server.error().message.c_str());
    remove_cancel_signals();
    return kExitFailure;
  }
  // --cluster-local-engine: the server's engine joins the router; with turn routing it runs
  // the jobs either way.
  if (local_engine || route_turns)
    cluster_jobs->coordinator().attach_local(
        [s = server->get()] {
          cluster::NodeLoad load;  // as a worker's heartbeat reports it
          load.free_blocks = 0;
          for (const auto& m : s->engine_metrics()) {
            load.waiting += m.queued_requests;
            load.free_blocks += m.kv_available_blocks;
          }
          return load;
        },
        local_engine);
  std::thread http([s = server->get()] { s->run(); });
  while (take_cancel_signal() == 0)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  (*server)->stop();
  http.join();
  if (local_engine || route_turns)
    cluster_jobs->coordinator().stop_local();  // before the engines stop
  remove_cancel_signals();
  return kExitOk;
}

}  // namespace

CommandFn add_serve_command(CLI::App& app) {
  auto a = std::make_shared<ServeArgs>();
  auto* cmd = app.add_subcommand("serve", "Serve the REST API: durable jobs, KV kept on disk");
  cmd->add_option("--host", a->host, "Address to bind (default 127.0.0.1; others need keys)");
  cmd->add_option("--port", a->port, "TCP port (default 8080; 0 = any free port)")
      ->check(CLI::Range(0, 65535));
  cmd->add_option("--data", a->data, "Data directory: jobs, events, checkpoints, KV blocks");
  cmd->add_option("--model", a->models,
                  "Model directory workflows may use, repeatable; the first is the default "
                  "(default: tiny-calc)");
  cmd->add_option("--backend", a->backend, "cpu or cuda")->check(CLI::IsMember({"cpu", "cuda"}));
  cmd->add_option("--api-key-file", a->api_key_file,
                  "File of API keys, one per line (Authorization: Bearer KEY)");
  cmd->add_option("--workflows", a->workflows,
                  "Directory of named workflows ({\"workflow\": NAME}; default DATA/workflows)");
  add_flag_text(cmd, "--threads", a->resources.threads,
                "CPU threads per model (0 = all cores; at most 4 per hardware thread, 256)");
  add_flag_text(cmd, "--kv-blocks", a->resources.kv_blocks,
                "KV cache blocks of 16 tokens per model (0 = 2048; at most 4194304)");
  add_cpu_precision_flag(cmd, a->cpu_precision);
  add_check_weights_flag(cmd, a->check_weights);
  cmd->add_option("--max-running-jobs", a->max_running, "Jobs executing at once (default 8)")
      ->check(CLI::Range(1, 1024));
  cmd->add_option("--max-queued-jobs", a->max_queued,
                  "Jobs accepted and waiting; beyond them 429 (default 64)")
      ->check(CLI::Range(0, 100000));
  cmd->add_option("--max-jobs-per-client", a->max_per_client,
                  "Queued + running jobs per client (default 32)")
      ->check(CLI::Range(1, 100000));
  cmd->add_option("--kv-store-gib", a->kv_store_gib,
                  "Size bound of the KV snapshot store in GiB (default 16; LRU beyond)")
      ->check(CLI::Range(0.001, 1048576.0));
  cmd->add_option("--thinking", a->thinking,
                  "Qwen3 enable_thinking of OpenAI chat requests that do not set "
                  "chat_template_kwargs: auto (template default), on, off")
      ->check(CLI::IsMember({"auto", "on", "off"}));
  add_session_pin_options(cmd, a->sessions);
  add_schedule_option(cmd, a->schedule);
  add_blend_anchor_flags(cmd, a->blend_anchors, a->anchors);
  cmd->add_option("--allow-tools", a->allow_tools,
                  "Workflow tools that reach the network or run programs, off by default: "
                  "http, command (builtin command and custom commands), mcp (comma-separated)")
      ->delimiter(',')
      ->check(CLI::IsMember({"http", "command", "mcp"}));
  auto* cluster_port =
      cmd->add_option("--cluster-port", a->cluster_port,
                      "Coordinate a cluster: worker nodes (agentrt node --join) join on this port "
                      "(0 = any free port); jobs run on them while one is live")
          ->check(CLI::Range(0, 65535));
  cmd->add_option("--cluster-bind", a->cluster_bind,
                  "Address the cluster port listens on (default 127.0.0.1)");
  cmd->add_option("--cluster-secret-file", a->cluster_secret_file,
                  "File holding the cluster secret (else $AGENTRT_CLUSTER_SECRET_FILE or "
                  "$AGENTRT_CLUSTER_SECRET)");
  add_cluster_tls_options(cmd, "--cluster-tls-", a->cluster_tls, cluster_port);
  cmd->add_option("--cluster-policy", a->cluster_policy,
                  "Routing policy: least_loaded (default), round_robin, prefix_aware, "
                  "program_affinity")
      ->check(CLI::IsMember({"least_loaded", "round_robin", "prefix_aware", "program_affinity"}));
  cmd->add_flag("--cluster-local-engine,!--no-cluster-local-engine", a->cluster_local_engine,
                "Make the server's own engine a routing candidate beside the workers (node "
                "'local'); off by default: with a worker joined, everything runs on workers")
      ->needs(cluster_port);
  cmd->add_option("--cluster-route", a->cluster_route,
                  "What the cluster routes: jobs (default; each job runs whole on one node, tools "
                  "included) or turns (jobs run on this server, each agent turn and best-of sample "
                  "goes to a worker's engine)")
      ->check(CLI::IsMember({"jobs", "turns"}))
      ->needs(cluster_port);
  cmd->add_option("--host-tier-gib", a->host_tier_gib,
                  "RAM in GiB for KV blocks evicted from the device (default: 1/8 of RAM, at "
                  "most 16; 0 = none)")
      ->check(CLI::Range(0.0, 1048576.0));
  cmd->add_option("--http-threads", a->http_threads,
                  "HTTP request workers besides event streams (default 64)")
      ->check(CLI::Range(9, 4096));
  cmd->add_option("--max-completions", a->max_completions,
                  "OpenAI completions in flight before 429 (default --http-threads - 8)")
      ->check(CLI::Range(1, 4096));
  return [a]() { return serve(*a); };
}

}  // namespace agentrt::cli
