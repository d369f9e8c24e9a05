// The Coordinator facade (coordinator.h): its actor system, the published actor, submits.
#include "cluster/coordinator.h"

#include <atomic>
#include <caf/io/middleman.hpp>

#include "cluster/coordinator_actor.h"
#include "cluster/secret.h"

namespace agentrt::cluster {

struct Coordinator::Impl {
  std::shared_ptr<CoordinatorShared> shared;
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> system;
  caf::actor actor;
  std::uint16_t port = 0;
  std::atomic<std::uint64_t> next_completion{1};
  std::shared_ptr<LocalEngine> local;  // attach_local's
};

Result<std::unique_ptr<Coordinator>> Coordinator::start(CoordinatorOptions options) {
  if (options.secret.size() < kMinSecretBytes)
    return make_error(ErrorCode::invalid_argument, "the cluster secret must have at least " +
                                                       std::to_string(kMinSecretBytes) + " bytes");
  if (auto p = make_policy(options.policy); !p.ok()) return p.error();
  if (options.heartbeat.count() <= 0 || options.heartbeat_timeout <= options.heartbeat)
    return make_error(ErrorCode::invalid_argument,
                      "the heartbeat timeout must be longer than the heartbeat interval");
  auto impl = std::make_unique<Impl>();
  impl->shared = std::make_shared<CoordinatorShared>();
  impl->shared->options = std::move(options);
  const auto& opt = impl->shared->options;
  if (opt.tls.enabled())
    if (auto s = check_tls_files(opt.tls); !s.ok()) return s.error();
  configure_wire(impl->cfg);
  configure_transport(impl->cfg, opt.tls);
  impl->system = std::make_unique<caf::actor_system>(impl->cfg);
  impl->actor = impl->system->spawn(coordinator_actor, impl->shared);
  auto port = publish_on(impl->actor, opt.port, opt.bind, opt.tls.enabled());
  if (!port.ok()) {
    caf::anon_send_exit(impl->actor, caf::exit_reason::user_shutdown);
    return port.error();
  }
  impl->port = *port;
  return std::unique_ptr<Coordinator>(new Coordinator(std::move(impl)));
}

Coordinator::Coordinator(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Coordinator::~Coordinator() {
  stop_local();
  auto unpublished = impl_->system->middleman().unpublish(impl_->actor, impl_->port);
  static_cast<void>(unpublished);  // the port closes with the system either way
  caf::anon_send_exit(impl_->actor, caf::exit_reason::user_shutdown);
  impl_->actor = nullptr;
  impl_->system.reset();  // waits for the actor (its state ends the unfinished jobs)
}

std::uint16_t Coordinator::port() const {
  return impl_->port;
}

void Coordinator::submit(ClusterJob job, std::function<void(ClusterJobResult)> done) {
  auto sub = std::make_shared<Submission>(Submission{std::move(job), std::move(done)});
  caf::anon_send(impl_->actor, submit_atom::value, std::move(sub));
}

void Coordinator::cancel(const std::string& id) {
  caf::anon_send(impl_->actor, LocalCancel{id});
}

std::uint64_t Coordinator::submit_completion(ClusterCompletion completion, CompletionSink sink) {
  const std::uint64_t id = impl_->next_completion.fetch_add(1);
  completion.call.id = id;
  auto sub = std::make_shared<CompletionSubmission>(
      CompletionSubmission{std::move(completion), std::move(sink)});
  caf::anon_send(impl_->actor, std::move(sub));
  return id;
}

void Coordinator::cancel_completion(std::uint64_t id) {
  caf::anon_send(impl_->actor, LocalCompletionCancel{id});
}

void Coordinator::attach_local(std::function<NodeLoad()> engine_load, bool candidate) {
  if (impl_->local) return;
  const caf::actor_addr to = impl_->actor.address();  // weak: the engines may outlive it
  auto send = [to](auto message) {
    if (auto a = caf::actor_cast<caf::actor>(to)) caf::anon_send(a, std::move(message));
  };
  LocalEngineCallbacks cb;
  cb.engine_load = std::move(engine_load);
  cb.checkpoint = [send](JobCheckpoint c) { send(LocalCheckpoint{std::move(c)}); };
  cb.job_done = [send](JobResultMsg r) { send(LocalJobDone{std::move(r)}); };
  cb.part = [send](CompletionPart p) { send(LocalPart{std::move(p)}); };
  impl_->local = std::make_shared<LocalEngine>(std::move(cb));
  caf::anon_send(impl_->actor, LocalAttach{impl_->local, candidate});
}

caf::actor Coordinator::turn_front(caf::actor engine, std::string fingerprint, int block_size) {
  return impl_->system->spawn(
      cluster::turn_front,
      TurnFrontInit{impl_->actor, engine.address(), std::move(fingerprint), block_size});
}

kv::KvEventListener Coordinator::local_kv_listener() {
  const caf::actor_addr to = impl_->actor.address();
  return [to](std::span<const kv::KvBlockEvent> events) {
    LocalKvEvents m;
    for (const auto& e : events) {  // runs of one kind and tier, in order
      const auto kind = static_cast<KvEventKind>(e.type);
      if (e.tier >= kKvTierCount) continue;
      const auto tier = static_cast<KvTierKind>(e.tier);
      if (m.events.empty() || m.events.back().kind != kind || m.events.back().tier != tier)
        m.events.push_back(KvEvent{kLocalNode, kind, tier, {}});
      m.events.back().keys.push_back(e.key);
    }
    if (m.events.empty()) return;
    if (auto a = caf::actor_cast<caf::actor>(to)) caf::anon_send(a, std::move(m));
  };
}

void Coordinator::stop_local() {
  if (!impl_->local) return;
  caf::anon_send(impl_->actor, LocalAttach{nullptr});
  impl_->local->shutdown();
  impl_->local.reset();
}

std::vector<ClusterNodeView> Coordinator::nodes() const {
  std::lock_guard lock(impl_->shared->mu);
  return impl_->shared->nodes;
}

std::int64_t Coordinator::refused() const {
  std::lock_guard lock(impl_->shared->mu);
  return impl_->shared->counters.refused;
}

ClusterCounters Coordinator::counters() const {
  std::lock_guard lock(impl_->shared->mu);
  return impl_->shared->counters;
}

}  // namespace agentrt::cluster
