// The best-of-N sampler actor (see sampler_actor.h).
#include "actors/sampler_actor.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <map>
#include <regex>

#include "actors/agent_prompt.h"
#include "actors/tool_actor.h"

namespace agentrt::actors {

struct SampleDone {
  int index = 0;
  std::optional<AgentResult> result;
  std::optional<Error> error;
};
struct SampleScore {
  int index = 0;
  double score = 0.0;
  std::string error;
};

}  // namespace agentrt::actors

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(agentrt::actors::SampleDone)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(agentrt::actors::SampleScore)

namespace agentrt::actors {

std::optional<std::string> extract_answer(const std::string& pattern, const std::string& text) {
  try {
    const std::regex re(pattern);
    std::optional<std::string> last;
    for (auto it = std::sregex_iterator(text.begin(), text.end(), re); it != std::sregex_iterator();
         ++it) {
      const auto& m = *it;
      last = m.size() > 1 && m[1].matched ? m[1].str() : m[0].str();
    }
    return last;
  } catch (const std::regex_error&) {
    return std::nullopt;
  }
}

std::pair<int, int> majority_vote(const std::vector<std::optional<std::string>>& answers) {
  std::map<std::string, int> votes;
  for (const auto& a : answers)
    if (a) ++votes[*a];
  int best = -1, best_votes = 0;
  for (std::size_t i = 0; i < answers.size(); ++i) {
    if (!answers[i]) continue;
    const int v = votes[*answers[i]];
    if (v > best_votes) best = static_cast<int>(i), best_votes = v;
  }
  return {best, best_votes};
}

BestOfResult choose_sample(Aggregation aggregation, std::vector<SampleResult> samples) {
  BestOfResult res;
  res.samples = std::move(samples);
  std::vector<std::optional<std::string>> answers;
  for (const auto& s : res.samples)
    answers.push_back(s.finished ? s.answer : std::nullopt);
  int best = -1;
  if (aggregation == Aggregation::majority_vote) {
    std::map<std::string, int> votes;
    for (const auto& a : answers)
      if (a) ++votes[*a];
    for (std::size_t i = 0; i < answers.size(); ++i)
      if (answers[i]) res.samples[i].score = votes[*answers[i]];
    best = majority_vote(answers).first;
  } else {
    double top = -std::numeric_limits<double>::infinity();
    for (std::size_t i = 0; i < res.samples.size(); ++i) {
      auto& s = res.samples[i];
      if (!s.finished) continue;
      if (aggregation == Aggregation::max_mean_logprob) s.score = s.result.mean_logprob;
      if (best < 0 || s.score > top) best = static_cast<int>(i), top = s.score;
    }
  }
  res.chosen = best;
  if (best >= 0) {
    const auto& s = res.samples[static_cast<std::size_t>(best)];
    res.output = s.result.output;
    res.answer = s.answer;
    if (s.answer)
      res.votes = static_cast<int>(std::count(answers.begin(), answers.end(), s.answer));
  }
  return res;
}

namespace {

class Sampler : public std::enable_shared_from_this<Sampler> {
 public:
  Sampler(caf::event_based_actor* self, SamplerInit init) : self_(self), in_(std::move(init)) {}

  void start();
  void on_sample(SampleDone& d);
  void on_score(const SampleScore& s);
  void on_cancel();
  void complete(Result<BestOfResult> r);

 private:
  const AgentContext& ctx() const { return *in_.ctx; }
  Status check_spec() const;
  void aggregate();
  void score_with_verifier(int i);
  void score_with_tool(int i);
  void choose();

