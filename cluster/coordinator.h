// The coordinator of a cluster (`agentrt serve --cluster-port P`): publishes one actor on
// bind:port (127.0.0.1 unless told otherwise), admits worker nodes that prove the shared
// secret (secret.h), keeps a table of them with their load, and routes each submitted
// workflow job to a node through the Router (router.h, the policy named in the options).
//
// Failure: a node that misses heartbeats for `heartbeat_timeout`, or whose connection
// drops, is dead; each job it was running goes to another node with the checkpoints that
// node had sent (finished steps and map items are not run again). Results of an attempt
// that was moved away are dropped, so a job completes exactly once. A job waits while no
// node is live. A dead node that comes back joins again as a new member.
//
// With route_turns, jobs run on the server's runtime and each agent turn is routed instead
// (turn_front.h); a job whose attempt fails after a node was lost runs again from its
// checkpoints (at most kMaxTurnLossRetries times).
//
// With attach_local(), the server's own engine is a member too (local_engine.h): node 0,
// "local", never dead; it runs what the router gives it through the closures each job and
// completion carries (run_here).
//
// Threads: every method may be called from any thread; callbacks run on the coordinator's
// actor thread and must return quickly.
#pragma once

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "cluster/kv_index.h"
#include "cluster/local_engine.h"
#include "cluster/transport.h"
#include "cluster/wire.h"
#include "engine/common/result.h"
#include "engine/kv/kv_events.h"

namespace agentrt::cluster {

struct CoordinatorOptions {
  std::string bind = "127.0.0.1";            // the address to listen on (--cluster-bind)
  std::uint16_t port = 0;                    // 0: any free port (port() says which)
  std::string secret;                        // secret.h's load_secret
  std::string policy = "least_loaded";       // make_policy's names
  std::chrono::milliseconds heartbeat{250};  // the interval told to nodes
  std::chrono::milliseconds heartbeat_timeout{2000};
  TlsFiles tls;  // --cluster-tls-*: all empty for plain TCP (transport.h)
  // `--cluster-route turns`: every job runs on the server's runtime (attach_local) and its
  // agents' turns and best-of groups are routed one by one through turn_front(); false:
  // each job is routed whole to one node, which runs its agents and tools.
  bool route_turns = false;
};

struct ClusterJob {
  std::string id;  // unique among this coordinator's jobs
  std::string workflow_yaml;
  std::string workflow_file;  // names the text in messages, anchors relative model paths
  std::vector<std::pair<std::string, std::string>> inputs;       // NAME=VALUE, as --input
  std::vector<std::pair<std::string, std::string>> checkpoints;  // a resumed job's ("step:N")
  // Told each new checkpoint (key, JSON) before the coordinator keeps it (a job store writes
  // it here). Optional.
  std::function<void(const std::string& key, const std::string& doc)> on_checkpoint;
  // The chained keys of the job's first prompt (job_prefix.h), for prefix_aware routing;
  // empty: the router sees no prefix (the policy ranks by load, or program).
  std::vector<kv::BlockKey> blocks{};
  std::int64_t prompt_tokens = 0;  // of that prompt; 0: blocks x block size
  // The program the job belongs to (program_affinity sends a program's jobs to one node).
  // Empty: the job is a program of its own, forgotten when it ends.
  std::string program{};
  // Runs the job on the server's own engine when the router picks it (attach_local). Empty:
  // such a job fails there.
  LocalJobFn run_here{};
  // The job's kv_reuse override ("", "exact" or "blend"; api::JobRecord::kv_reuse) and its
  // blend_recompute and blend_anchors: the node applies them to the workflow
  // (JobSpec::kv_reuse).
  std::string kv_reuse{};
  std::optional<double> blend_recompute{};
  std::optional<bool> blend_anchors{};
};

struct ClusterJobResult {
  Status status;                   // the run's first failure, or ok
  nlohmann::json report;           // {"outputs": {name: value}, "steps": [checkpoint JSON]}
  std::vector<std::string> nodes;  // the names of the nodes its attempts ran on, in order
};

// One OpenAI completion for a node (api/remote_completions.h's, in its wire form).
struct ClusterCompletion {
  CompletionCall call;               // id and attempt are the coordinator's to set
  std::vector<kv::BlockKey> blocks;  // the prompt's full blocks' chained keys (prefix_aware)
  std::string program;               // the conversation's key (program_affinity); "" none
  std::int64_t prompt_tokens = 0;
  LocalCompletionFn run_here;  // runs it on the server's own engine (attach_local)
};
// Told each part of a completion's reply in order (wire.h's CompletionPart kinds), with the
// name of the node that sent it, on the coordinator's actor thread; the last is an end or an
// error. Must return quickly.
using CompletionSink = std::function<void(const CompletionPart& part, const std::string& node)>;

struct ClusterNodeView {
  NodeId id = 0;
  std::string name;
  std::string model;
  int running_jobs = 0;  // as routed by the coordinator
  // Its last load report (a worker's heartbeat; the local engine's every half heartbeat):
  // jobs and completions running, requests waiting, KV blocks in all and not held.
  int running = 0;
  int waiting = 0;
  int kv_blocks = 0;
  int kv_available_blocks = 0;
  // Job attempts and completion attempts sent to it during this membership.
  std::int64_t jobs_routed = 0;
  std::int64_t completions_routed = 0;
  std::int64_t turns_routed = 0;  // agent turns and best-of samples (route_turns)
};

// The coordinator's counters since it started (Coordinator::counters()).
struct ClusterCounters {
  std::int64_t refused = 0;            // joins refused (a wrong secret or protocol)
  std::int64_t nodes_lost = 0;         // members declared dead (a drop, missed heartbeats)
  std::int64_t jobs_moved = 0;         // job attempts moved off a lost node
  std::int64_t completions_moved = 0;  // completions moved off a lost node before any reply
};

class Coordinator {
 public:
  // Starts the actor system and publishes the coordinator. Errors: an unknown policy
  // (invalid_argument), a secret shorter than kMinSecretBytes, TLS files that
  // check_tls_files refuses, the port cannot be bound (io).
  static Result<std::unique_ptr<Coordinator>> start(CoordinatorOptions options);
  // Ends every unfinished job with a cancelled error and stops.
  ~Coordinator();
  Coordinator(const Coordinator&) = delete;
  Coordinator& operator=(const Coordinator&) = delete;

