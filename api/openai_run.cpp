// OpenAiCall: prompt, admission, the event loop over the choices, and session pins.
#include "api/openai_run.h"

#include "actors/prompt_segments.h"
#include "api/forced_call.h"
#include "engine/grammar/json_schema_constraint.h"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace agentrt::api {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

ApiError openai_error(const Error& e, std::string param = "") {
  ApiError a = from_error(e, std::move(param));
  if (e.code == ErrorCode::invalid_argument) a.status = 400;
  if (a.status == 429 && a.retry_after == 0) a.retry_after = 1;
  return a;
}

const char* finish_name(std::optional<FinishReason> f) {
  if (!f) return "stop";
  switch (*f) {
    case FinishReason::length:
    case FinishReason::context_full:
      return "length";
    case FinishReason::stop_token:
    case FinishReason::stop_string:
      return "stop";
  }
  return "stop";
}

// The start of a reply the prompt already holds, so the model writes the call tool_choice
// asks for (the model's own call format). A named call's arguments are opened up to the
// first key's quote, a natural token boundary ("arguments": {" not "arguments": ), and a
// function without parameters gets its whole call.
ApiOr<std::string> forced_prefix(const chat::ChatTemplate& tmpl, const ToolChoice& choice,
                                 const std::vector<chat::ToolDefinition>& tools) {
  using K = ToolChoice::Kind;
  using F = chat::ToolCallFormat;
  if (choice.kind != K::required && choice.kind != K::named) return std::string();
  const F format = tmpl.tool_call_format();
  if (tmpl.family() == chat::Family::llama3 || format == F::none)
    return api_error(400, "unsupported_parameter",
                     "tool_choice: the model's chat template has no tool-call format",
                     "/tool_choice");
  const bool qwen = format == F::hermes;
  if (choice.kind == K::required) {
    switch (format) {
      case F::hermes:
        return std::string("<tool_call>\n");
      case F::mistral:
        return std::string("[TOOL_CALLS][{\"name\": \"");
      case F::harmony:
        return std::string("<|channel|>commentary to=functions.");
      default:
        return std::string("{\"name\": \"");
    }
  }
  bool has_params = true;
  for (const auto& t : tools)
    if (t.name == choice.name) {
      const auto props = t.parameters.find("properties");
      has_params = props != t.parameters.end() && props->is_object() && !props->empty();
    }
  if (format == F::harmony)
    return "<|channel|>commentary to=functions." + choice.name + " <|constrain|>json<|message|>" +
           (has_params ? "{\"" : "{}");
  std::string call = "{\"name\": " + json(choice.name).dump() +
                     (format == F::llama_json ? ", \"parameters\": " : ", \"arguments\": ");
  call += has_params ? "{\"" : "{}}";
  if (format == F::mistral) return "[TOOL_CALLS][" + call + (has_params ? "" : "]");
  return qwen ? "<tool_call>\n" + call + (has_params ? "" : "\n</tool_call>") : call;
}

}  // namespace

struct OpenAiCall::Choice {
  explicit Choice(const tokenizer::Tokenizer& tok, ChoiceOptions o) : dec(tok, std::move(o)) {}
  ChoiceDecoder dec;
  openai::ChoiceOut reply;    // the choice so far (a whole reply returns it)
  std::size_t text_sent = 0;  // completions: bytes streamed (logprob text offsets)
  std::vector<std::int32_t> generated;
  RequestId request = 0;
  std::optional<Error> error;
  std::vector<std::int32_t> pass_tokens;  // the engine request's prompt + generated so far
  bool forced = false;                    // continued from a forced call (tool_choice)
  int calls_sent = 0;                     // tool calls streamed so far
  bool ended = false;
  bool role_sent = false;
};

OpenAiCall::OpenAiCall(OpenAiRequest req, OpenAiDeps deps)
    : req_(std::move(req)), deps_(std::move(deps)), arrived_(Clock::now()) {}

OpenAiCall::~OpenAiCall() {
  if (stream_) stream_->cancel();
}

ApiOr<std::unique_ptr<OpenAiCall>> OpenAiCall::start(OpenAiRequest req, OpenAiDeps deps) {
  std::unique_ptr<OpenAiCall> call(new OpenAiCall(std::move(req), std::move(deps)));
  if (auto p = call->prepare(); !p.ok()) return p.error();
  if (auto s = call->submit(); !s.ok()) return s.error();
  return call;
}

ApiOr<OpenAiRouteKey> OpenAiCall::route_key(OpenAiRequest req, OpenAiDeps deps) {
  OpenAiCall call(std::move(req), std::move(deps));
  if (auto p = call.prepare(); !p.ok()) return p.error();
  return OpenAiRouteKey{std::move(call.prompt_), call.session_key()};
}

