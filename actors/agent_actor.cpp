// The agent actor's turn loop (see agent_actor.h).
#include "actors/agent_actor.h"

#include <chrono>
#include <cstdlib>
#include <optional>
#include <string_view>

#include "actors/agent_prompt.h"
#include "actors/tool_actor.h"
#include "engine/chat/tool_call_parser.h"
#include "engine/grammar/schema_match.h"
#include "engine/tokenizer/incremental_decoder.h"

namespace agentrt::actors {
namespace {

using SteadyClock = std::chrono::steady_clock;
// To self, delayed: re-pin the turn's KV before its slowest call is predicted to end.
using prefetch_atom = caf::atom_constant<caf::atom("prefetch")>;

class Agent : public std::enable_shared_from_this<Agent> {
 public:
  Agent(caf::event_based_actor* self, AgentInit init) : self_(self), in_(std::move(init)) {}

  void start();
  void on_batch(const TokenBatch& b);
  void on_cancel();
  void on_prefetch(std::uint64_t turn);
  void complete(Result<AgentResult> r);

 private:
  const AgentContext& ctx() const { return *in_.ctx; }
  void reset_turn();
  bool on_token(std::int32_t token, float logprob);
  void launch(chat::ToolCall call);
  void on_tool_result(std::size_t idx, const std::string& text, bool ok, kv::Duration took);
  void end_of_reply(const TokenBatch& b);
  void maybe_continue();
  void reprefill(std::vector<std::int32_t> prompt, const char* state,
                 std::shared_ptr<const sampling::Constraint> constraint = nullptr);
  bool blends() const { return in_.spec.kv_reuse == KvReuse::blend; }
  std::vector<PromptSegment> segments_of(std::span<const std::int32_t> tokens,
                                         std::span<const std::string> texts) const;
  bool wants_json_turn() const;
  void json_turn();
  void finish(StopReason why);
  void stop_request();
  TtlInputs ttl_inputs(std::vector<std::string> tools, std::int64_t context_tokens) const;
  std::optional<kv::Duration> turn_ttl();
  void repin_for_calls();
  void repin(kv::Duration ttl);
  std::optional<int> turn_max_tokens() const;
  void emit(ProgressKind kind, std::string text, const chat::ToolCall* call = nullptr,
            double duration_ms = 0.0);

