// ChoiceDecoder: detokenize, cut at stop strings, split out tool calls, collect logprobs.
#include "api/openai_choice.h"

namespace agentrt::api {

ChoiceDecoder::ChoiceDecoder(const tokenizer::Tokenizer& tok, ChoiceOptions options)
    : tok_(tok),
      opt_(std::move(options)),
      decoder_(tok, /*skip_special_tokens=*/!(opt_.parse_tools &&
                                              chat::needs_special_tokens(opt_.format))),
      stop_(opt_.stop) {
  if (opt_.parse_tools) calls_stream_.emplace(opt_.format);
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

void ChoiceDecoder::parse(std::string_view text, bool final, ChoiceDelta& d) {
  if (!calls_stream_) {
    d.content += text;
    return;
  }
  std::vector<chat::StreamEvent> events;
  Status st = calls_stream_->feed(text, events);
  if (st.ok() && final) st = calls_stream_->finish(events);
  for (auto& e : events) {
    if (e.kind == chat::StreamEvent::Kind::text) {
      if (!(opt_.first_call_only && calls_ > 0)) add_text(e.text, d);
    } else if (e.kind == chat::StreamEvent::Kind::call_started) {
      ws_held_.clear();  // the template writes the newline before a call itself
    } else if (e.kind == chat::StreamEvent::Kind::call_completed) {
      if (opt_.first_call_only && calls_ > 0) continue;
      ++calls_;
      if (e.call.id.empty()) e.call.id = openai::tool_call_id();
      d.calls.push_back(std::move(e.call));
    }
  }
  if (const std::string& r = calls_stream_->reasoning(); r.size() > reasoning_sent_) {
    d.reasoning += r.substr(reasoning_sent_);
    reasoning_sent_ = r.size();
  }
  if (!st.ok()) {
    // A malformed call: it and the rest are plain text, as the model wrote them.
    d.content += std::exchange(ws_held_, {}) + calls_stream_->unparsed();
    calls_stream_.reset();
  }
  if (final && calls_ == 0) d.content += std::exchange(ws_held_, {});
}

// Text beside tool calls: trailing whitespace is held until more text shows it is content
// (a call next drops it, as the separators between and after calls are).
void ChoiceDecoder::add_text(std::string_view text, ChoiceDelta& d) {
  const std::size_t end = text.find_last_not_of(" \t\r\n");
  if (end == std::string_view::npos) {
    if (calls_ == 0) ws_held_ += text;
    return;
  }
  d.content += std::exchange(ws_held_, {});
  d.content += text.substr(0, end + 1);
  ws_held_ = std::string(text.substr(end + 1));
}

std::string ChoiceDecoder::split_thinking(std::string_view text, bool final, ChoiceDelta& d) {
  static constexpr std::string_view kOpen = "<think>", kClose = "</think>";
  if (!opt_.split_reasoning) return std::string(text);
  if (think_ == Think::done) {
    if (!strip_newlines_) return std::string(text);
    // The template's blank line after </think> is not part of the content.
    const std::size_t start = text.find_first_not_of('\n');
    if (start == std::string_view::npos) return "";
    strip_newlines_ = false;
    return std::string(text.substr(start));
  }
  think_held_ += text;
  if (think_ == Think::undecided) {
    if (opt_.in_thinking) {
      think_ = Think::inside;
    } else if (think_held_.size() < kOpen.size() && kOpen.starts_with(think_held_) && !final) {
      return "";  // may still become <think>
    } else if (think_held_.starts_with(kOpen)) {
      think_ = Think::inside;
      think_held_.erase(0, kOpen.size());
    } else {
      think_ = Think::done;
      return std::exchange(think_held_, {});
    }
  }
  if (const std::size_t end = think_held_.find(kClose); end != std::string::npos) {
    d.reasoning += think_held_.substr(0, end);
    std::string rest = think_held_.substr(end + kClose.size());
    think_ = Think::done;
    think_held_.clear();
    strip_newlines_ = true;
    return split_thinking(rest, final, d);
  }
  // Hold back a tail that may be the start of </think>.
  std::size_t keep = final ? 0 : std::min(think_held_.size(), kClose.size() - 1);
  while (keep > 0 &&
         !kClose.starts_with(std::string_view(think_held_).substr(think_held_.size() - keep)))
    --keep;
  d.reasoning += think_held_.substr(0, think_held_.size() - keep);
  think_held_.erase(0, think_held_.size() - keep);
  return "";
}

void ChoiceDecoder::emit_text(std::string text, ChoiceDelta& d) {
  if (stopped_) return;
  auto step = stop_.feed(text);
  if (step.stopped) stopped_ = true;
  parse(split_thinking(step.emit, false, d), false, d);
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

ChoiceDelta ChoiceDecoder::force(const std::string& text) {
  ChoiceDelta d;
  emit_text(text, d);
  return d;
}

Result<ChoiceDelta> ChoiceDecoder::finish() {
  ChoiceDelta d;
  std::string rest = decoder_.finish();
  if (!stopped_ && !rest.empty()) emit_text(std::move(rest), d);
  std::string held = stop_.flush();
  if (stopped_) held.clear();
  parse(split_thinking(held, true, d), true, d);
  return d;
}

}  // namespace agentrt::api