  caf::event_based_actor* self_;
  SamplerInit in_;
  std::vector<caf::actor> agents_;
  std::vector<bool> reported_;
  BestOfResult res_;
  int reported_count_ = 0;
  int finished_count_ = 0;
  int scoring_ = 0;
  bool cancelled_ = false;
  bool done_ = false;
  std::chrono::steady_clock::time_point t0_ = std::chrono::steady_clock::now();
};

Status Sampler::check_spec() const {
  const BestOfSpec& b = in_.best;
  if (b.n < 1 || b.n > kMaxBestOfSamples)
    return make_error(ErrorCode::invalid_argument,
                      "best_of: n = " + std::to_string(b.n) + ": expected 1.." +
                          std::to_string(kMaxBestOfSamples) + " (kMaxBestOfSamples)");
  if (b.first_k < 0 || b.first_k > b.n)
    return make_error(ErrorCode::invalid_argument, "best_of: first_k must be in [0, n]");
  try {
    std::regex re(b.answer_regex);
    if (b.aggregation == Aggregation::verifier_agent) std::regex accept(b.verifier_accept);
  } catch (const std::regex_error& e) {
    return make_error(ErrorCode::invalid_argument, std::string("best_of: bad regex: ") + e.what());
  }
  if (b.aggregation == Aggregation::verifier_agent && !b.verifier)
    return make_error(ErrorCode::invalid_argument,
                      "best_of: aggregation 'verifier' needs a verifier agent");
  if (b.aggregation == Aggregation::scorer_tool &&
      !registry_of(in_.spec, *ctx().tools).find(b.scorer_tool))
    return make_error(ErrorCode::invalid_argument,
                      "best_of: scorer tool '" + b.scorer_tool + "' is not registered");
  return ok_status();
}

void Sampler::start() {
  if (auto st = check_spec(); !st.ok()) return complete(st.error());
  auto first = render_first_prompt(ctx().chat_template, ctx().tokenizer,
                                   registry_of(in_.spec, *ctx().tools), in_.spec, in_.input);
  if (!first.ok()) return complete(first.error());
  const int n = in_.best.n;
  res_.prompt_tokens = std::ssize(first->tokens);
  res_.samples.resize(static_cast<std::size_t>(n));
  reported_.assign(static_cast<std::size_t>(n), false);
  std::shared_ptr<std::atomic<std::int64_t>> budget;
  if (in_.best.token_budget > 0)
    budget = std::make_shared<std::atomic<std::int64_t>>(in_.best.token_budget);
  auto me = caf::actor_cast<caf::actor>(self_);
  GenerateMsg msg;
  for (int i = 0; i < n; ++i) {
    AgentInit ai{in_.ctx, in_.spec, in_.input, in_.job, i, in_.progress, nullptr, true, budget};
    ai.program = in_.spec.program;
    ai.done = [me, i](Result<AgentResult> r) {
      SampleDone d{i, std::nullopt, std::nullopt};
      if (r.ok())
        d.result = std::move(*r);
      else
        d.error = r.error();
      caf::anon_send(me, std::move(d));
    };
    agents_.push_back(self_->spawn(agent_actor, std::move(ai)));
    msg.subscribers.push_back(agents_.back());
  }
  msg.request.prompt = std::move(first->tokens);
  msg.request.segments = std::move(first->segments);
  msg.request.kv_reuse = in_.spec.kv_reuse;
  msg.request.blend_recompute = in_.spec.blend_recompute;
  msg.request.blend_anchors = in_.spec.blend_anchors;
  msg.request.params = first_turn_params(in_.spec);
  msg.request.program = in_.spec.program;  // the probe's, and the samples' first turns
  msg.pause_at_eos = ctx()
                         .ttl
                         ->decide({in_.spec.tools, res_.prompt_tokens, 0, ctx().total_blocks,
                                   ctx().metrics().kv_available_blocks})
                         .ttl;
  if (in_.best.share_first_token) {
    msg.fork_after_prefill = n - 1;
  } else {
    msg.samples_after_prefill = n;
  }
  self_->request(ctx().engine, caf::infinite, generate_atom::value, std::move(msg))
      .then([this, keep = shared_from_this()](const GenerateReply& r) {
        if (!r.error) {
          if (cancelled_) on_cancel();
          return;
        }
        for (auto& a : agents_)
          self_->send_exit(a, caf::exit_reason::user_shutdown);
        complete(r.error->with_context("best_of"));
      });
}

void Sampler::on_sample(SampleDone& d) {
  const auto i = static_cast<std::size_t>(d.index);
  if (done_ || reported_[i]) return;
  reported_[i] = true;
  ++reported_count_;
  SampleResult& s = res_.samples[i];
  if (d.result) {
    s.result = std::move(*d.result);
    s.finished = s.result.stop == StopReason::final_answer;
    s.answer = extract_answer(in_.best.answer_regex, s.result.output);
    res_.generated_tokens += s.result.generated_tokens;
  } else if (d.error->code == ErrorCode::cancelled && !cancelled_) {
    s.result.stop = StopReason::cancelled;  // stopped early: first_k samples had finished
  } else {
    s.error = d.error->message;
  }
  if (s.finished) ++finished_count_;
  // Samples that ended on their own (not stopped by a cancel) are reported at once, so a
  // job cancelled later still shows them.
  if (in_.progress && (d.result || (!cancelled_ && s.result.stop != StopReason::cancelled))) {
    Progress p{in_.job,
               d.index,
               s.result.turns,
               ProgressKind::sample_done,
               s.answer.value_or(""),
               std::nullopt,
               s.result.generated_tokens,
               std::make_shared<SampleResult>(s)};
    try {
      in_.progress(p);
    } catch (...) {  // a throwing callback must not take the sampler down
    }
  }
  if (in_.best.first_k > 0 && finished_count_ >= in_.best.first_k) {
    for (std::size_t j = 0; j < agents_.size(); ++j)  // early stop: the rest are cancelled
      if (!reported_[j]) self_->send(agents_[j], cancel_atom::value);
  }
  if (reported_count_ < in_.best.n) return;
  if (cancelled_) return complete(make_error(ErrorCode::cancelled, "best_of: cancelled"));
  aggregate();
}

void Sampler::aggregate() {
  const auto agg = in_.best.aggregation;
  if (agg == Aggregation::majority_vote || agg == Aggregation::max_mean_logprob) return choose();
  for (int i = 0; i < in_.best.n; ++i) {
    if (!res_.samples[static_cast<std::size_t>(i)].finished) continue;
    ++scoring_;
    if (agg == Aggregation::verifier_agent)
      score_with_verifier(i);
    else
      score_with_tool(i);
  }
  if (scoring_ == 0) choose();
}

void Sampler::score_with_verifier(int i) {
  const SampleResult& s = res_.samples[static_cast<std::size_t>(i)];
  auto me = caf::actor_cast<caf::actor>(self_);
  const std::string accept = in_.best.verifier_accept;
  // The verifier reads the question and the sample's output: both are segments.
  const std::string head = "Question: ";
  const std::string mid = "\nProposed: ";
  AgentSpec verifier = *in_.best.verifier;
  verifier.input_segments.clear();
  for (const auto& t : in_.spec.input_segments)
    verifier.input_segments.push_back({head.size() + t.begin, head.size() + t.end});
  const std::size_t at = head.size() + in_.input.size() + mid.size();
  verifier.input_segments.push_back({at, at + s.result.output.size()});
  AgentInit ai{in_.ctx,
               std::move(verifier),
               head + in_.input + mid + s.result.output,
               in_.job,
               i,
               nullptr,
               nullptr,
               false,
               nullptr};
  ai.program = in_.best.verifier->program ? in_.best.verifier->program : in_.spec.program;
  ai.done = [me, i, accept](Result<AgentResult> r) {
    SampleScore sc{i, 0.0, {}};
    if (!r.ok())
      sc.error = "verifier: " + r.error().message;
    else
      sc.score = std::regex_search(r->output, std::regex(accept)) ? 1.0 : 0.0;
    caf::anon_send(me, sc);
  };
  self_->spawn(agent_actor, std::move(ai));
}

void Sampler::score_with_tool(int i) {
  const SampleResult& s = res_.samples[static_cast<std::size_t>(i)];
  chat::ToolCall call{"", in_.best.scorer_tool, Json::object()};
  call.arguments["question"] = in_.input;
  call.arguments["answer"] = s.answer.value_or(s.result.output);
  auto args = registry_of(in_.spec, *ctx().tools).check_call(call);
  if (!args.ok()) return on_score({i, 0.0, "scorer: " + args.error().message});
  auto tool = registry_of(in_.spec, *ctx().tools).find(call.name);
  auto actor = self_->spawn<caf::detached>(tool_actor, tool);
  self_->request(actor, tool->spec().timeout, invoke_atom::value, ToolArgs{std::move(*args)})
      .then(
          [this, keep = shared_from_this(), i](const ToolReply& r) {
            char* end = nullptr;
            const double v = std::strtod(r.text.c_str(), &end);
            if (!r.ok || end == r.text.c_str()) return on_score({i, 0.0, "scorer: " + r.text});
            on_score({i, v, {}});
          },
          [this, keep = shared_from_this(), i](const caf::error& e) {
            on_score({i, 0.0, "scorer: " + to_string(e)});
          });
}

void Sampler::on_score(const SampleScore& s) {
  if (done_) return;
  auto& sample = res_.samples[static_cast<std::size_t>(s.index)];
  sample.score = s.error.empty() ? s.score : -std::numeric_limits<double>::infinity();
  if (!s.error.empty()) sample.error = s.error;
  if (--scoring_ == 0) choose();
}

void Sampler::choose() {
  BestOfResult chosen = choose_sample(in_.best.aggregation, std::move(res_.samples));
  res_.samples = std::move(chosen.samples);
  res_.chosen = chosen.chosen;
  res_.output = std::move(chosen.output);
  res_.answer = std::move(chosen.answer);
  res_.votes = chosen.votes;
  complete(std::move(res_));
}

void Sampler::on_cancel() {
  cancelled_ = true;
  for (std::size_t j = 0; j < agents_.size(); ++j)
    if (!reported_[j]) self_->send(agents_[j], cancel_atom::value);
}

void Sampler::complete(Result<BestOfResult> r) {
  if (done_) return;
  done_ = true;
  if (r.ok())
    r->seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count();
  auto done = std::move(in_.done);
  if (done) done(std::move(r));
  self_->quit();
}

}  // namespace

caf::behavior sampler_actor(caf::event_based_actor* self, SamplerInit init) {
  auto s = std::make_shared<Sampler>(self, std::move(init));
  self->set_exception_handler([s](caf::scheduled_actor*, std::exception_ptr&) -> caf::error {
    s->complete(make_error(ErrorCode::internal, "best_of: sampler failed"));
    return caf::make_error(caf::sec::runtime_error);
  });
  self->send(self, start_atom::value);
  return {
      [s](start_atom) {
        auto keep = s;
        keep->start();
      },
      [s](SampleDone& d) {
        auto keep = s;
        keep->on_sample(d);
      },
      [s](const SampleScore& sc) {
        auto keep = s;
        keep->on_score(sc);
      },
      [s](cancel_atom) {
        auto keep = s;
        keep->on_cancel();
      },
  };
}

}  // namespace agentrt::actors