bool OpenAiCall::heartbeat(const std::string& bytes) {
  if (!bytes.empty() && bytes.front() == ':') return true;  // an SSE comment
  return std::all_of(bytes.begin(), bytes.end(), [](char ch) { return ch == ' '; });
}

// The conversation's key: the session the client named, else (chat) its first messages.
std::string OpenAiCall::session_key() const {
  const auto& explicit_session = req_.session ? req_.session : deps_.session_header;
  if (explicit_session) return explicit_session_key(deps_.model, *explicit_session);
  if (req_.endpoint == OpenAiEndpoint::chat)
    return conversation_key(deps_.model, req_.conversation);
  return "";
}

ApiOr<bool> OpenAiCall::prepare() {
  const auto& tok = deps_.runtime->tokenizer();
  const chat::ChatTemplate& tmpl = deps_.runtime->chat_template();
  if (req_.endpoint == OpenAiEndpoint::chat) {
    chat::Conversation conv = req_.conversation;
    parse_tools_ = !conv.tools.empty() && req_.tool_choice.kind != ToolChoice::Kind::none;
    if (!parse_tools_) conv.tools.clear();
    if (parse_tools_ && (tmpl.family() == chat::Family::llama3 ||
                         tmpl.tool_call_format() == chat::ToolCallFormat::none))
      return api_error(400, "unsupported_parameter",
                       "tools: the model's chat template has no tool-call format", "/tools");
    chat::RenderOptions ro;
    ro.add_generation_prompt = true;
    ro.enable_thinking = req_.enable_thinking ? req_.enable_thinking : deps_.enable_thinking;
    if (tok.bos_id()) ro.bos_token = tok.config().bos_token;
    auto rendered = tmpl.render(conv, ro);
    if (!rendered.ok()) return openai_error(rendered.error(), "/messages");
    auto prefix = forced_prefix(tmpl, req_.tool_choice, conv.tools);
    if (!prefix.ok()) return prefix.error();
    auto vocab = deps_.runtime->token_vocabulary();
    if (auto fc = forced_call(tmpl.tool_call_format(), req_.tool_choice, conv.tools,
                              vocab.ok() ? *vocab : nullptr)) {
      // The call's grammar from the reply's first token: it parses, its arguments validate.
      forced_prefix_ = fc->open;
      req_.params.constraint = fc->constraint;
    } else {
      // With one choice the model first writes freely (a model may explain before it
      // calls); only a reply that ends without a call is continued from the forced call.
      (req_.n == 1 ? late_force_ : forced_prefix_) = *prefix;
    }
    prompt_ends_thinking_ = forced_prefix_.empty() && rendered->ends_with("<think>\n");
    prompt_ = tok.encode(*rendered + forced_prefix_, false);
    if (req_.kv_reuse == KvReuse::blend) {  // the caller's messages are the quoted text
      const auto ranges = actors::place_messages(*rendered, conv.messages);
      segments_ = actors::token_spans(tok, prompt_, *rendered + forced_prefix_, ranges,
                                      actors::kMinSegmentTokens);
    }
  } else if (req_.prompt_is_tokens) {
    prompt_ = req_.prompt_tokens;
  } else {
    prompt_ = tok.encode(req_.prompt_text, true);
  }
  const std::int64_t ctx = deps_.runtime->max_context();
  const auto n = static_cast<std::int64_t>(prompt_.size());
  const char* where = req_.endpoint == OpenAiEndpoint::chat ? "/messages" : "/prompt";
  if (n == 0) return api_error(400, "invalid_value", "the prompt is empty", where);
  if (n >= ctx || (req_.max_tokens_given && n + req_.params.max_tokens > ctx))
    return api_error(400, "context_length_exceeded",
                     "this model's maximum context length is " + std::to_string(ctx) +
                         " tokens; the prompt has " + std::to_string(n) + " and max_tokens is " +
                         std::to_string(req_.params.max_tokens),
                     req_.max_tokens_given ? "/max_tokens" : where);
  if (!req_.max_tokens_given)
    req_.params.max_tokens =
        static_cast<int>(std::min<std::int64_t>(req_.params.max_tokens, ctx - n));
  return true;
}

