// run_node (node.h): the node actor (join handshake, heartbeats, jobs) and the loop that
// reconnects it to the coordinator.
#include "cluster/node.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <caf/io/middleman.hpp>
#include <functional>
#include <map>
#include <mutex>
#include <thread>

#include "actors/workflow/workflow_runner.h"
#include "cluster/node_completions.h"
#include "cluster/node_drain.h"
#include "cluster/node_engine.h"
#include "cluster/node_held_stores.h"
#include "cluster/node_job.h"
#include "cluster/node_kv_events.h"
#include "cluster/node_kv_store.h"
#include "cluster/orphan_stores.h"
#include "cluster/read_through_tier.h"
#include "cluster/schema_constraints.h"
#include "cluster/secret.h"
#include "cluster/wire.h"
#include "storage/db.h"
#include "storage/kv_store.h"

namespace agentrt::cluster {
// A job whose dead node's store was opened for it (or failed to open), back on the node actor.
struct OpenedStore {
  JobSpec spec;
  std::optional<OrphanStores::Lease> store;
  std::chrono::steady_clock::time_point hold_until{};  // a held store's (turn_orphan_atom)
};
}  // namespace agentrt::cluster

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::shared_ptr<agentrt::cluster::OpenedStore>)

namespace agentrt::cluster {
namespace {

using tick_atom = caf::atom_constant<caf::atom("cl_tick")>;
using job_ready_atom = caf::atom_constant<caf::atom("cl_jobrdy")>;
using store_held_atom = caf::atom_constant<caf::atom("cl_held")>;
constexpr auto kRequestTimeout = std::chrono::seconds(10);
// How long a drain may take before the node leaves anyway.
constexpr auto kDrainLimit = std::chrono::seconds(60);

// How one membership ended, for run_node's loop.
enum class Ending { lost, refused };

struct NodeContext {
  const NodeOptions* options = nullptr;
  actors::RuntimePool* pool = nullptr;
  api::OpenAiHost* openai = nullptr;    // runs routed OpenAI completions
  kv::KvTier* kv_store = nullptr;       // the engine's snapshot tier: shipped KV goes there
  NodeKvStore* memory_store = nullptr;  // the same when it is in memory (no --kv-store)
  std::shared_ptr<const SchemaConstraints> schemas;  // turns' constraints (node_engine.h)
  std::string kv_store_path;                         // --kv-store, absolute; empty when in memory
  std::string model_fingerprint;          // the node's model's (its KV stores' rows are per model)
  RecentSessions* recent = nullptr;       // paused sessions' tokens, kept past their pins
  std::shared_ptr<OrphanStores> orphans;  // dead nodes' stores its engine reads through
  NodeKvEvents* kv_events = nullptr;      // its engines' KV events, for the coordinator
  actors::Runtime* runtime = nullptr;     // the node's model: its engine's KV snapshots
  NodeJobOptions job_options;
  std::string name;
  std::mutex mu;
  Ending ending = Ending::lost;
  std::optional<Error> refusal;  // set with Ending::refused
};

// A job the node runs, with the lease of the dead node's store it reads KV from (JobSpec::
// kv_store); the run ends (~NodeJob) before the lease.
struct RunningJob {
  std::int32_t attempt = 0;
  std::optional<OrphanStores::Lease> store;
  std::unique_ptr<NodeJob> run;
};

struct NodeState {
  std::shared_ptr<NodeContext> ctx;
  caf::actor coordinator;
  std::int64_t node = 0;                     // 0: not joined yet
  std::chrono::milliseconds heartbeat{250};  // the coordinator's (Welcome)
  std::map<std::string, RunningJob> jobs;    // by id
  // Jobs whose dead node's store is being opened (off this thread), by id: the attempt.
  std::map<std::string, std::int32_t> opening;
  std::unique_ptr<NodeCompletions> completions;
  HeldStores held;  // dead workers' stores held open for turn-routed reruns
  static inline const char* name = "cluster_node";
};

LoadReport load_report(NodeState& st) {
  LoadReport r;
  r.running_jobs = static_cast<std::int32_t>(st.jobs.size()) + st.completions->running();
  for (auto* rt : st.ctx->pool->all()) {
    const auto m = rt->metrics();
    r.active_requests += m.active_requests;
    r.queued_requests += m.queued_requests;
    r.kv_blocks += m.kv_blocks;
    r.kv_available_blocks += m.kv_available_blocks;
  }
  return r;
}

// Asks the node's engine for a snapshot of its KV (node_kv_events.h: taken on the engine
// thread, in order with its events); the next send_kv_events sends it. Only the engine of the
// node's model: another model's engine in the pool is known by its events alone.
void request_kv_snapshot(NodeContext& ctx) {
  NodeKvEvents* events = ctx.kv_events;  // outlives the engines
  ctx.runtime->kv_snapshot(
      events->options().max_snapshot,
      [events](std::vector<kv::KvHeldBlock> blocks) { events->push_snapshot(std::move(blocks)); });
}

// Sends the KV snapshot and events that wait, in order. Before each job result too, so the
// coordinator routes the next job knowing what this one left cached.
void send_kv_events(caf::stateful_actor<NodeState>* self) {
  auto& st = self->state;
  if (st.node == 0) return;  // not joined yet: they wait (up to the backlog cap)
  if (st.ctx->kv_events->take_snapshot_request()) request_kv_snapshot(*st.ctx);
  auto out = st.ctx->kv_events->drain();
  for (auto& m : out.snapshot)
    self->send(st.coordinator, kv_snapshot_atom::value, std::move(m));
  for (auto& m : out.events)
    self->send(st.coordinator, kv_event_atom::value, std::move(m));
}

void refuse(caf::stateful_actor<NodeState>* self, Error e) {
  {
    std::lock_guard lock(self->state.ctx->mu);
    self->state.ctx->ending = Ending::refused;
    self->state.ctx->refusal = std::move(e);
  }
  self->quit();
}

void start_job(caf::stateful_actor<NodeState>* self, const JobSpec& spec,
               std::optional<OrphanStores::Lease> store) {
  auto& st = self->state;
  if (auto it = st.jobs.find(spec.job); it != st.jobs.end()) st.jobs.erase(it);  // a new attempt
  caf::actor me = caf::actor_cast<caf::actor>(self);
  auto job = NodeJob::start(
      spec, st.ctx->job_options, *st.ctx->pool,
      [me, id = spec.job, attempt = spec.attempt](NamedText c) {
        caf::anon_send(me, checkpoint_atom::value, JobCheckpoint{id, attempt, std::move(c)});
      },
      [me](JobResultMsg r) { caf::anon_send(me, job_done_atom::value, std::move(r)); });
  if (!job.ok()) {
    JobResultMsg r;
    r.job = spec.job;
    r.attempt = spec.attempt;
    r.error_code = static_cast<std::int32_t>(job.error().code);
    r.error_message = job.error().message;
    self->send(st.coordinator, job_done_atom::value, std::move(r));
    return;
  }
  spdlog::info("node {}: job {} (attempt {}) started, {} checkpoints given{}{}", st.node, spec.job,
               spec.attempt, spec.resume.size(),
               spec.kv_reuse.empty() ? "" : "; kv_reuse override " + spec.kv_reuse,
               store ? "; reading the KV it lacks from " + store->path() : "");
  st.jobs[spec.job] = {spec.attempt, std::move(store), std::move(*job)};
}

// A job moved off a dead node with an on-disk store: the store is opened read-only on a thread
// of its own (RocksDB replays its WAL, which may outlast a heartbeat), then the job starts here.
// A store that does not open (another machine's path) is logged and the job runs without it.
// The body of the blocking actor that opens the store: leases it, then hands the job back.
void open_store(caf::blocking_actor*, caf::actor node, std::shared_ptr<OrphanStores> orphans,
                std::shared_ptr<OpenedStore> opened) {
  auto lease = OrphanStores::lease(orphans, opened->spec.kv_store);
  if (lease.ok())
    opened->store = std::move(*lease);
  else
    spdlog::warn("node: job {} cannot read the dead node's KV: {}; it recomputes", opened->spec.job,
                 lease.error().message);
  caf::anon_send(node, job_ready_atom::value, std::move(opened));
}

void open_store_then_start(caf::stateful_actor<NodeState>* self, const JobSpec& spec) {
  auto& st = self->state;
  st.opening[spec.job] = spec.attempt;
  auto opened = std::make_shared<OpenedStore>();
  opened->spec = spec;
  // A blocking actor has a thread of its own, and the actor system waits for it at shutdown.
  // Its arguments go through spawn: CAF 0.17 dereferences a null argument tuple for a
  // function actor spawned without any (UBSan: reference binding to null pointer).
  self->spawn(open_store, caf::actor_cast<caf::actor>(self), st.ctx->orphans, std::move(opened));
}

// A dead worker's store the coordinator named (turn routing): opened as a job's is, then held.
void hold_store(caf::blocking_actor*, caf::actor node, std::shared_ptr<OrphanStores> orphans,
                std::shared_ptr<OpenedStore> opened) {
  auto lease = OrphanStores::lease(orphans, opened->spec.kv_store);
  if (lease.ok())
    opened->store = std::move(*lease);
  else
    spdlog::warn("node: cannot read the dead node's KV store {}: {}", opened->spec.kv_store,
                 lease.error().message);
  caf::anon_send(node, store_held_atom::value, std::move(opened));
}

// Turns may read a dead worker's store for hold_ms (clamped to [1 s, 10 min]) from now.
void on_turn_orphan(caf::stateful_actor<NodeState>* self, const std::string& path,
                    std::int64_t hold_ms) {
  auto& st = self->state;
  if (st.node == 0 || path.empty() || path == st.ctx->kv_store_path) return;
  const auto until = std::chrono::steady_clock::now() +
                     std::chrono::milliseconds(std::clamp<std::int64_t>(hold_ms, 1000, 600000));
  if (st.held.extend(path, until)) return;
  auto opened = std::make_shared<OpenedStore>();
  opened->spec.kv_store = path;
  opened->hold_until = until;
  self->spawn(hold_store, caf::actor_cast<caf::actor>(self), st.ctx->orphans, std::move(opened));
}

// Gives back the held stores whose time is up, and logs what turns read from them.
void tend_held_stores(NodeState& st) {
  for (const auto& [path, n] : st.held.newly_read())
    spdlog::info("node {}: turns read {} blocks from the dead node's KV store {}", st.node, n,
                 path);
  for (const auto& [path, n] : st.held.expire(std::chrono::steady_clock::now()))
    spdlog::info("node {}: let go of the dead node's KV store {} ({} blocks read)", st.node, path,
                 n);
}

// Batches on their way through the coordinator, one at a time, each acknowledged; `done` is
// told the blocks the receivers imported after the last (a drain's, or one moved session's).
struct Shipping {
  std::deque<KvShipment> outbox;
  std::int64_t shipped = 0;
  std::function<void(std::int64_t)> done;
};

void ship_next(caf::stateful_actor<NodeState>* self, std::shared_ptr<Shipping> sh) {
  if (sh->outbox.empty()) return sh->done(sh->shipped);
  KvShipment batch = std::move(sh->outbox.front());
  sh->outbox.pop_front();
  self->request(self->state.coordinator, std::chrono::seconds(60), kv_ship_atom::value,
                std::move(batch))
      .then(
          [self, sh](std::int32_t n) {
            sh->shipped += n;
            ship_next(self, sh);
          },
          [self, sh](caf::error& e) {
            spdlog::warn("node {}: a KV batch was not taken: {}", self->state.node,
                         self->system().render(e));
            ship_next(self, sh);
          });
}

void ship(caf::stateful_actor<NodeState>* self, std::deque<KvShipment> batches,
          std::function<void(std::int64_t)> done) {
  auto sh = std::make_shared<Shipping>();
  sh->outbox = std::move(batches);
  sh->done = std::move(done);
  ship_next(self, std::move(sh));
}

// SIGTERM/SIGINT: the coordinator routes nothing new here; the paused sessions' KV is
// shipped to the nodes that take them over; then the node leaves.
void drain(caf::stateful_actor<NodeState>* self) {
  auto& st = self->state;
  if (st.node == 0) return self->quit();
  self->request(st.coordinator, kRequestTimeout, drain_atom::value)
      .then(
          [self](bool) {
            auto& s = self->state;
            auto batches = drain_batches(*s.ctx->openai, *s.ctx->kv_store);
            spdlog::info("node {}: draining: {} KV batch(es) to ship", s.node, batches.size());
            ship(self, std::move(batches), [self](std::int64_t shipped) {
              spdlog::info("node {}: drained; {} KV blocks shipped", self->state.node, shipped);
              self->quit();
            });
          },
          [self](caf::error&) { self->quit(); });
}

void joined(caf::stateful_actor<NodeState>* self, const Welcome& w) {
  self->state.node = w.node;
  if (w.heartbeat_ms > 0) self->state.heartbeat = std::chrono::milliseconds(w.heartbeat_ms);
  spdlog::info("node '{}' joined as node {}", self->state.ctx->name, w.node);
  // The coordinator's index of this membership starts empty: a snapshot fills it.
  (void)self->state.ctx->kv_events->take_snapshot_request();
  request_kv_snapshot(*self->state.ctx);
  // Its engine front for the coordinator's turn routers (node_engine.h), for this membership.
  const auto& ctx = *self->state.ctx;
  auto front = self->spawn(node_engine, caf::actor_cast<caf::actor>(self),
                           ctx.runtime->engine_handle(), ctx.schemas);
  self->send(self->state.coordinator, turn_engine_atom::value, std::move(front));
  self->send(self, tick_atom::value);
}

void join(caf::stateful_actor<NodeState>* self) {
  auto& st = self->state;
  auto nonce = make_nonce();
  if (!nonce.ok()) return refuse(self, nonce.error());
  NodeHello hello;
  hello.name = st.ctx->name;
  hello.model = st.ctx->job_options.model_dir.empty() ? st.ctx->job_options.fallback_model_dir
                                                      : st.ctx->job_options.model_dir;
  hello.backend = st.ctx->job_options.backend;
  hello.nonce = *nonce;
  hello.kv_store = st.ctx->kv_store_path;
  self->request(st.coordinator, kRequestTimeout, hello_atom::value, hello)
      .then(
          [self, n = *nonce](const Challenge& c) {
            const auto& ctx = *self->state.ctx;
            if (!check_proof(ctx.options->secret, "coordinator|" + n, c.proof))
              return refuse(self, make_error(ErrorCode::invalid_argument,
                                             "the coordinator did not prove the cluster secret"));
            AuthProof proof{prove(ctx.options->secret, "worker|" + c.nonce + "|" + ctx.name)};
            self->request(self->state.coordinator, kRequestTimeout, auth_atom::value, proof)
                .then([self](const Welcome& w) { joined(self, w); },
                      [self](caf::error& e) {
                        refuse(self, make_error(ErrorCode::invalid_argument,
                                                "the coordinator refused this node: " +
                                                    self->system().render(e)));
                      });
          },
          [self](caf::error& e) {
            refuse(self,
                   make_error(ErrorCode::invalid_argument,
                              "the coordinator refused this node: " + self->system().render(e)));
          });
}

caf::behavior node_actor(caf::stateful_actor<NodeState>* self, std::shared_ptr<NodeContext> ctx,
                         caf::actor coordinator) {
  self->set_default_handler(caf::drop);  // unprinted, as the coordinator's (coordinator_actor.cpp)
  self->state.ctx = std::move(ctx);
  self->state.coordinator = coordinator;
  self->state.heartbeat = self->state.ctx->options->heartbeat;
  self->monitor(coordinator);
  self->state.completions = std::make_unique<NodeCompletions>(
      *self->state.ctx->openai, [me = caf::actor_cast<caf::actor>(self)](CompletionPart p) {
        caf::anon_send(me, completion_part_atom::value, std::move(p));
      });
  self->set_down_handler([self](caf::down_msg&) {
    spdlog::warn("node {}: lost the coordinator", self->state.node);
    self->quit();
  });
  join(self);
  return {
      [self](run_job_atom, const JobSpec& spec) {
        if (self->state.node == 0) return;
        if (spec.kv_store.empty() || spec.kv_store == self->state.ctx->kv_store_path)
          return start_job(self, spec, std::nullopt);
        open_store_then_start(self, spec);
      },
      [self](job_ready_atom, const std::shared_ptr<OpenedStore>& o) {
        auto& opening = self->state.opening;
        auto it = opening.find(o->spec.job);
        if (it == opening.end() || it->second != o->spec.attempt) return;  // cancelled, or moved
        opening.erase(it);
        start_job(self, o->spec, std::move(o->store));
      },
      [self](cancel_job_atom, const std::string& job, std::int32_t) {
        self->state.opening.erase(job);
        if (auto it = self->state.jobs.find(job); it != self->state.jobs.end())
          it->second.run->cancel();
      },
      [self](complete_atom, CompletionCall& c) {
        if (self->state.node != 0) self->state.completions->start(std::move(c));
      },
      [self](cancel_completion_atom, std::uint64_t id, std::int32_t attempt) {
        self->state.completions->cancel(id, attempt);
      },
      [self](completion_part_atom, CompletionPart& p) {
        self->send(self->state.coordinator, completion_part_atom::value, std::move(p));
      },
      [self](drain_atom) { drain(self); },
      [self](kv_move_atom, const KvMoveCall& m) -> caf::result<std::int32_t> {
        auto& st = self->state;
        auto batches = move_batches(st.ctx->openai->runtime(), *st.ctx->kv_store, *st.ctx->recent,
                                    m.session, m.min_blocks);
        if (batches.empty()) return 0;  // not paused here, or fewer blocks than asked
        spdlog::info("node {}: a session's next turn moves away: {} KV batch(es) to ship", st.node,
                     batches.size());
        auto rp = self->make_response_promise<std::int32_t>();
        ship(self, std::move(batches), [rp](std::int64_t shipped) mutable {
          rp.deliver(static_cast<std::int32_t>(shipped));
        });
        return rp;
      },
      [self](kv_adopt_atom, const KvAdoptCall& m) -> caf::result<std::int32_t> {
        const NodeContext& c = *self->state.ctx;
        const auto start = std::chrono::steady_clock::now();
        auto n = adopt_blocks(*c.kv_store, c.model_fingerprint, m);
        if (!n.ok()) {
          spdlog::warn("node {}: adopting a dead node's session KV: {}", self->state.node,
                       n.error().message);
          return caf::make_error(caf::sec::runtime_error, n.error().message);
        }
        spdlog::info("node {}: adopted {} KV blocks of a dead node's session from {} in {} ms",
                     self->state.node, *n, m.store,
                     std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::steady_clock::now() - start)
                         .count());
        return *n;
      },
      [self](kv_ship_atom, const KvShipment& s) -> caf::result<std::int32_t> {
        const NodeContext& c = *self->state.ctx;
        auto n = import_batch(*c.openai, *c.kv_store,
                              c.memory_store != nullptr ? c.memory_store->block_bytes() : 0, s);
        if (!n.ok()) {
          spdlog::warn("node {}: {}", self->state.node, n.error().message);
          return caf::make_error(caf::sec::runtime_error, n.error().message);
        }
        if (s.last)
          spdlog::info("node {}: imported the KV of a session ({} tokens)", self->state.node,
                       s.tokens.size());
        return *n;
      },
      [self](checkpoint_atom, JobCheckpoint& c) {
        self->send(self->state.coordinator, checkpoint_atom::value, std::move(c));
      },
      [self](job_done_atom, JobResultMsg& r) {
        auto& st = self->state;
        spdlog::info("node {}: job {} (attempt {}) ended{}", st.node, r.job, r.attempt,
                     r.error_code < 0 ? "" : ": " + r.error_message);
        // ~NodeJob waits for the done callback that sent this.
        if (auto it = st.jobs.find(r.job); it != st.jobs.end() && it->second.attempt == r.attempt) {
          if (it->second.store)
            spdlog::info("node {}: job {} (attempt {}) read {} KV blocks from {}", st.node, r.job,
                         r.attempt, it->second.store->blocks_read(), it->second.store->path());
          st.jobs.erase(it);
        }
        send_kv_events(self);
        self->send(st.coordinator, job_done_atom::value, std::move(r));
      },
      [self](turn_orphan_atom, const std::string& path, std::int64_t hold_ms) {
        on_turn_orphan(self, path, hold_ms);
      },
      [self](store_held_atom, const std::shared_ptr<OpenedStore>& o) {
        if (!o->store) return;
        spdlog::info("node {}: holds the dead node's KV store {} open for its jobs' turns",
                     self->state.node, o->spec.kv_store);
        self->state.held.hold(std::move(*o->store), o->hold_until);
      },
      [self](tick_atom) {
        auto& st = self->state;
        tend_held_stores(st);
        send_kv_events(self);
        self->request(st.coordinator, kRequestTimeout, heartbeat_atom::value, load_report(st))
            .then(
                [self](bool member) {
                  if (member) return;
                  spdlog::warn("node {}: the coordinator forgot this node; joining again",
                               self->state.node);
                  self->quit();  // run_node joins again
                },
                [](caf::error&) {});
        self->delayed_send(self, st.heartbeat, tick_atom::value);
      },
  };
}

std::string default_name() {
  char host[256] = {0};
  if (gethostname(host, sizeof host - 1) != 0) host[0] = 0;
  return std::string(host) + ":" + std::to_string(getpid());
}

}  // namespace

