// Tool calls in generated text, for each ToolCallFormat (chat_template.h):
//   hermes (chatml_qwen): <tool_call>\n{"name": ..., "arguments": {...}}\n</tool_call>
//                (one or more)
//   llama_json (llama3, llama3_tools): the reply is a JSON object {"name": ..., "parameters":
//                {...}} (optionally after <|python_tag|>; several may follow each other,
//                separated by ';')
//   mistral:     [TOOL_CALLS][{"name": ..., "arguments": {...}, "id": ...}, ...] (v3), or
//                [TOOL_CALLS]NAME[ARGS]{...} repeated (v11+); text before the first marker is
//                content; "</s>" is dropped (decode with special tokens kept)
//   harmony:     gpt-oss messages "<|channel|>CHANNEL[ to=functions.NAME][ <|constrain|>json]
//                <|message|>BODY" ended by <|end|>, <|call|> or <|return|> (the header may
//                also start with "<|start|>assistant" or put to=... first): a body addressed
//                to functions.NAME is a call (its JSON arguments), the analysis channel is
//                reasoning, any other body is content
//   none:        the reply is content
// parse_reply handles a finished reply; ToolCallStream handles text as it is generated.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "engine/chat/chat_template.h"
#include "engine/chat/conversation.h"

namespace agentrt::chat {

struct ParsedReply {
  std::string content;    // text outside tool calls (and outside <think>), trimmed
  std::string reasoning;  // chatml_qwen: the text inside a leading <think>...</think>
  std::vector<ToolCall> tool_calls;
};

// Splits a complete assistant reply into content, reasoning and tool calls. A call with
// malformed JSON fails with parse: "tool call 1: invalid JSON at byte 37: ...", the byte
// counted from the start of text.
Result<ParsedReply> parse_reply(ToolCallFormat format, std::string_view text);
Result<ParsedReply> parse_reply(Family family, std::string_view text);

struct StreamEvent {
  enum class Kind {
    text,            // plain text to show the user (never a partial tool-call marker)
    call_started,    // a tool call began; its text will not be streamed (llama3: if the
                     // object turns out to have no "name", it follows as text after all)
    call_completed,  // `call` holds the parsed call
  };
  Kind kind = Kind::text;
  std::string text;
  ToolCall call;
};

// Incremental tool-call parser for one reply. Feed decoded text pieces in order; it holds
// back text that may be the start of a call marker. Not thread-safe.
class ToolCallStream {
 public:
  explicit ToolCallStream(ToolCallFormat format) : format_(format) {}
  explicit ToolCallStream(Family family) : format_(tool_call_format(family)) {}

  // Consumes piece and appends the events it completes. Fails (parse, with the byte offset
  // in the whole stream) when a finished call is malformed; the stream is unusable after.
  Status feed(std::string_view piece, std::vector<StreamEvent>& events);
  // End of generation: flushes held-back text. Fails when a call is still open.
  Status finish(std::vector<StreamEvent>& events);
  // True when the last event was a completed call and nothing has followed: a caller that
  // wants one round of calls can stop generating here.
  bool at_call_end() const { return at_call_end_; }
  int calls_completed() const { return calls_; }
  // The text fed but not yet given back in an event (after a failed feed or finish: the
  // malformed call as written, its <tool_call> marker included), so a caller can show it.
  std::string unparsed() const;
  // harmony: the analysis channel's text so far (never streamed as text).
  const std::string& reasoning() const { return reasoning_; }

 private:
  enum class Mode { start, text, call };
  Status step_qwen(std::vector<StreamEvent>& events, bool final);
  Status step_llama(std::vector<StreamEvent>& events, bool final);
  Status step_mistral(std::vector<StreamEvent>& events, bool final);
  Status step_harmony(std::vector<StreamEvent>& events, bool final);
  Status step(std::vector<StreamEvent>& events, bool final);
  void consume(std::size_t n);
  void emit_text(std::string_view text, std::vector<StreamEvent>& events);

  ToolCallFormat format_;
  Mode mode_ = Mode::start;
  std::string buffer_;     // unconsumed text
  std::string marker_;     // mistral, harmony: the current call's or message's text consumed
  std::string channel_;    // harmony: the current message's kind: "call", "analysis", "text"
  std::string call_name_;  // harmony: the current call's function
  std::string reasoning_;
  std::size_t consumed_ = 0;  // bytes of the stream before buffer_
  int calls_ = 0;
  bool at_call_end_ = false;
  bool failed_ = false;
};

}  // namespace agentrt::chat