  caf::event_based_actor* self_;
  AgentInit in_;
  chat::Conversation conv_;
  std::optional<RequestId> req_;
  std::vector<std::int32_t> held_;  // the tokens the sequence holds (next_prompt needs them)
  // Under kv_reuse blend: the marked text of the conversation so far, in prompt order (the
  // first prompt's marks, then every tool result), for a reprefill's segments.
  std::vector<std::string> marked_;
  std::optional<RequestId> stale_;  // a request ended by reprefill: its late batches are ignored
  bool cancel_pending_ = false;
  bool done_ = false;
  SteadyClock::time_point t0_ = SteadyClock::now();
  std::int64_t context_tokens_ = 0;
  AgentResult res_;
  double logprob_sum_ = 0.0;
  // The current turn.
  std::optional<chat::ToolCallStream> stream_;
  std::optional<tokenizer::IncrementalDecoder> decoder_;
  std::string content_;
  std::optional<std::string> parse_error_;
  std::vector<chat::ToolCall> calls_;
  std::vector<std::optional<std::string>> results_;
  std::vector<SteadyClock::time_point> started_;  // per call: when its tool actor was asked
  std::vector<std::size_t> record_of_;            // per call: its index in res_.tool_records
  bool json_turn_ = false;  // the extra turn for a JSON answer (output_constraint) was asked
  int outstanding_ = 0;
  bool reply_done_ = false;
  std::int64_t turn_tokens_ = 0;
  std::uint64_t turn_id_ = 0;            // a delayed prefetch of an earlier turn is stale
  SteadyClock::time_point pin_until_{};  // the latest re-pin's expiry, as the agent sees it
};

void Agent::emit(ProgressKind kind, std::string text, const chat::ToolCall* call,
                 double duration_ms) {
  if (!in_.progress) return;
  Progress p{
      in_.job, in_.sample, res_.turns, kind, std::move(text), std::nullopt, res_.generated_tokens,
      nullptr};
  p.cached_tokens = res_.cached_tokens;
  p.duration_ms = duration_ms;
  if (call) p.call = *call;
  try {
    in_.progress(p);
  } catch (...) {  // a throwing callback must not take the agent down
  }
}

void Agent::reset_turn() {
  const auto format = ctx().chat_template.tool_call_format();
  stream_.emplace(format);
  // Mistral's [TOOL_CALLS] and harmony's <|channel|> are special tokens: keep them.
  decoder_.emplace(ctx().tokenizer, !chat::needs_special_tokens(format));
  content_.clear();
  parse_error_.reset();
  calls_.clear();
  results_.clear();
  started_.clear();
  record_of_.clear();
  outstanding_ = 0;
  reply_done_ = false;
  turn_tokens_ = 0;
  ++turn_id_;
}

TtlInputs Agent::ttl_inputs(std::vector<std::string> tools, std::int64_t context_tokens) const {
  TtlInputs ti;
  ti.tools = std::move(tools);
  ti.context_tokens = context_tokens;
  ti.seq_blocks = static_cast<int>((context_tokens + ctx().block_size - 1) / ctx().block_size);
  ti.total_blocks = ctx().total_blocks;
  ti.available_blocks = ctx().metrics().kv_available_blocks;
  return ti;
}

// Provisional: the reply's calls are not known yet, so every tool of the agent counts.
std::optional<kv::Duration> Agent::turn_ttl() {
  const auto context = context_tokens_ + (in_.spec.sampling.max_tokens / 2);
  return ctx().ttl->decide(ttl_inputs(in_.spec.tools, context)).ttl;
}

// The reply has paused at EOS with calls still running: pin for those calls only, and with
// a host tier schedule the prefetch for just before the slowest is predicted to end.
void Agent::repin_for_calls() {
  const TtlPolicy& policy = *ctx().ttl;
  std::vector<std::string> running;
  std::optional<SteadyClock::time_point> last_end;
  for (std::size_t i = 0; i < calls_.size(); ++i) {
    if (results_[i]) continue;
    running.push_back(calls_[i].name);
    const auto end = started_[i] + policy.predict(calls_[i].name);
    if (!last_end || end > *last_end) last_end = end;
  }
  if (running.empty()) return;
  const std::int64_t context = context_tokens_ + turn_tokens_;
  repin(policy.decide(ttl_inputs(std::move(running), context)).ttl);
  if (!ctx().host_tier) return;
  const std::int64_t blocks = (context + ctx().block_size - 1) / ctx().block_size;
  const auto block_bytes = static_cast<std::size_t>(ctx().metrics().kv.block_bytes);
  const auto at = *last_end - policy.prefetch_lead(blocks, block_bytes);
  const auto delay = std::chrono::duration_cast<kv::Duration>(at - SteadyClock::now());
  if (delay <= kv::Duration::zero()) return;  // the pin just made covers it
  self_->delayed_send(self_, delay, prefetch_atom::value, turn_id_);
}

// Sent in order before any resume of this turn, so the request is still paused when the
// engine actor applies it; an error (e.g. the request ended meanwhile) changes nothing.
void Agent::repin(kv::Duration ttl) {
  if (!req_) return;
  pin_until_ = SteadyClock::now() + ttl;
  self_
      ->request(ctx().engine, caf::infinite, repin_atom::value, *req_,
                static_cast<std::int64_t>(ttl.count()))
      .then([keep = shared_from_this()](const GenerateReply&) {},
            [keep = shared_from_this()](const caf::error&) {});
}

// The slowest call is predicted to end within the lead: re-pin so that blocks whose pin
// lapsed (expired or revoked, then evicted to the host tier) are copied back in time. The
// pin never gets shorter than the one in force, as far as the agent knows.
void Agent::on_prefetch(std::uint64_t turn) {
  if (done_ || turn != turn_id_ || !reply_done_ || outstanding_ == 0) return;
  const TtlPolicy& policy = *ctx().ttl;
  const std::int64_t context = context_tokens_ + turn_tokens_;
  const std::int64_t blocks = (context + ctx().block_size - 1) / ctx().block_size;
  const auto lead =
      policy.prefetch_lead(blocks, static_cast<std::size_t>(ctx().metrics().kv.block_bytes));
  const auto left = std::chrono::duration_cast<kv::Duration>(pin_until_ - SteadyClock::now());
  repin(std::max(lead + policy.options().slack, left));
}

std::optional<int> Agent::turn_max_tokens() const {
  std::int64_t n = in_.spec.sampling.max_tokens;
  if (in_.spec.token_budget > 0) n = std::min(n, in_.spec.token_budget - res_.generated_tokens);
  return static_cast<int>(std::max<std::int64_t>(n, 1));
}

// Under blend: where `texts` lie in `tokens`, as segments for the engine.
std::vector<PromptSegment> Agent::segments_of(std::span<const std::int32_t> tokens,
                                              std::span<const std::string> texts) const {
  if (!blends()) return {};
  return text_segments(ctx().tokenizer, tokens, texts, in_.spec.min_segment_tokens);
}

void Agent::start() {
  auto first = render_first_prompt(ctx().chat_template, ctx().tokenizer,
                                   registry_of(in_.spec, *ctx().tools), in_.spec, in_.input);
  if (!first.ok()) return complete(first.error());
  conv_ = std::move(first->conversation);
  context_tokens_ = std::ssize(first->tokens);
  held_ = first->tokens;
  if (blends()) {
    const auto& sp = in_.spec;
    for (const auto& r : sp.system_segments)
      if (r.begin < r.end && r.end <= sp.system_prompt.size())
        marked_.push_back(sp.system_prompt.substr(r.begin, r.end - r.begin));
    for (const auto& r : sp.input_segments)
      if (r.begin < r.end && r.end <= in_.input.size())
        marked_.push_back(in_.input.substr(r.begin, r.end - r.begin));
  }
  reset_turn();
  emit(ProgressKind::state, "generating");
  if (in_.adopt) return;  // the sampler's request streams to us
  GenerateMsg msg;
  msg.request.prompt = std::move(first->tokens);
  msg.request.segments = std::move(first->segments);
  msg.request.kv_reuse = in_.spec.kv_reuse;
  msg.request.blend_recompute = in_.spec.blend_recompute;
  msg.request.blend_anchors = in_.spec.blend_anchors;
  msg.request.params = first_turn_params(in_.spec);
  msg.request.params.max_tokens = *turn_max_tokens();
  msg.request.program = in_.program;
  msg.pause_at_eos = turn_ttl();
  msg.subscribers.push_back(caf::actor_cast<caf::actor>(self_));
  self_->request(ctx().engine, caf::infinite, generate_atom::value, std::move(msg))
      .then(
          [this, keep = shared_from_this()](const GenerateReply& r) {
            if (r.error) return complete(r.error->with_context("agent '" + in_.spec.name + "'"));
            if (!req_ && r.id != 0) req_ = r.id;  // 0: queued, the id comes with the tokens
            if (cancel_pending_) on_cancel();
          },
          [this, keep = shared_from_this()](const caf::error& e) {
            complete(make_error(ErrorCode::internal, "engine actor: " + to_string(e)));
          });
}

void Agent::on_batch(const TokenBatch& b) {
  if (done_) return;
  if (stale_ && b.id == *stale_) return;  // the request reprefill() ended
  if (!req_ && b.id != 0) req_ = b.id;    // id 0: the request never started (queued, failed)
  if (b.cancelled || (cancel_pending_ && b.id == 0))
    return complete(make_error(ErrorCode::cancelled, "agent '" + in_.spec.name + "': cancelled"));
  if (cancel_pending_) return on_cancel();
  if (b.error) return complete(b.error->with_context("agent '" + in_.spec.name + "': engine"));
  if (b.cached_tokens > 0) res_.cached_tokens += b.cached_tokens;
  for (std::size_t i = 0; i < b.tokens.size(); ++i) {
    if (!on_token(b.tokens[i], b.logprobs[i])) return;
  }
  if (b.finish) end_of_reply(b);
}

bool Agent::on_token(std::int32_t token, float logprob) {
  held_.push_back(token);
  ++res_.generated_tokens;
  ++turn_tokens_;
  logprob_sum_ += logprob;
  auto piece = decoder_->push(token);
  if (piece.ok() && !piece->empty() && !parse_error_) {
    std::vector<chat::StreamEvent> events;
    if (auto st = stream_->feed(*piece, events); !st.ok()) parse_error_ = st.error().message;
    for (auto& e : events) {
      if (e.kind == chat::StreamEvent::Kind::text) {
        content_ += e.text;
        emit(ProgressKind::text, e.text);
      } else if (e.kind == chat::StreamEvent::Kind::call_completed) {
        launch(std::move(e.call));
      }
    }
  }
  const bool over_own = in_.spec.token_budget > 0 && res_.generated_tokens >= in_.spec.token_budget;
  const bool over_shared = in_.shared_budget && in_.shared_budget->fetch_sub(1) <= 1;
  if (over_own || over_shared) {
    stop_request();
    finish(StopReason::token_budget);
    return false;
  }
  return true;
}

void Agent::launch(chat::ToolCall call) {
  const std::size_t idx = calls_.size();
  calls_.push_back(call);
  results_.emplace_back();
  started_.push_back(SteadyClock::now());
  record_of_.push_back(res_.tool_records.size());
  res_.tool_records.push_back(
      {call.name,
       call.arguments.dump(-1, ' ', false, chat::Json::error_handler_t::replace),
       false,
       {},
       0.0,
       0,
       res_.turns + 1});
  ++res_.tool_calls;
  emit(ProgressKind::tool_call, call.name, &call);
  // Only the agent's own tools run: the registry holds every tool of the runtime.
  auto args = registry_of(in_.spec, *ctx().tools).check_call(call, in_.spec.tools);
  if (!args.ok()) return on_tool_result(idx, args.error().message, false, kv::Duration{0});
  auto tool = registry_of(in_.spec, *ctx().tools).find(call.name);
  const auto timeout = tool->spec().timeout;
  auto actor = self_->spawn<caf::detached>(tool_actor, tool);
  ++outstanding_;
  const auto sent = started_[idx];
  self_->request(actor, timeout, invoke_atom::value, ToolArgs{std::move(*args)})
      .then(
          [this, keep = shared_from_this(), idx](const ToolReply& r) {
            --outstanding_;
            on_tool_result(idx, r.text, r.ok, r.duration);
          },
          [this, keep = shared_from_this(), idx, timeout, sent,
           name = call.name](const caf::error& e) {
            --outstanding_;
            const bool timed_out = e == caf::sec::request_timeout;
            const std::string why =
                timed_out ? "timed out after " + std::to_string(timeout.count()) + " ms"
                          : "failed: " + to_string(e);
            on_tool_result(idx, "tool '" + name + "' " + why, false, SteadyClock::now() - sent);
          });
}

void Agent::on_tool_result(std::size_t idx, const std::string& text, bool ok, kv::Duration took) {
  if (done_) return;
  if (took.count() > 0) ctx().ttl->record(calls_[idx].name, took);
  results_[idx] = ok ? text : "error: " + text;
  if (!ok) ++res_.tool_errors;
  const double ms = std::chrono::duration<double, std::milli>(took).count();
  ToolCallRecord& rec = res_.tool_records[record_of_[idx]];
  rec.ok = ok;
  rec.result = cap_tool_text(*results_[idx]);
  rec.duration_ms = ms;
  // A limited tool's failure says how often it tried ("...: after 3 attempts: ...").
  if (const auto at = text.find("after "); !ok && at != std::string::npos) {
    char* end = nullptr;
    const long n = std::strtol(text.c_str() + at + 6, &end, 10);
    if (n > 0 && n < 1000 && std::string_view(end).starts_with(" attempts"))
      rec.attempts = static_cast<int>(n);
  }
  emit(ProgressKind::tool_result, *results_[idx], &calls_[idx], ms);
  maybe_continue();
}

void Agent::end_of_reply(const TokenBatch& b) {
  ++res_.turns;
  std::vector<chat::StreamEvent> events;
  if (!parse_error_) {
    if (auto piece = decoder_->finish(); !piece.empty()) {
      if (auto st = stream_->feed(piece, events); !st.ok()) parse_error_ = st.error().message;
    }
    if (auto st = stream_->finish(events); !st.ok() && !parse_error_)
      parse_error_ = st.error().message;
  }
  for (auto& e : events) {
    if (e.kind == chat::StreamEvent::Kind::text) content_ += e.text;
    if (e.kind == chat::StreamEvent::Kind::call_completed) launch(std::move(e.call));
  }
  if (!b.paused_at_eos) {  // cut by max_tokens or the context: the request has ended
    req_.reset();
    return finish(StopReason::token_budget);
  }
  reply_done_ = true;
  if (calls_.empty() && !parse_error_) {
    if (wants_json_turn()) return json_turn();
    stop_request();
    return finish(StopReason::final_answer);
  }
  if (res_.turns >= in_.spec.max_turns) {
    stop_request();
    return finish(StopReason::max_turns);
  }
  repin_for_calls();
  emit(ProgressKind::state, "tools");
  maybe_continue();
}

void Agent::maybe_continue() {
  if (done_ || !reply_done_ || outstanding_ > 0) return;
  chat::Message reply{chat::Role::assistant, content_, {}, calls_, {}, {}};
  conv_.messages.push_back(reply);
  std::vector<std::string> texts;
  for (std::size_t i = 0; i < calls_.size(); ++i) {
    texts.push_back(results_[i].value_or("error: no result"));
    conv_.messages.push_back(
        {chat::Role::tool, texts.back(), {}, {}, calls_[i].id, calls_[i].name});
  }
  if (parse_error_) {
    texts.push_back("error: malformed tool call: " + *parse_error_);
    ++res_.tool_errors;
    conv_.messages.push_back({chat::Role::tool, texts.back(), {}, {}, {}, {}});
  }
  if (blends()) marked_.insert(marked_.end(), texts.begin(), texts.end());
  auto next =
      next_prompt(ctx().chat_template, ctx().tokenizer, conv_, held_, in_.spec.enable_thinking);
  if (!next.ok()) {
    stop_request();
    return complete(next.error().with_context("agent '" + in_.spec.name + "'"));
  }
  if (next->reprefill) return reprefill(std::move(next->tokens), "resumed");
  ResumeMsg msg;
  msg.id = *req_;
  msg.appended = std::move(next->tokens);
  msg.segments = segments_of(msg.appended, texts);  // tool results: blended, as quoted elsewhere
  held_.insert(held_.end(), msg.appended.begin(), msg.appended.end());
  context_tokens_ += turn_tokens_ + std::ssize(msg.appended);
  msg.max_tokens = turn_max_tokens();
  msg.pause_at_eos = turn_ttl();
  reset_turn();
  emit(ProgressKind::state, "resumed");
  self_->request(ctx().engine, caf::infinite, resume_atom::value, std::move(msg))
      .then([this, keep = shared_from_this()](const GenerateReply& r) {
        if (r.error) complete(r.error->with_context("agent '" + in_.spec.name + "': resume"));
      });
}

// A final answer of an agent with tools and an output schema that is not JSON of the
// schema: one more turn, constrained to it.
bool Agent::wants_json_turn() const {
  const auto& c = in_.spec.output_constraint;
  if (!c || json_turn_ || in_.spec.tools.empty() || !req_) return false;
  if (in_.spec.token_budget > 0 && res_.generated_tokens >= in_.spec.token_budget) return false;
  return !grammar::parse_matching(c->grammar(), content_).ok();
}

void Agent::json_turn() {
  json_turn_ = true;
  conv_.messages.push_back({chat::Role::assistant, content_, {}, {}, {}, {}});
  std::string ask = "Now give only your final answer, as JSON";
  ask += in_.spec.output_schema.empty() ? "."
                                        : " matching this JSON schema:\n" + in_.spec.output_schema;
  conv_.messages.push_back({chat::Role::user, ask, {}, {}, {}, {}});
  auto next =
      next_prompt(ctx().chat_template, ctx().tokenizer, conv_, held_, in_.spec.enable_thinking);
  if (!next.ok()) {  // the caller finds the answer is not JSON of the schema
    conv_.messages.resize(conv_.messages.size() - 2);  // finish() adds the reply again
    stop_request();
    return finish(StopReason::final_answer);
  }
  if (next->reprefill)
    return reprefill(std::move(next->tokens), "json answer", in_.spec.output_constraint);
  ResumeMsg msg;
  msg.id = *req_;
  msg.appended = std::move(next->tokens);
  held_.insert(held_.end(), msg.appended.begin(), msg.appended.end());
  context_tokens_ += turn_tokens_ + std::ssize(msg.appended);
  msg.max_tokens = turn_max_tokens();
  msg.pause_at_eos = turn_ttl();
  msg.constraint = std::shared_ptr<const sampling::Constraint>(in_.spec.output_constraint);
  reset_turn();
  emit(ProgressKind::state, "json answer");
  self_->request(ctx().engine, caf::infinite, resume_atom::value, std::move(msg))
      .then([this, keep = shared_from_this()](const GenerateReply& r) {
        if (r.error) complete(r.error->with_context("agent '" + in_.spec.name + "': resume"));
      });
}

// The template renders the conversation other than the sequence holds it (Jinja templates
// only): the whole new prompt is prefilled as a new request (the prefix cache serves what
// still matches); the paused one ends.
void Agent::reprefill(std::vector<std::int32_t> prompt, const char* state,
                      std::shared_ptr<const sampling::Constraint> constraint) {
  if (req_) stale_ = *req_;
  stop_request();
  held_ = prompt;
  context_tokens_ = std::ssize(prompt);
  reset_turn();
  emit(ProgressKind::state, state);
  GenerateMsg msg;
  msg.request.segments = segments_of(prompt, marked_);
  msg.request.kv_reuse = in_.spec.kv_reuse;
  msg.request.blend_recompute = in_.spec.blend_recompute;
  msg.request.blend_anchors = in_.spec.blend_anchors;
  msg.request.prompt = std::move(prompt);
  msg.request.params = in_.spec.sampling;
  msg.request.params.max_tokens = *turn_max_tokens();
  if (constraint) msg.request.params.constraint = std::move(constraint);
  msg.request.program = in_.program;
  msg.pause_at_eos = turn_ttl();
  msg.subscribers.push_back(caf::actor_cast<caf::actor>(self_));
  self_->request(ctx().engine, caf::infinite, generate_atom::value, std::move(msg))
      .then(
          [this, keep = shared_from_this()](const GenerateReply& r) {
            if (r.error) return complete(r.error->with_context("agent '" + in_.spec.name + "'"));
            if (!req_ && r.id != 0) req_ = r.id;
            if (cancel_pending_) on_cancel();
          },
          [this, keep = shared_from_this()](const caf::error& e) {
            complete(make_error(ErrorCode::internal, "engine actor: " + to_string(e)));
          });
}

void Agent::stop_request() {
  if (req_) self_->send(ctx().engine, cancel_atom::value, *req_);
  req_.reset();
}

void Agent::on_cancel() {
  if (done_) return;
  if (!req_) {  // the request id is not known yet: cancel once it is
    cancel_pending_ = true;
    // Work still waiting for a slot is withdrawn at once (a cancelled TokenBatch follows).
    self_->send(ctx().engine, cancel_atom::value, caf::actor_cast<caf::actor>(self_));
    return;
  }
  stop_request();
  complete(make_error(ErrorCode::cancelled, "agent '" + in_.spec.name + "': cancelled"));
}

void Agent::finish(StopReason why) {
  res_.stop = why;
  res_.output = content_;
  if (!content_.empty() || !calls_.empty())
    conv_.messages.push_back({chat::Role::assistant, content_, {}, calls_, {}, {}});
  res_.conversation = conv_;
  res_.mean_logprob =
      res_.generated_tokens > 0 ? logprob_sum_ / static_cast<double>(res_.generated_tokens) : 0.0;
  complete(res_);
}

void Agent::complete(Result<AgentResult> r) {
  if (done_) return;
  done_ = true;
  if (r.ok()) r->seconds = std::chrono::duration<double>(SteadyClock::now() - t0_).count();
  emit(ProgressKind::state, r.ok() ? "finished" : "failed: " + r.error().message);
  auto done = std::move(in_.done);
  in_.done = nullptr;
  if (done) done(std::move(r));
  self_->quit();
}

}  // namespace

caf::behavior agent_actor(caf::event_based_actor* self, AgentInit init) {
  auto agent = std::make_shared<Agent>(self, std::move(init));
  self->set_exception_handler([agent](caf::scheduled_actor*, std::exception_ptr& ep) -> caf::error {
    std::string what = "unknown exception";
    try {
      std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    agent->complete(make_error(ErrorCode::internal, "agent failed: " + what));
    return caf::make_error(caf::sec::runtime_error, what);
  });
  self->send(self, start_atom::value);
  return {
      // Each handler holds its own reference: complete() quits, which drops the behavior.
      [agent](start_atom) {
        auto keep = agent;
        keep->start();
      },
      [agent](const TokenBatch& b) {
        auto keep = agent;
        keep->on_batch(b);
      },
      [agent](cancel_atom) {
        auto keep = agent;
        keep->on_cancel();
      },
      [agent](prefetch_atom, std::uint64_t turn) {
        auto keep = agent;
        keep->on_prefetch(turn);
      },
  };
}

}  // namespace agentrt::actors
