#include "engine/chat/tool_call_parser.h"

#include "engine/chat/python_str.h"
#include "engine/chat/tool_call_json.h"

namespace agentrt::chat {
namespace {

using detail::check_call_depth;
using detail::json_object_length;
using detail::kSpace;
using detail::parse_call_json;
using detail::partial_marker_suffix;

constexpr std::string_view kCallOpen = "<tool_call>";
constexpr std::string_view kCallClose = "</tool_call>";
constexpr std::string_view kPythonTag = "<|python_tag|>";

// Parses the body between <tool_call> and </tool_call> that starts at byte `offset`.
Result<ToolCall> parse_qwen_body(std::string_view body, std::size_t offset, int index) {
  const std::size_t lead = body.find_first_not_of(kSpace);
  if (lead == std::string_view::npos)
    return make_error(ErrorCode::parse, "tool call " + std::to_string(index) +
                                            ": empty call at byte " + std::to_string(offset));
  return parse_call_json(py::rstrip(body.substr(lead), kSpace), offset + lead, index);
}

Result<ParsedReply> parse_qwen(std::string_view text) {
  ParsedReply reply;
  std::size_t pos = 0;
  if (const std::size_t end = text.find("</think>"); end != std::string_view::npos) {
    std::string_view before = text.substr(0, end);
    if (const std::size_t open = before.find("<think>"); open != std::string_view::npos)
      before = before.substr(open + 7);
    reply.reasoning = std::string(py::strip(before, "\n"));
    pos = end + 8;
  }
  std::string content;
  while (pos < text.size()) {
    const std::size_t open = text.find(kCallOpen, pos);
    content +=
        text.substr(pos, open == std::string_view::npos ? std::string_view::npos : open - pos);
    if (open == std::string_view::npos) break;
    const std::size_t body = open + kCallOpen.size();
    const std::size_t close = text.find(kCallClose, body);
    const std::size_t body_end = close == std::string_view::npos ? text.size() : close;
    auto call = parse_qwen_body(text.substr(body, body_end - body), body,
                                static_cast<int>(reply.tool_calls.size()) + 1);
    if (!call.ok()) return call.error();
    reply.tool_calls.push_back(std::move(*call));
    pos = close == std::string_view::npos ? text.size() : close + kCallClose.size();
  }
  reply.content = std::string(py::strip_whitespace(content));
  return reply;
}

Result<ParsedReply> parse_llama(std::string_view text) {
  ParsedReply reply;
  std::size_t pos = text.find_first_not_of(kSpace);
  if (pos != std::string_view::npos && text.substr(pos).starts_with(kPythonTag))
    pos = text.find_first_not_of(kSpace, pos + kPythonTag.size());
  if (pos == std::string_view::npos || text[pos] != '{') {
    reply.content = std::string(py::strip_whitespace(text));
    return reply;
  }
  while (pos < text.size()) {
    const std::size_t len = json_object_length(text.substr(pos));
    const std::string_view obj = len == 0 ? text.substr(pos) : text.substr(pos, len);
    auto call = parse_call_json(obj, pos, static_cast<int>(reply.tool_calls.size()) + 1);
    if (!call.ok()) {
      // A first object that is valid JSON but not a call is plain content (e.g. JSON output).
      if (reply.tool_calls.empty() && len != 0 &&
          call.error().message.find("/name") != std::string::npos) {
        reply.content = std::string(py::strip_whitespace(text));
        return reply;
      }
      return call.error();
    }
    reply.tool_calls.push_back(std::move(*call));
    pos = text.find_first_not_of(" \t\r\n;", pos + len);
    if (pos == std::string_view::npos) break;
    if (text[pos] != '{')
      return make_error(ErrorCode::parse, "unexpected text after tool call " +
                                              std::to_string(reply.tool_calls.size()) +
                                              " at byte " + std::to_string(pos));
  }
  return reply;
}

// mistral and harmony: the stream's events gathered (the formats' markers are parsed once).
Result<ParsedReply> parse_by_stream(ToolCallFormat format, std::string_view text) {
  ToolCallStream stream(format);
  std::vector<StreamEvent> events;
  AGENTRT_TRY(stream.feed(text, events));
  AGENTRT_TRY(stream.finish(events));
  ParsedReply reply;
  std::string content;
  for (auto& e : events) {
    if (e.kind == StreamEvent::Kind::text) content += e.text;
    if (e.kind == StreamEvent::Kind::call_completed) reply.tool_calls.push_back(std::move(e.call));
  }
  reply.content = std::string(py::strip_whitespace(content));
  reply.reasoning = std::string(py::strip_whitespace(stream.reasoning()));
  return reply;
}

}  // namespace

Result<ParsedReply> parse_reply(ToolCallFormat format, std::string_view text) {
  switch (format) {
    case ToolCallFormat::hermes:
      return parse_qwen(text);
    case ToolCallFormat::llama_json:
      return parse_llama(text);
    case ToolCallFormat::mistral:
    case ToolCallFormat::harmony:
      return parse_by_stream(format, text);
    case ToolCallFormat::none:
      break;
  }
  ParsedReply reply;
  reply.content = std::string(py::strip_whitespace(text));
  return reply;
}

Result<ParsedReply> parse_reply(Family family, std::string_view text) {
  return parse_reply(tool_call_format(family), text);
}

std::string ToolCallStream::unparsed() const {
  if (format_ == ToolCallFormat::hermes && mode_ == Mode::call)
    return std::string(kCallOpen) + buffer_;
  if ((format_ == ToolCallFormat::mistral || format_ == ToolCallFormat::harmony) &&
      mode_ == Mode::call)
    return marker_ + buffer_;
  return buffer_;
}

void ToolCallStream::consume(std::size_t n) {
  buffer_.erase(0, n);
  consumed_ += n;
}

void ToolCallStream::emit_text(std::string_view text, std::vector<StreamEvent>& events) {
  if (text.empty()) return;
  if (text.find_first_not_of(kSpace) != std::string_view::npos) at_call_end_ = false;
  if (!events.empty() && events.back().kind == StreamEvent::Kind::text) {
    events.back().text += text;
  } else {
    events.push_back({StreamEvent::Kind::text, std::string(text), {}});
  }
}

Status ToolCallStream::step_qwen(std::vector<StreamEvent>& events, bool final) {
  while (true) {
    if (mode_ != Mode::call) {
      const std::size_t open = buffer_.find(kCallOpen);
      if (open == std::string::npos) {
        const std::size_t hold = final ? 0 : partial_marker_suffix(buffer_, kCallOpen);
        emit_text(std::string_view(buffer_).substr(0, buffer_.size() - hold), events);
        consume(buffer_.size() - hold);
        return ok_status();
      }
      emit_text(std::string_view(buffer_).substr(0, open), events);
      events.push_back({StreamEvent::Kind::call_started, {}, {}});
      at_call_end_ = false;
      consume(open + kCallOpen.size());
      mode_ = Mode::call;
      continue;
    }
    const std::size_t close = buffer_.find(kCallClose);
    if (close == std::string::npos) {
      // Fail as soon as an open call nests too deep, not after buffering all of it.
      if (Status s = check_call_depth(buffer_, consumed_, calls_ + 1); !s.ok()) return s;
      if (!final) return ok_status();
      return make_error(ErrorCode::parse, "tool call " + std::to_string(calls_ + 1) +
                                              ": missing </tool_call> at byte " +
                                              std::to_string(consumed_ + buffer_.size()));
    }
    auto call = parse_qwen_body(std::string_view(buffer_).substr(0, close), consumed_, calls_ + 1);
    if (!call.ok()) return call.error();
    ++calls_;
    events.push_back({StreamEvent::Kind::call_completed, {}, std::move(*call)});
    at_call_end_ = true;
    consume(close + kCallClose.size());
    mode_ = Mode::text;
  }
}

Status ToolCallStream::step_llama(std::vector<StreamEvent>& events, bool final) {
  while (!buffer_.empty()) {
    if (mode_ == Mode::text) {
      emit_text(buffer_, events);
      consume(buffer_.size());
      return ok_status();
    }
    if (mode_ == Mode::start) {
      const std::size_t p = buffer_.find_first_not_of(calls_ > 0 ? " \t\r\n;" : kSpace);
      if (p == std::string::npos) break;  // only separators so far
      const std::string_view rest = std::string_view(buffer_).substr(p);
      if (rest.starts_with(kPythonTag)) {
        consume(p + kPythonTag.size());
        continue;
      }
      if (!final && rest.size() < kPythonTag.size() && kPythonTag.starts_with(rest))
        return ok_status();
      if (rest[0] != '{') {
        mode_ = Mode::text;
        continue;
      }
      consume(p);
      events.push_back({StreamEvent::Kind::call_started, {}, {}});
      at_call_end_ = false;
      mode_ = Mode::call;
    }
    const std::size_t len = json_object_length(buffer_);
    if (len == 0) {
      if (Status s = check_call_depth(buffer_, consumed_, calls_ + 1); !s.ok()) return s;
      if (!final) return ok_status();
      auto bad = parse_call_json(buffer_, consumed_, calls_ + 1);
      return bad.ok() ? make_error(ErrorCode::parse, "tool call " + std::to_string(calls_ + 1) +
                                                         ": unterminated JSON object")
                      : Status(bad.error());
    }
    auto call = parse_call_json(std::string_view(buffer_).substr(0, len), consumed_, calls_ + 1);
    if (!call.ok() && calls_ == 0 && call.error().message.find("/name") != std::string::npos) {
      mode_ = Mode::text;  // valid JSON but not a call: a JSON answer, as parse_reply treats it
      continue;
    }
    if (!call.ok()) return call.error();
    ++calls_;
    events.push_back({StreamEvent::Kind::call_completed, {}, std::move(*call)});
    at_call_end_ = true;
    consume(len);
    mode_ = Mode::start;
  }
  if (final && !buffer_.empty()) {
    if (calls_ == 0) emit_text(buffer_, events);
    consume(buffer_.size());
  }
  return ok_status();
}

Status ToolCallStream::step(std::vector<StreamEvent>& events, bool final) {
  switch (format_) {
    case ToolCallFormat::hermes:
      return step_qwen(events, final);
    case ToolCallFormat::llama_json:
      return step_llama(events, final);
    case ToolCallFormat::mistral:
      return step_mistral(events, final);
    case ToolCallFormat::harmony:
      return step_harmony(events, final);
    case ToolCallFormat::none:
      break;
  }
  emit_text(buffer_, events);
  consume(buffer_.size());
  return ok_status();
}

Status ToolCallStream::feed(std::string_view piece, std::vector<StreamEvent>& events) {
  if (failed_) return make_error(ErrorCode::invalid_argument, "tool-call stream already failed");
  buffer_ += piece;
  Status s = step(events, false);
  if (!s.ok()) failed_ = true;
  return s;
}

Status ToolCallStream::finish(std::vector<StreamEvent>& events) {
  if (failed_) return make_error(ErrorCode::invalid_argument, "tool-call stream already failed");
  Status s = step(events, true);
  if (!s.ok()) failed_ = true;
  return s;
}

}  // namespace agentrt::chat
