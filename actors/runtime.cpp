// Runtime: model loading, the actor system and the job table behind the facade.
#include "actors/runtime.h"

#include <caf/all.hpp>

#include <future>
#include <map>
#include <mutex>
#include <thread>

#include "actors/agent_actor.h"
#include "actors/agent_prompt.h"
#include "actors/engine_actor.h"
#include "actors/engine_loop.h"
#include "actors/runtime_impl.h"
#include "actors/sampler_actor.h"
#include "actors/tool_registry.h"
#include "engine/kv/block_key.h"
#include "engine/kv_pool_limits.h"

namespace agentrt::actors {

const char* to_string(StopReason reason) {
  switch (reason) {
    case StopReason::final_answer:
      return "final_answer";
    case StopReason::max_turns:
      return "max_turns";
    case StopReason::token_budget:
      return "token_budget";
    case StopReason::cancelled:
      return "cancelled";
  }
  return "unknown";
}

namespace {

// A job's scheduler program: negative, apart from engine request ids (Runtime::new_program).
std::int64_t job_program(JobId job) {
  return -job;
}

// RuntimeOptions::on_generate: stands in front of the engine actor, shows each generate's
// request to `tap` and passes every message on unchanged (replies go to the sender). Linked
// to the engine: it ends with it.
caf::behavior engine_tap(caf::event_based_actor* self, caf::actor engine,
                         std::function<void(const EngineRequest&)> tap) {
  self->link_to(engine);
  self->set_default_handler(
      [engine](caf::scheduled_actor* s, caf::message_view& x) -> caf::result<caf::message> {
        static_cast<caf::event_based_actor*>(s)->delegate(engine, x.move_content_to_message());
        return caf::delegated<caf::message>{};
      });
  return {[self, engine, tap](generate_atom g, GenerateMsg& m) {
    tap(m.request);
    return self->delegate(engine, g, std::move(m));
  }};
}

}  // namespace

Result<Aggregation> parse_aggregation(const std::string& name) {
  if (name == "majority") return Aggregation::majority_vote;
  if (name == "logprob") return Aggregation::max_mean_logprob;
  if (name == "verifier") return Aggregation::verifier_agent;
  if (name == "scorer") return Aggregation::scorer_tool;
  return make_error(ErrorCode::invalid_argument,
                    "aggregation '" + name + "': expected majority, logprob, verifier or scorer");
}

Status Runtime::Impl::check_agent(const AgentSpec& a) const {
  const std::string where = "agent '" + a.name + "'";
  if (a.max_turns < 1)
    return make_error(ErrorCode::invalid_argument, where + ": max_turns must be >= 1");
  if (a.token_budget < 0)
    return make_error(ErrorCode::invalid_argument, where + ": token_budget must be >= 0");
  if (auto st = a.sampling.validate(); !st.ok())
    return st.error().with_context(where + ": sampling");
  for (const auto& t : a.tools)
    if (!registry_of(a, *tools).find(t))
      return make_error(ErrorCode::invalid_argument, where + ": unknown tool '" + t + "'");
  return ok_status();
}

JobId Runtime::Impl::reserve_job() {
  const JobId id = next_job++;
  std::lock_guard lock(mu);
  jobs.emplace(id, caf::actor{});
  return id;
}

void Runtime::Impl::attach_job(JobId id, caf::actor a) {
  std::lock_guard lock(mu);
  if (auto it = jobs.find(id); it != jobs.end()) it->second = std::move(a);
}

void Runtime::Impl::end_job(JobId id) {
  std::lock_guard lock(mu);
  jobs.erase(id);
  jobs_cv.notify_all();
}

void Runtime::Impl::shutdown() {
  if (!sys) return;
  std::unique_lock lock(mu);
  for (auto& [id, a] : jobs)
    if (a) caf::anon_send(a, cancel_atom::value);
  // Jobs end once the engine confirms their cancellation; a hung tool can hold one longer.
  jobs_cv.wait_for(lock, std::chrono::seconds(30), [&] { return jobs.empty(); });
  lock.unlock();
  // What the cancelled jobs computed stays cached: the next process starts from it. A write
  // error only costs that recompute.
  loop->flush_kv().permit_unchecked();
  caf::anon_send_exit(engine, caf::exit_reason::user_shutdown);
  engine = nullptr;
  ctx.reset();
  sys->await_all_actors_done();
  loop.reset();  // joins the step thread before the backend goes
  sys.reset();
}

Runtime::Runtime(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Runtime::~Runtime() {
  impl_->shutdown();
}

Result<std::unique_ptr<Runtime>> Runtime::create(RuntimeOptions options) {
  auto impl = std::make_unique<Impl>();
  impl->opt = options;
  const std::string& dir = options.model_dir;
  if (dir.empty()) return make_error(ErrorCode::invalid_argument, "runtime: model_dir is required");
  auto model = model::Model::load(dir, model::LoadOptions{options.weight_check});
  if (!model.ok()) return model.error();
  impl->model = *model;
  auto tok = tokenizer::Tokenizer::load_dir(dir);
  if (!tok.ok()) return tok.error();
  impl->tok = *tok;
  // The chat template: a hand-written family where one matches, else the Jinja template.
  auto tmpl = chat::ChatTemplate::from_dir(dir);
  if (!tmpl.ok()) {
    // A family template the Jinja interpreter cannot parse still runs on its fast path.
    auto family = chat::detect_family_in_dir(dir);
    if (!family.ok()) return tmpl.error();
    tmpl = chat::ChatTemplate::of_family(*family);
  }
  impl->chat = *tmpl;
  impl->family = tmpl->family().value_or(chat::Family::chatml_qwen);
  if (options.backend) {
    auto b = options.backend(impl->model, options.kv_blocks);
    if (!b.ok()) return b.error();
    impl->backend = std::move(*b);
  } else {
    auto b = backends::make_backend(impl->model, {options.backend_kind, options.device,
                                                  options.kv_blocks, options.cpu_threads});
    if (!b.ok()) return b.error();
    impl->backend = std::move(*b);
  }
  const auto& cfg = impl->model->config();
  if (options.persistent) {
    auto tier = options.persistent(impl->model->fingerprint());
    if (!tier.ok()) return tier.error().with_context("persistent KV tier");
    impl->persistent = std::move(*tier);
  }
  EngineOptions eo = options.engine;
  eo.host_tier_bytes = options.host_tier_bytes.value_or(default_host_tier_bytes());
  impl->end_ids.assign(cfg.eos_token_ids.begin(), cfg.eos_token_ids.end());
  if (auto e = impl->tok->eos_id();
      e && std::find(impl->end_ids.begin(), impl->end_ids.end(), *e) == impl->end_ids.end()) {
    impl->end_ids.push_back(*e);
    eo.extra_eos_ids.push_back(*e);  // an agent's turn pauses there too
  }
  auto engine = Engine::create({impl->backend.get(), &cfg, impl->model->fingerprint(),
                                impl->persistent.get(), options.clock},
                               eo);
  if (!engine.ok()) return engine.error();
  impl->ttl = std::make_shared<TtlPolicy>(options.ttl);
  const KvGeometry geo = impl->backend->kv_geometry();
  impl->loop = std::make_shared<EngineLoop>(
      std::move(*engine), options.max_pending_requests, geo,
      [ttl = impl->ttl, also = options.on_prefill](std::int64_t n, double s) {
        ttl->record_prefill(n, s);
        if (also) also(n, s);
      },
      options.max_queued_requests);
  impl->cfg = std::make_unique<caf::actor_system_config>();
  if (options.actor_threads > 0)
    impl->cfg->set("scheduler.max-threads", static_cast<std::size_t>(options.actor_threads));
#if defined(__SANITIZE_THREAD__)
  // The work-sharing queue synchronizes through a mutex that TSan sees even inside the
  // uninstrumented libcaf_core; work stealing's atomics there would look like races.
  impl->cfg->set("scheduler.policy", caf::atom("sharing"));
#endif
  impl->sys = std::make_unique<caf::actor_system>(*impl->cfg);
  impl->engine = impl->sys->spawn(engine_actor, impl->loop);
  caf::actor front = impl->engine;
  if (options.on_generate) front = impl->sys->spawn(engine_tap, impl->engine, options.on_generate);
  if (options.engine_front) {
    caf::actor other = options.engine_front(
        {front, dir, kv::layout_fingerprint(impl->model->fingerprint(), impl->backend->kv_layout()),
         geo.block_size});
    if (other) front = std::move(other);
  }
  auto ctx = std::make_shared<AgentContext>(AgentContext{
      front, impl->tools, impl->ttl, *impl->tok, impl->family, geo.num_blocks, geo.block_size, {}});
  ctx->metrics = [w = std::weak_ptr<EngineLoop>(impl->loop)] {
    auto l = w.lock();
    return l ? l->metrics() : RuntimeMetrics{};
  };
  ctx->host_tier = eo.host_tier_bytes > 0;
  ctx->chat_template = impl->chat;
  impl->ctx = ctx;
  std::unique_ptr<Runtime> rt(new Runtime(std::move(impl)));
  for (const auto& t : options.tools)
    AGENTRT_TRY(rt->add_tool(t));
  return rt;
}

Status Runtime::add_tool(const ToolConfig& config) {
  auto tool = make_builtin_tool(config);
  if (!tool.ok()) return tool.error();
  return add_tool(std::move(*tool));
}

Status Runtime::add_tool(std::shared_ptr<Tool> tool) {
  return impl_->tools->add(std::move(tool));
}

Result<JobId> Runtime::start_agent(const AgentSpec& agent, const std::string& input,
                                   ProgressFn progress,
                                   std::function<void(Result<AgentResult>)> done) {
  AGENTRT_TRY(impl_->check_agent(agent));
  const JobId id = impl_->reserve_job();
  AgentSpec spec = agent;
  if (!spec.program) spec.program = job_program(id);
  AgentInit init{impl_->ctx, spec, input, id, -1, std::move(progress), nullptr, false, nullptr};
  init.program = spec.program;
  init.done = [impl = impl_.get(), id, done = std::move(done)](Result<AgentResult> r) {
    if (done) done(std::move(r));
    impl->end_job(id);
  };
  impl_->attach_job(id, impl_->sys->spawn(agent_actor, std::move(init)));
  return id;
}

Result<AgentResult> Runtime::run_agent(const AgentSpec& agent, const std::string& input,
                                       ProgressFn progress) {
  std::promise<Result<AgentResult>> p;
  auto f = p.get_future();
  auto id = start_agent(agent, input, std::move(progress),
                        [&p](Result<AgentResult> r) { p.set_value(std::move(r)); });
  if (!id.ok()) return id.error();
  return f.get();
}

Result<JobId> Runtime::start_best_of(const AgentSpec& agent, const std::string& input,
                                     const BestOfSpec& spec, ProgressFn progress,
                                     std::function<void(Result<BestOfResult>)> done) {
  AGENTRT_TRY(impl_->check_agent(agent));
  if (spec.verifier) AGENTRT_TRY(impl_->check_agent(*spec.verifier));
  const JobId id = impl_->reserve_job();
  AgentSpec a = agent;  // the samples (and verifiers) share the job's program
  if (!a.program) a.program = job_program(id);
  SamplerInit init{impl_->ctx, a, input, spec, id, std::move(progress), nullptr};
  init.done = [impl = impl_.get(), id, done = std::move(done)](Result<BestOfResult> r) {
    if (done) done(std::move(r));
    impl->end_job(id);
  };
  impl_->attach_job(id, impl_->sys->spawn(sampler_actor, std::move(init)));
  return id;
}

Result<BestOfResult> Runtime::run_best_of(const AgentSpec& agent, const std::string& input,
                                          const BestOfSpec& spec, ProgressFn progress) {
  std::promise<Result<BestOfResult>> p;
  auto f = p.get_future();
  auto id = start_best_of(agent, input, spec, std::move(progress),
                          [&p](Result<BestOfResult> r) { p.set_value(std::move(r)); });
  if (!id.ok()) return id.error();
  return f.get();
}

std::int64_t Runtime::new_program() {
  return job_program(impl_->next_job++);  // a job id that no job gets
}

std::int64_t Runtime::program_of_key(std::string_view key) {
  std::uint64_t h = 14695981039346656037ull;  // FNV-1a
  for (const char c : key) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ull;
  }
  // [-2^63 + 1, -2^62]: below every job's program while job ids stay under 2^62.
  constexpr std::int64_t kBase = std::int64_t{1} << 62;
  return -kBase - static_cast<std::int64_t>(h & static_cast<std::uint64_t>(kBase - 1));
}

void Runtime::cancel(JobId job) {
  std::lock_guard lock(impl_->mu);
  auto it = impl_->jobs.find(job);
  if (it != impl_->jobs.end() && it->second) caf::anon_send(it->second, cancel_atom::value);
}

Status Runtime::flush_kv() {
  return impl_->loop->flush_kv();
}

RuntimeMetrics Runtime::metrics() const {
  return impl_->loop->metrics();
}

caf::actor Runtime::engine_handle() const {
  return impl_->engine;
}

chat::Family Runtime::chat_family() const {
  return impl_->family;
}

const chat::ChatTemplate& Runtime::chat_template() const {
  return impl_->chat;
}

const tokenizer::Tokenizer& Runtime::tokenizer() const {
  return *impl_->tok;
}

Result<std::vector<std::int32_t>> Runtime::agent_prefix_tokens(const AgentSpec& agent) const {
  auto first =
      render_first_prompt(impl_->chat, *impl_->tok, registry_of(agent, *impl_->tools), agent, "");
  if (!first.ok()) return first.error();
  return std::move(first->tokens);
}

Result<std::shared_ptr<const grammar::TokenVocabulary>> Runtime::token_vocabulary() const {
  std::lock_guard lock(impl_->vocab_mu);
  if (!impl_->vocab) {
    auto v = grammar::TokenVocabulary::from_tokenizer(*impl_->tok, impl_->end_ids);
    if (!v.ok()) return v.error();
    impl_->vocab = std::move(*v);
  }
  return impl_->vocab;
}

std::shared_ptr<const ToolRegistry> Runtime::tools() const {
  return impl_->tools;
}

void Runtime::hint_reuse(kv::HintOwner owner, std::vector<std::int32_t> tokens, std::int32_t steps,
                         bool prefetch) {
  impl_->loop->hint_reuse(owner, std::move(tokens), steps, prefetch);
}

void Runtime::kv_snapshot(std::size_t max, std::function<void(std::vector<kv::KvHeldBlock>)> sink) {
  impl_->loop->kv_snapshot(max, std::move(sink));
}

kv::Duration Runtime::predicted_tool_duration(const std::string& tool) const {
  return impl_->ttl->predict(tool);
}

}  // namespace agentrt::actors
