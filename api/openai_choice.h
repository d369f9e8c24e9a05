// ChoiceDecoder: one completion choice's tokens turned into what the OpenAI API sends:
// text (stop strings cut, special tokens dropped), tool calls parsed from the model's own
// format, and per-token logprobs. Used alike for streamed and whole responses.
// Not thread-safe: one per choice, on the request's thread.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "actors/completion_stream.h"
#include "api/body/openai_response.h"
#include "engine/chat/chat_template.h"
#include "engine/chat/tool_call_parser.h"
#include "engine/common/result.h"
#include "engine/sampling/stop_matcher.h"
#include "engine/tokenizer/incremental_decoder.h"
#include "engine/tokenizer/tokenizer.h"

namespace agentrt::api {

struct TokenLogprobOut {
  std::string token;                 // the token's text
  std::vector<unsigned char> bytes;  // its raw bytes
  float logprob = 0.0f;
  std::vector<std::pair<std::string, float>> top;  // alternatives, best first
};

struct ChoiceDelta {
  std::string content;
  std::string reasoning;  // chatml_qwen: a leading <think>...</think>; harmony: analysis
  std::vector<chat::ToolCall> calls;  // completed calls (ids assigned), in order
  std::vector<openai::TokenLogprob> logprobs;
  bool empty() const {
    return content.empty() && reasoning.empty() && calls.empty() && logprobs.empty();
  }
};

struct ChoiceOptions {
  // How the model writes calls (ChatTemplate::tool_call_format). With parse_tools, a format
  // whose markers are special tokens (mistral, harmony) decodes with special tokens kept.
  chat::ToolCallFormat format = chat::ToolCallFormat::hermes;
  bool parse_tools = false;       // tools offered and tool_choice is not none
  bool first_call_only = false;   // parallel_tool_calls false
  std::vector<std::string> stop;  // stop strings
  bool want_logprobs = false;
  int top_logprobs = 0;
  std::string forced_prefix;  // text the prompt already holds of the reply (tool_choice)
  // chatml_qwen: a leading <think>...</think> goes to reasoning (split_reasoning), or the
  // prompt itself ended inside <think> (in_thinking).
  bool split_reasoning = false;
  bool in_thinking = false;
};

class ChoiceDecoder {
 public:
  ChoiceDecoder(const tokenizer::Tokenizer& tok, ChoiceOptions options);
  // Feeds one event's tokens. `finished_by_stop_token`: the last token ended the choice as
  // an EOS or stop id (its text is not output).
  Result<ChoiceDelta> feed(std::span<const actors::CompletionToken> tokens,
                           bool finished_by_stop_token);
  // Text the caller put into the prompt of a continuation (a forced tool call), decoded as
  // if the model had written it.
  ChoiceDelta force(const std::string& text);
  // The end of the choice: flushes held-back text.
  Result<ChoiceDelta> finish();
  bool stopped() const { return stopped_; }  // a stop string matched: end the choice
  int calls() const { return calls_; }
  std::int64_t tokens() const { return tokens_; }

 private:
  void emit_text(std::string text, ChoiceDelta& d);
  // Moves a leading think block's text to d.reasoning; returns what follows it.
  std::string split_thinking(std::string_view text, bool final, ChoiceDelta& d);
  // Through the tool-call parser (when on) into d; a malformed call becomes text.
  void parse(std::string_view text, bool final, ChoiceDelta& d);
  void add_text(std::string_view text, ChoiceDelta& d);
  openai::TokenLogprob logprob_of(const actors::CompletionToken& t) const;

  const tokenizer::Tokenizer& tok_;
  ChoiceOptions opt_;
  tokenizer::IncrementalDecoder decoder_;
  sampling::StopMatcher stop_;
  std::optional<chat::ToolCallStream> calls_stream_;
  enum class Think { undecided, inside, done } think_ = Think::undecided;
  std::string think_held_;       // text that may be part of a <think> or </think> marker
  bool strip_newlines_ = false;  // right after </think>
  std::string ws_held_;          // trailing whitespace of the text so far (tools on)
  bool stopped_ = false;
  int calls_ = 0;
  std::int64_t tokens_ = 0;
  std::size_t reasoning_sent_ = 0;  // harmony: bytes of the stream's reasoning given out
};

}  // namespace agentrt::api