ApiOr<bool> OpenAiCall::submit() {
  SessionTable& sessions = *deps_.sessions;
  session_key_ = session_key();
  std::optional<PausedTurn> previous;
  if (!session_key_.empty()) previous = sessions.take(session_key_, deps_.client, prompt_);

  if (req_.response_grammar && !req_.params.constraint) {  // response_format: JSON
    auto vocab = deps_.runtime->token_vocabulary();
    if (!vocab.ok())
      return api_error(400, "unsupported_parameter",
                       "Unsupported 'response_format': " + vocab.error().message,
                       "/response_format");
    req_.params.constraint =
        std::make_shared<grammar::JsonSchemaConstraint>(req_.response_grammar, std::move(*vocab));
  }
  actors::CompletionRequest cr;
  cr.request.prompt = prompt_;
  cr.request.params = req_.params;
  cr.request.segments = segments_;
  cr.request.kv_reuse = req_.kv_reuse;
  cr.request.blend_recompute = req_.blend_recompute;
  cr.request.blend_anchors = req_.blend_anchors;
  // One scheduler program per conversation: its turns rank together (EngineOptions::order).
  if (!session_key_.empty()) cr.request.program = actors::Runtime::program_of_key(session_key_);
  cr.n = req_.n;
  if (!session_key_.empty() && parse_tools_ && req_.n == 1 &&
      sessions.options().mode != SessionMode::off)
    cr.pause_at_eos = sessions.options().max_ttl;
  auto stream = deps_.runtime->start_completion(std::move(cr));
  // The new request has mapped the conversation's cached prefix (or waits for a slot);
  // either way the previous turn's pin is no longer needed.
  if (previous) deps_.runtime->cancel_request(previous->request);
  if (!stream.ok()) {
    if (stream.error().code == ErrorCode::overloaded) deps_.metrics->rejected(deps_.model);
    return openai_error(stream.error());
  }
  stream_ = *stream;
  ChoiceOptions co;
  const chat::ChatTemplate& tmpl = deps_.runtime->chat_template();
  co.format = tmpl.tool_call_format();
  co.parse_tools = parse_tools_;
  co.first_call_only = !req_.parallel_tool_calls;
  co.stop = req_.params.stop_strings;
  co.want_logprobs = req_.want_logprobs;
  co.top_logprobs = req_.top_logprobs;
  co.forced_prefix = forced_prefix_;
  co.split_reasoning =
      req_.endpoint == OpenAiEndpoint::chat && tmpl.family() == chat::Family::chatml_qwen;
  co.in_thinking = prompt_ends_thinking_;
  for (int i = 0; i < req_.n; ++i) {
    choices_.push_back(std::make_unique<Choice>(deps_.runtime->tokenizer(), co));
    choices_.back()->pass_tokens = prompt_;
  }
  id_ = openai::completion_id(req_.endpoint);
  created_ = std::chrono::duration_cast<std::chrono::seconds>(
                 std::chrono::system_clock::now().time_since_epoch())
                 .count();
  actors::CompletionEvent e;
  if (!stream_->next(e, Clock::now() + kFirstEventWait)) {
    stream_->cancel();
    return api_error(503, "timeout", "no slot for the request within 10 minutes");
  }
  if (e.error && req_.n == 1) {
    if (e.error->code == ErrorCode::overloaded) deps_.metrics->rejected(deps_.model);
    return openai_error(*e.error);
  }
  first_ = std::move(e);
  return true;
}

openai::ReplyHead OpenAiCall::head() const {
  return {id_, created_, deps_.model, req_.endpoint};
}

bool OpenAiCall::emit(const json& j, const ReplyWriter& write) {
  return write(openai::sse_data(j));
}

// Adds a delta to the choice and, when streaming, sends it.
bool OpenAiCall::emit_delta(Choice& c, int index, ChoiceDelta d, const ReplyWriter& write) {
  const int calls_before = static_cast<int>(c.reply.tool_calls.size());
  std::vector<openai::ToolCallOut> calls;
  for (const auto& call : d.calls)
    calls.push_back({call.id, call.name, chat::arguments_json(call)});
  c.reply.content += d.content;
  if (!d.reasoning.empty()) c.reply.reasoning = c.reply.reasoning.value_or("") + d.reasoning;
  c.reply.tool_calls.insert(c.reply.tool_calls.end(), calls.begin(), calls.end());
  if (req_.want_logprobs) {
    if (!c.reply.logprobs) c.reply.logprobs.emplace();
    c.reply.logprobs->insert(c.reply.logprobs->end(), d.logprobs.begin(), d.logprobs.end());
  }
  if (!req_.stream) return true;
  const auto h = head();
  const bool lp = req_.want_logprobs && !d.logprobs.empty();
  if (h.endpoint == OpenAiEndpoint::completions) {
    if (d.content.empty() && !lp) return true;
    const json lps = lp ? openai::text_logprobs_json(d.logprobs, c.text_sent) : json(nullptr);
    c.text_sent += d.content.size();
    return emit(openai::text_chunk(h, index, d.content, lps), write);
  }
  if (!c.role_sent) {
    c.role_sent = true;
    if (!emit(openai::chat_role_chunk(h, index), write)) return false;
  }
  if (!d.reasoning.empty() && !emit(openai::chat_reasoning_chunk(h, index, d.reasoning), write))
    return false;
  if (!d.content.empty() || lp) {
    const json lps = lp ? openai::chat_logprobs_json(d.logprobs) : json(nullptr);
    if (!emit(openai::chat_content_chunk(h, index, d.content, lps), write)) return false;
  }
  for (std::size_t k = 0; k < calls.size(); ++k)
    for (const auto& chunk :
         openai::chat_tool_call_chunks(h, index, calls_before + static_cast<int>(k), calls[k]))
      if (!emit(chunk, write)) return false;
  return true;
}