  std::uint16_t port() const;
  // Accepts a job; `done` is called exactly once. A duplicate id ends with invalid_argument.
  void submit(ClusterJob job, std::function<void(ClusterJobResult)> done);
  // Ends a job with a cancelled error at once and tells its node to stop it (a result that
  // node sends later is dropped). Unknown or finished ids are ignored.
  void cancel(const std::string& id);
  // Routes a completion to a live node by the policy and relays its reply to `sink`.
  // No live node: an error part (503). Its node dies before any reply bytes: it runs again
  // on another live node (the sink sees another head); after some bytes: an error part
  // (502). Returns the id cancel_completion() takes.
  std::uint64_t submit_completion(ClusterCompletion completion, CompletionSink sink);
  // Tells the completion's node to stop it; its sink is told nothing more. Unknown or
  // finished ids are ignored.
  void cancel_completion(std::uint64_t id);
  // Makes the server's own engine a member of the router (kLocalNode, "local"), its load
  // read with `engine_load` (waiting sequences and free blocks; see LocalEngineCallbacks)
  // every half heartbeat. Call once, after the engine is up.
  // `candidate` false (route_turns only): the engine runs the jobs (their turns are routed)
  // but is not itself a routing candidate, so turns go to workers while one is live.
  void attach_local(std::function<NodeLoad()> engine_load, bool candidate = true);
  // With route_turns: the actor to stand in front of the server's engine actor `engine`
  // (actors::RuntimeOptions::engine_front; turn_front.h), for a model whose KV keys use
  // `fingerprint` and `block_size`. It ends with the coordinator.
  caf::actor turn_front(caf::actor engine, std::string fingerprint, int block_size);
  // A listener for the server's EngineOptions::kv_events: its engines' KV events go to the
  // router's index as the local node's (dropped while it is not attached).
  kv::KvEventListener local_kv_listener();
  // Takes the local node out of the router, then cancels its runs and waits for them (their
  // jobs end cancelled, as on a worker that stops). Call before the server's engine stops.
  void stop_local();
  // Live nodes, by id (the local one included once attached).
  std::vector<ClusterNodeView> nodes() const;
  // Nodes refused so far (a wrong secret or protocol).
  std::int64_t refused() const;
  // The counters since start.
  ClusterCounters counters() const;

  struct Impl;

 private:
  explicit Coordinator(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace agentrt::cluster