Status run_node(const NodeOptions& options, const std::atomic<bool>& stop) {
  if (options.tls.enabled())
    if (auto s = check_tls_files(options.tls); !s.ok()) return s;
  auto ctx = std::make_shared<NodeContext>();
  ctx->options = &options;
  ctx->name = options.name.empty() ? default_name() : options.name;
  ctx->job_options = {options.model_dir, options.fallback_model_dir, options.backend,
                      options.threads, options.kv_blocks};
  ctx->orphans = std::make_shared<OrphanStores>();
  NodeKvEvents kv_events;  // outlives the pool's engines, which push into it
  actors::RuntimeOptions base;
  base.engine.kv_events = kv_events.listener();
  // The snapshot tier outlives the pool's engines, which write to it.
  NodeKvStore memory_store(static_cast<std::size_t>(options.kv_store_bytes));
  std::shared_ptr<kv::KvTier> disk_store;  // with --kv-store: the model's storage::KvStore
  std::mutex disk_mu;
  if (options.kv_store_dir.empty()) {
    base.persistent = [&memory_store, &disk_mu,
                       ctx](const std::string& fingerprint) -> Result<std::shared_ptr<kv::KvTier>> {
      std::lock_guard lock(disk_mu);
      if (ctx->model_fingerprint.empty()) ctx->model_fingerprint = fingerprint;
      std::shared_ptr<kv::KvTier> own(&memory_store, [](kv::KvTier*) {});
      return std::shared_ptr<kv::KvTier>(
          std::make_shared<ReadThroughTier>(std::move(own), ctx->orphans, fingerprint));
    };
  } else {
    auto db = storage::Db::open(options.kv_store_dir);
    if (!db.ok()) return db.error();
    for (const auto& problem : (*db)->recovered_problems())
      spdlog::warn("node: KV store {}: {}", options.kv_store_dir, problem);
    storage::KvStoreOptions store_options;
    store_options.max_bytes = options.kv_store_bytes;
    auto factory = storage::KvStore::tier_factory(*db, store_options);
    // The node's model opens its store first (pool.get below, on this thread); jobs naming
    // other models open theirs later, and only the first is the one shipped KV goes to.
    base.persistent = [factory, &disk_store, &disk_mu, ctx](const std::string& fingerprint) {
      auto tier = factory(fingerprint);
      if (!tier.ok()) return tier;
      std::lock_guard lock(disk_mu);
      if (disk_store == nullptr) {
        disk_store = *tier;
        ctx->model_fingerprint = fingerprint;
      }
      return Result<std::shared_ptr<kv::KvTier>>(
          std::make_shared<ReadThroughTier>(*tier, ctx->orphans, fingerprint));
    };
  }
  actors::RuntimePool pool{base};
  ctx->pool = &pool;
  ctx->kv_events = &kv_events;
  actors::ModelKey key;  // load before joining: a node takes jobs only once it can run them
  key.dir = options.model_dir.empty() ? options.fallback_model_dir : options.model_dir;
  key.backend = options.backend;
  key.kv_blocks = options.kv_blocks;
  key.threads = options.threads;
  key.max_live_requests = actors::workflow::kDefaultRunnerLiveRequests;
  auto rt = pool.get(key);
  if (!rt.ok()) return rt.error();
  api::OpenAiHost openai(*rt, options.sessions);  // before the actor system, destroyed first
  spdlog::info("node: OpenAI agent-session pins {} (TTL {} ms{})",
               api::to_string(options.sessions.mode),
               std::chrono::duration_cast<std::chrono::milliseconds>(options.sessions.ttl).count(),
               options.sessions.mode == api::SessionMode::predict ? " until gaps are seen" : "");
  ctx->openai = &openai;
  if (std::lock_guard lock(disk_mu); disk_store != nullptr) {
    ctx->kv_store = disk_store.get();
    ctx->kv_store_path = std::filesystem::absolute(options.kv_store_dir).lexically_normal();
    spdlog::info("node: KV snapshot tier: RocksDB at {} ({} MiB held, {} MiB bound)",
                 options.kv_store_dir, disk_store->stored_bytes() >> 20,
                 options.kv_store_bytes >> 20);
  } else if (!options.kv_store_dir.empty()) {
    return make_error(ErrorCode::internal,
                      "the engine opened no KV store in " + options.kv_store_dir);
  } else {
    ctx->kv_store = &memory_store;
    ctx->memory_store = &memory_store;
  }
  RecentSessions recent;
  ctx->recent = &recent;
  // Records the paused sessions' tokens every 250 ms, off the node actor's thread (the
  // session table's lock can wait on a long engine step), until run_node returns.
  std::jthread watcher([&openai, &recent](std::stop_token done) {
    while (!done.stop_requested()) {
      recent.update(openai.paused());
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
  });
  ctx->runtime = *rt;
  // Turns' JSON-schema constraints compile with the node's own vocabulary; a model without
  // one refuses such turns (the server's runtime then runs them).
  auto vocab = (*rt)->token_vocabulary();
  if (!vocab.ok()) spdlog::warn("node: structured-output turns refused: {}", vocab.error().message);
  ctx->schemas = std::make_shared<const SchemaConstraints>(vocab.ok() ? *vocab : nullptr);

  caf::actor_system_config cfg;
  configure_wire(cfg);
  configure_transport(cfg, options.tls);
  caf::actor_system system{cfg};
  std::string last_failure;  // logged once until it changes
  while (!stop.load()) {
    auto coordinator = connect_to(system, options.host, options.port, options.tls.enabled(),
                                  options.connect_timeout);
    if (!coordinator.ok()) {
      if (coordinator.error().message != last_failure)
        spdlog::warn("node: {}; trying again", coordinator.error().message);
      last_failure = coordinator.error().message;
      std::this_thread::sleep_for(options.reconnect);
      continue;
    }
    last_failure.clear();
    {
      std::lock_guard lock(ctx->mu);
      ctx->ending = Ending::lost;
    }
    auto node = system.spawn(node_actor, ctx, *coordinator);
    caf::scoped_actor waiter{system};
    waiter->monitor(node);
    bool down = false;
    std::optional<std::chrono::steady_clock::time_point> drain_until;
    while (!down) {
      waiter->receive([&](caf::down_msg&) { down = true; },
                      caf::after(std::chrono::milliseconds(100)) >>
                          [&] {
                            if (!stop.load()) return;
                            const auto now = std::chrono::steady_clock::now();
                            if (!drain_until) {  // drain first: the node quits when it is done
                              drain_until = now + kDrainLimit;
                              caf::anon_send(node, drain_atom::value);
                            } else if (now > *drain_until) {
                              caf::anon_send_exit(node, caf::exit_reason::user_shutdown);
                            }
                          });
    }
    std::lock_guard lock(ctx->mu);
    if (ctx->ending == Ending::refused) return *ctx->refusal;
    if (!stop.load()) std::this_thread::sleep_for(options.reconnect);
  }
  return ok_status();
}

}  // namespace agentrt::cluster