bool OpenAiCall::handle(actors::CompletionEvent& e, const ReplyWriter& write) {
  Choice& c = *choices_[static_cast<std::size_t>(e.choice)];
  if (c.ended) return true;
  if (e.request != 0) c.request = e.request;
  // The prompt's cached tokens (a forced continuation's prompt is not the request's).
  if (e.cached_tokens >= 0 && e.choice == 0 && !c.forced) cached_tokens_ = e.cached_tokens;
  if (!e.tokens.empty() && !first_token_at_) first_token_at_ = Clock::now();
  for (const auto& t : e.tokens) {
    c.generated.push_back(t.token);
    c.pass_tokens.push_back(t.token);
  }
  const bool by_stop_token = e.finish == FinishReason::stop_token;
  auto d = c.dec.feed(e.tokens, by_stop_token);
  if (!d.ok()) {
    e.error = d.error();
  } else if (!emit_delta(c, e.choice, std::move(*d), write)) {
    return false;
  }
  if (c.dec.stopped() && !e.ends()) {
    // A stop string: the choice ends here (the engine does not see text).
    deps_.runtime->cancel_request(c.request);
    e.finish = FinishReason::stop_string;
  }
  if (!e.ends() && !e.error) return true;
  if (continue_with_call(c, e)) return emit_delta(c, e.choice, c.dec.force(late_force_), write);
  c.ended = true;
  if (auto rest = c.dec.finish(); rest.ok() && !emit_delta(c, e.choice, std::move(*rest), write))
    return false;
  if (e.error) {
    c.reply.finish_reason = "error";
    c.error = e.error;
  } else if (e.cancelled) {
    c.reply.finish_reason = "abort";
  } else {
    c.reply.finish_reason = c.dec.calls() > 0 ? "tool_calls" : finish_name(e.finish);
  }
  if (e.paused) keep_or_release(c);
  if (req_.stream) {
    if (c.error && !emit({{"error", to_openai_json(openai_error(*c.error))["error"]}}, write))
      return false;
    const json end = req_.endpoint == OpenAiEndpoint::chat
                         ? openai::chat_finish_chunk(head(), e.choice, c.reply.finish_reason)
                         : openai::text_chunk(head(), e.choice, "", nullptr, c.reply.finish_reason);
    if (!emit(end, write)) return false;
  }
  return true;
}

// tool_choice required or named, one choice: a reply that ended at its end-of-turn token
// without a call is continued as a new request from its own text plus the start of the
// call (its prefix is in the cache). Returns whether the choice goes on.
bool OpenAiCall::continue_with_call(Choice& c, const actors::CompletionEvent& e) {
  if (late_force_.empty() || c.forced || c.dec.calls() > 0 || c.dec.stopped() || e.error ||
      e.cancelled || e.finish != FinishReason::stop_token)
    return false;
  c.forced = true;
  if (e.paused) deps_.runtime->cancel_request(c.request);
  const int left = req_.params.max_tokens - static_cast<int>(c.generated.size());
  if (left < 8) return false;
  actors::CompletionRequest cr;
  cr.request.prompt = c.pass_tokens;
  cr.request.prompt.pop_back();  // the end-of-turn token
  const std::string joint = c.reply.content.empty() ? "" : "\n";
  const auto forced = deps_.runtime->tokenizer().encode(joint + late_force_, false);
  cr.request.prompt.insert(cr.request.prompt.end(), forced.begin(), forced.end());
  if (std::ssize(cr.request.prompt) + left > deps_.runtime->max_context()) return false;
  cr.request.params = req_.params;
  cr.request.params.max_tokens = left;
  // The first part's program (without a session, its own id: the engine's default).
  if (!session_key_.empty())
    cr.request.program = actors::Runtime::program_of_key(session_key_);
  else if (c.request != 0)
    cr.request.program = c.request;
  if (!session_key_.empty() && deps_.sessions->options().mode != SessionMode::off)
    cr.pause_at_eos = deps_.sessions->options().max_ttl;
  std::vector<std::int32_t> prompt = cr.request.prompt;
  auto next = deps_.runtime->start_completion(std::move(cr));
  if (!next.ok()) return false;
  c.pass_tokens = std::move(prompt);
  late_force_ = joint + late_force_;
  stream_ = *next;
  return true;
}

