// ChoiceDecoder: detokenize, cut at stop strings, split out tool calls, collect logprobs.
#include "api/openai_choice.h"

namespace agentrt::api {

ChoiceDecoder::ChoiceDecoder(const tokenizer::Tokenizer& tok, ChoiceOptions options)
    : tok_(tok),
      opt_(std::move(options)),
      decoder_(tok, /*skip_special_tokens=*/true),
      stop_(opt_.stop) {
  if (opt_.parse_tools) calls_stream_.emplace(opt_.family);
}

namespace {
// The raw bytes of one token (openai_response makes them valid UTF-8 where it must).
std::string bytes_of(const tokenizer::Tokenizer& tok, std::int32_t token) {
  const std::int32_t id[1] = {token};
  std::string raw;
  if (!tok.decode_bytes(id, false, raw).ok()) raw.clear();
  return raw;
}
}  // namespace

openai::TokenLogprob ChoiceDecoder::logprob_of(const actors::CompletionToken& t) const {
  openai::TokenLogprob o;
  o.token = bytes_of(tok_, t.token);
  o.logprob = t.logprob;
  for (const auto& alt : t.top)
    o.top.push_back({bytes_of(tok_, alt.token), alt.logprob});
  return o;
}

Status ChoiceDecoder::parse(std::string_view text, bool final, ChoiceDelta& d) {
  if (!calls_stream_) {
    d.content += text;
    return ok_status();
  }
  std::vector<chat::StreamEvent> events;
  Status st = calls_stream_->feed(text, events);
  if (st.ok() && final) st = calls_stream_->finish(events);
  if (!st.ok()) return st;
  for (auto& e : events) {
    if (e.kind == chat::StreamEvent::Kind::text) {
      if (!(opt_.first_call_only && calls_ > 0)) d.content += e.text;
    } else if (e.kind == chat::StreamEvent::Kind::call_completed) {
      if (opt_.first_call_only && calls_ > 0) continue;
      ++calls_;
      if (e.call.id.empty()) e.call.id = openai::tool_call_id();
      d.calls.push_back(std::move(e.call));
    }
  }
  return ok_status();
}

void ChoiceDecoder::emit_text(std::string text, ChoiceDelta& d) {
  if (stopped_) return;
  auto step = stop_.feed(text);
  if (step.stopped) stopped_ = true;
  if (auto st = parse(step.emit, false, d); !st.ok()) {
    // A malformed call: the rest is plain text, as the model wrote it.
    calls_stream_.reset();
    d.content += step.emit;
  }
}

Result<ChoiceDelta> ChoiceDecoder::feed(std::span<const actors::CompletionToken> tokens,
                                        bool finished_by_stop_token) {
  ChoiceDelta d;
  if (tokens_ == 0 && !opt_.forced_prefix.empty()) emit_text(opt_.forced_prefix, d);
  for (std::size_t i = 0; i < tokens.size() && !stopped_; ++i) {
    ++tokens_;
    if (opt_.want_logprobs) d.logprobs.push_back(logprob_of(tokens[i]));
    if (finished_by_stop_token && i + 1 == tokens.size()) break;
    auto piece = decoder_.push(tokens[i].token);
    if (!piece.ok()) return piece.error();
    if (!piece->empty()) emit_text(std::move(*piece), d);
  }
  return d;
}

Result<ChoiceDelta> ChoiceDecoder::finish() {
  ChoiceDelta d;
  std::string rest = decoder_.finish();
  if (!stopped_ && !rest.empty()) emit_text(std::move(rest), d);
  std::string held = stop_.flush();
  if (stopped_) held.clear();
  if (auto st = parse(held, true, d); !st.ok()) {
    calls_stream_.reset();
    d.content += held;
  }
  return d;
}

}  // namespace agentrt::api
