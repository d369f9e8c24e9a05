// ToolCallStream for the formats whose markers are special tokens: Mistral's [TOOL_CALLS]
// and gpt-oss's harmony messages (see tool_call_parser.h).
#include <algorithm>

#include "engine/chat/tool_call_json.h"
#include "engine/chat/tool_call_parser.h"

namespace agentrt::chat {
namespace {

using detail::check_call_depth;
using detail::json_object_length;
using detail::kSpace;
using detail::partial_marker_suffix;

constexpr std::string_view kToolCalls = "[TOOL_CALLS]";
constexpr std::string_view kArgs = "[ARGS]";
constexpr std::string_view kEos = "</s>";

constexpr std::string_view kMessage = "<|message|>";
constexpr std::string_view kChannel = "<|channel|>";
constexpr std::string_view kEnds[] = {"<|end|>", "<|call|>", "<|return|>"};

Error call_error(int index, const std::string& what, std::size_t at) {
  return make_error(ErrorCode::parse, "tool call " + std::to_string(index) + ": " + what +
                                          " at byte " + std::to_string(at));
}

// One element of a Mistral call array: {"name": ..., "arguments": ..., "id": ...}.
Result<ToolCall> mistral_call(const Json& v, int index, std::size_t at) {
  if (!v.is_object()) return call_error(index, "expected a JSON object", at);
  if (!v.contains("name") || !v["name"].is_string())
    return make_error(ErrorCode::parse,
                      "tool call " + std::to_string(index) + ": /name: expected a string");
  ToolCall call;
  call.name = v["name"].get<std::string>();
  if (v.contains("id") && v["id"].is_string()) call.id = v["id"].get<std::string>();
  if (v.contains("arguments"))
    call.arguments = v["arguments"];
  else if (v.contains("parameters"))
    call.arguments = v["parameters"];
  else
    call.arguments = Json::object();
  return call;
}

Result<Json> parse_json(std::string_view text, std::size_t offset, int index) {
  if (Status s = check_call_depth(text, offset, index); !s.ok()) return s.error();
  try {
    return Json::parse(text);
  } catch (const Json::parse_error& e) {
    return call_error(index, std::string("invalid JSON: ") + e.what(),
                      offset + (e.byte > 0 ? e.byte - 1 : 0));
  } catch (const std::exception& e) {
    return call_error(index, e.what(), offset);
  }
}

// The earliest harmony end marker in text: its position and length (npos when none).
std::pair<std::size_t, std::size_t> find_end(std::string_view text) {
  std::pair<std::size_t, std::size_t> best{std::string_view::npos, 0};
  for (std::string_view m : kEnds)
    if (const std::size_t p = text.find(m); p < best.first) best = {p, m.size()};
  return best;
}

std::size_t partial_end(std::string_view text) {
  std::size_t hold = 0;
  for (std::string_view m : kEnds)
    hold = std::max(hold, partial_marker_suffix(text, m));
  return hold;
}

}  // namespace

Status ToolCallStream::step_mistral(std::vector<StreamEvent>& events, bool final) {
  while (true) {
    if (mode_ != Mode::call) {
      // </s> ends the reply (special tokens kept): dropped, and a boundary, so the text on
      // either side never joins into a [TOOL_CALLS] marker.
      const std::size_t eos = buffer_.find(kEos);
      const std::size_t open = buffer_.find(kToolCalls);
      if (eos < open) {
        emit_text(std::string_view(buffer_).substr(0, eos), events);
        consume(eos + kEos.size());
        continue;
      }
      if (open == std::string::npos) {
        const std::size_t hold = final ? 0
                                       : std::max(partial_marker_suffix(buffer_, kToolCalls),
                                                  partial_marker_suffix(buffer_, kEos));
        emit_text(std::string_view(buffer_).substr(0, buffer_.size() - hold), events);
        consume(buffer_.size() - hold);
        return ok_status();
      }
      emit_text(std::string_view(buffer_).substr(0, open), events);
      events.push_back({StreamEvent::Kind::call_started, {}, {}});
      at_call_end_ = false;
      consume(open + kToolCalls.size());
      marker_ = std::string(kToolCalls);
      mode_ = Mode::call;
    }
    const std::size_t lead = buffer_.find_first_not_of(kSpace);
    if (lead == std::string::npos) {
      if (!final) return ok_status();
      return call_error(calls_ + 1, "nothing after [TOOL_CALLS]", consumed_ + buffer_.size());
    }
    const std::string_view body = std::string_view(buffer_).substr(lead);
    const std::size_t at = consumed_ + lead;
    std::size_t used = 0;
    if (body[0] == '[') {  // v3: a JSON array of calls
      const std::size_t len = json_object_length(body);
      if (len == 0) {
        if (Status s = check_call_depth(body, at, calls_ + 1); !s.ok()) return s;
        if (!final) return ok_status();
        return call_error(calls_ + 1, "unterminated call array", consumed_ + buffer_.size());
      }
      auto arr = parse_json(body.substr(0, len), at, calls_ + 1);
      if (!arr.ok()) return arr.error();
      if (!arr->is_array() || arr->empty())
        return call_error(calls_ + 1, "expected a non-empty JSON array of calls", at);
      std::vector<ToolCall> calls;
      for (const Json& v : *arr) {
        auto call = mistral_call(v, calls_ + 1 + static_cast<int>(calls.size()), at);
        if (!call.ok()) return call.error();
        calls.push_back(std::move(*call));
      }
      for (auto& c : calls) {
        ++calls_;
        events.push_back({StreamEvent::Kind::call_completed, {}, std::move(c)});
      }
      used = lead + len;
    } else {  // v11+: NAME[ARGS]{...}
      const std::size_t args = body.find(kArgs);
      if (args == std::string_view::npos) {
        if (!final && body.size() < 256) return ok_status();
        return call_error(calls_ + 1, "expected NAME[ARGS]{...} or a JSON array", at);
      }
      const std::string name(body.substr(0, args));
      if (name.empty() || name.find_first_of(" \t\r\n{}[]\"") != std::string::npos)
        return call_error(calls_ + 1, "invalid function name '" + name + "'", at);
      const std::string_view json = body.substr(args + kArgs.size());
      const std::size_t jat = at + args + kArgs.size();
      if (json.empty()) {
        if (!final) return ok_status();
        return call_error(calls_ + 1, "missing arguments", jat);
      }
      if (json[0] != '{') return call_error(calls_ + 1, "expected a JSON object", jat);
      const std::size_t len = json_object_length(json);
      if (len == 0) {
        if (Status s = check_call_depth(json, jat, calls_ + 1); !s.ok()) return s;
        if (!final) return ok_status();
        return call_error(calls_ + 1, "unterminated JSON object", consumed_ + buffer_.size());
      }
      auto value = parse_json(json.substr(0, len), jat, calls_ + 1);
      if (!value.ok()) return value.error();
      ++calls_;
      events.push_back({StreamEvent::Kind::call_completed, {}, ToolCall{"", name, *value}});
      used = lead + args + kArgs.size() + len;
    }
    at_call_end_ = true;
    consume(used);
    marker_.clear();
    mode_ = Mode::text;
  }
}

// Harmony: Mode::start reads a message header up to <|message|>; Mode::text streams a
// content or reasoning body; Mode::call gathers a call's body. Every body ends at an end
// marker (or the end of the reply).
Status ToolCallStream::step_harmony(std::vector<StreamEvent>& events, bool final) {
  while (true) {
    if (mode_ == Mode::start) {
      const std::size_t msg = buffer_.find(kMessage);
      if (msg == std::string::npos) {
        if (!final) return ok_status();
        // No header at all: a reply in plain text (markers left out or never written).
        const std::string_view rest = std::string_view(buffer_).substr(
            std::min(buffer_.size(), buffer_.find_first_not_of(kSpace)));
        if (!rest.empty() && rest.find("<|") == std::string_view::npos) emit_text(rest, events);
        consume(buffer_.size());
        return ok_status();
      }
      const std::string header = buffer_.substr(0, msg);
      marker_ = buffer_.substr(0, msg + kMessage.size());
      consume(msg + kMessage.size());
      const std::size_t to = header.find("to=functions.");
      const std::size_t ch = header.find(kChannel);
      std::string channel;
      if (ch != std::string::npos) {
        const std::size_t b = ch + kChannel.size();
        const std::size_t e = header.find_first_of(" <\t\n", b);
        channel = header.substr(b, e == std::string::npos ? std::string::npos : e - b);
      }
      if (to != std::string::npos) {
        const std::size_t b = to + 13;
        const std::size_t e = header.find_first_of(" <\t\n", b);
        call_name_ = header.substr(b, e == std::string::npos ? std::string::npos : e - b);
        channel_ = "call";
        events.push_back({StreamEvent::Kind::call_started, {}, {}});
        at_call_end_ = false;
        mode_ = Mode::call;
        if (call_name_.empty())
          return call_error(calls_ + 1, "empty function name", consumed_ - marker_.size());
      } else {
        channel_ = channel == "analysis" ? "analysis" : "text";
        mode_ = Mode::text;
      }
      continue;
    }
    const auto [end, end_len] = find_end(buffer_);
    if (mode_ == Mode::text) {
      const std::size_t n =
          end != std::string::npos ? end : buffer_.size() - (final ? 0 : partial_end(buffer_));
      const std::string_view body = std::string_view(buffer_).substr(0, n);
      if (channel_ == "analysis")
        reasoning_ += body;
      else
        emit_text(body, events);
      consume(n);
      if (end == std::string::npos) return ok_status();
      consume(end_len);
      marker_.clear();
      mode_ = Mode::start;
      continue;
    }
    // Mode::call
    if (end == std::string::npos) {
      if (Status s = check_call_depth(buffer_, consumed_, calls_ + 1); !s.ok()) return s;
      if (!final) return ok_status();
    }
    const std::size_t n = end == std::string::npos ? buffer_.size() : end;
    const std::string_view body = std::string_view(buffer_).substr(0, n);
    const std::size_t lead = body.find_first_not_of(kSpace);
    Json args = Json::object();
    if (lead != std::string_view::npos) {
      auto v = parse_json(body.substr(lead), consumed_ + lead, calls_ + 1);
      if (!v.ok()) return v.error();
      args = std::move(*v);
    }
    ++calls_;
    events.push_back({StreamEvent::Kind::call_completed, {}, ToolCall{"", call_name_, args}});
    at_call_end_ = true;
    consume(end == std::string::npos ? n : n + end_len);
    marker_.clear();
    mode_ = Mode::start;
    if (buffer_.empty()) return ok_status();
  }
}

}  // namespace agentrt::chat