// A reply paused at EOS: pinned for the client's tool calls when it made some, else freed.
void OpenAiCall::keep_or_release(Choice& c) {
  if (c.dec.calls() == 0 || session_key_.empty()) return deps_.runtime->cancel_request(c.request);
  std::vector<std::string> tools;
  for (const auto& call : c.reply.tool_calls)
    tools.push_back(call.name);
  const auto m = deps_.runtime->metrics();
  SessionPressure p;
  p.context_tokens = std::ssize(c.pass_tokens);
  const int block = std::max(1, deps_.runtime->kv_geometry().block_size);
  p.seq_blocks = static_cast<int>((p.context_tokens + block - 1) / block);
  p.total_blocks = std::max(1, m.kv_blocks);
  p.available_blocks = std::max(0, m.kv_available_blocks);
  PausedTurn turn;
  turn.key = session_key_;
  turn.client = deps_.client;
  turn.model = deps_.model;
  turn.tools = std::move(tools);
  turn.request = c.request;
  turn.tokens = c.pass_tokens;
  turn.ttl = deps_.sessions->predict(deps_.client, deps_.model, turn.tools, req_.retain_s, p);
  for (const auto& gone : deps_.sessions->put(std::move(turn)))
    deps_.runtime->cancel_request(gone.request);
}

void OpenAiCall::run(const ReplyWriter& write) {
  bool gone = false;
  auto last_write = Clock::now();
  auto counted = [&](const std::string& s) {
    last_write = Clock::now();
    return write(s);
  };
  actors::CompletionEvent e = std::move(*first_);
  bool have = true;
  while (!gone) {
    if (have) {
      gone = !handle(e, counted);
    } else if (Clock::now() - last_write >= kHeartbeat) {
      gone = !counted(req_.stream ? ": keep-alive\n\n" : " ");
    }
    if (gone) break;
    have = stream_->next(e, Clock::now() + std::chrono::milliseconds(500));
    if (!have &&
        std::all_of(choices_.begin(), choices_.end(), [](const auto& c) { return c->ended; }))
      break;
  }
  if (gone) {
    stream_->cancel();  // frees the KV of every choice still running
  } else if (req_.stream) {
    if (req_.include_usage) emit(openai::usage_chunk(head(), usage()), write);
    write(std::string(openai::kSseDone));
  } else {
    std::vector<openai::ChoiceOut> replies;
    for (std::size_t i = 0; i < choices_.size(); ++i) {
      replies.push_back(choices_[i]->reply);
      replies.back().index = static_cast<int>(i);
    }
    const json reply = req_.n == 1 && choices_.front()->error
                           ? to_openai_json(openai_error(*choices_.front()->error))
                           : openai::completion_json(head(), replies, usage());
    write(reply.dump(-1, ' ', false, json::error_handler_t::replace));
  }
  observe(gone);
}

json OpenAiCall::usage() const {
  std::int64_t completion = 0;
  for (const auto& c : choices_)
    completion += c->dec.tokens();
  return openai::usage_json(static_cast<std::int64_t>(prompt_.size()), completion, cached_tokens_);
}

void OpenAiCall::observe(bool gone) {
  RequestObservation o;
  o.model = deps_.model;
  o.finish_reason = gone ? "abort" : choices_.front()->reply.finish_reason;
  o.prompt_tokens = static_cast<std::int64_t>(prompt_.size());
  for (const auto& c : choices_)
    o.completion_tokens += c->dec.tokens();
  o.cached_tokens = cached_tokens_;
  const auto now = Clock::now();
  o.e2e_s = std::chrono::duration<double>(now - arrived_).count();
  if (first_token_at_) {
    o.ttft_s = std::chrono::duration<double>(*first_token_at_ - arrived_).count();
    const std::int64_t per_choice = o.completion_tokens / std::max(1, req_.n);
    if (per_choice > 1) o.tpot_s = (o.e2e_s - o.ttft_s) / static_cast<double>(per_choice - 1);
  }
  deps_.metrics->observe(o);
}

}  // namespace agentrt::api
