// Builders of chat.completion, chat.completion.chunk, text_completion and their parts.
#include "api/openai_reply.h"

namespace agentrt::api {
namespace {

using nlohmann::json;

// Tool-call arguments stream in pieces of at most this many bytes (UTF-8 kept whole).
constexpr std::size_t kArgumentPiece = 32;

json chat_logprobs(const std::vector<TokenLogprobOut>& lps) {
  json content = json::array();
  for (const auto& t : lps) {
    json top = json::array();
    for (const auto& [tok, lp] : t.top)
      top.push_back({{"token", tok},
                     {"logprob", lp},
                     {"bytes", json(std::vector<int>(tok.begin(), tok.end()))}});
    content.push_back({{"token", t.token},
                       {"logprob", t.logprob},
                       {"bytes", json(std::vector<int>(t.bytes.begin(), t.bytes.end()))},
                       {"top_logprobs", top}});
  }
  return {{"content", content}};
}

json text_logprobs(const std::vector<TokenLogprobOut>& lps, std::size_t offset) {
  json tokens = json::array(), lp = json::array(), top = json::array(), offs = json::array();
  for (const auto& t : lps) {
    tokens.push_back(t.token);
    lp.push_back(t.logprob);
    json alts = json::object();
    for (const auto& [tok, p] : t.top)
      alts[tok] = p;
    top.push_back(alts);
    offs.push_back(offset);
    offset += t.token.size();
  }
  return {{"tokens", tokens}, {"token_logprobs", lp}, {"top_logprobs", top}, {"text_offset", offs}};
}

json tool_call_json(const chat::ToolCall& c) {
  return {{"id", c.id},
          {"type", "function"},
          {"function", {{"name", c.name}, {"arguments", arguments_text(c)}}}};
}

json chunk(const ReplyHead& h, json choice) {
  return {{"id", h.id},
          {"object", h.chat ? "chat.completion.chunk" : "text_completion"},
          {"created", h.created},
          {"model", h.model},
          {"choices", json::array({std::move(choice)})}};
}

// Splits s into pieces of about kArgumentPiece bytes, never inside a UTF-8 character.
std::vector<std::string> pieces(const std::string& s) {
  std::vector<std::string> out;
  std::size_t i = 0;
  while (i < s.size()) {
    std::size_t end = std::min(s.size(), i + kArgumentPiece);
    while (end < s.size() && (static_cast<unsigned char>(s[end]) & 0xC0) == 0x80)
      ++end;
    out.push_back(s.substr(i, end - i));
    i = end;
  }
  return out;
}

}  // namespace

void ChoiceReply::add(ChoiceDelta d) {
  content += d.content;
  for (auto& c : d.calls)
    calls.push_back(std::move(c));
  for (auto& l : d.logprobs)
    logprobs.push_back(std::move(l));
}

std::string arguments_text(const chat::ToolCall& call) {
  if (call.arguments.is_string()) return call.arguments.get<std::string>();
  return call.arguments.dump(-1, ' ', false, json::error_handler_t::replace);
}

json usage_json(std::int64_t prompt, std::int64_t completion, std::int64_t cached) {
  return {{"prompt_tokens", prompt},
          {"completion_tokens", completion},
          {"total_tokens", prompt + completion},
          {"prompt_tokens_details", {{"cached_tokens", cached}}}};
}

json whole_reply_json(const ReplyHead& h, const std::vector<ChoiceReply>& choices,
                      bool want_logprobs, const json& usage) {
  json out = json::array();
  for (std::size_t i = 0; i < choices.size(); ++i) {
    const ChoiceReply& c = choices[i];
    json choice = {{"index", i}, {"finish_reason", c.finish_reason}};
    if (h.chat) {
      json msg = {{"role", "assistant"}, {"content", c.content}};
      if (!c.calls.empty()) {
        if (c.content.empty()) msg["content"] = nullptr;
        json calls = json::array();
        for (const auto& call : c.calls)
          calls.push_back(tool_call_json(call));
        msg["tool_calls"] = calls;
      }
      choice["message"] = msg;
      choice["logprobs"] = want_logprobs ? chat_logprobs(c.logprobs) : json(nullptr);
    } else {
      choice["text"] = c.content;
      choice["logprobs"] = want_logprobs ? text_logprobs(c.logprobs, 0) : json(nullptr);
    }
    out.push_back(std::move(choice));
  }
  return {{"id", h.id},           {"object", h.chat ? "chat.completion" : "text_completion"},
          {"created", h.created}, {"model", h.model},
          {"choices", out},       {"usage", usage}};
}

std::vector<json> delta_chunks(const ReplyHead& h, int index, const ChoiceDelta& d,
                               bool want_logprobs, bool first, int calls_before) {
  std::vector<json> out;
  const json lp = want_logprobs && !d.logprobs.empty()
                      ? (h.chat ? chat_logprobs(d.logprobs) : text_logprobs(d.logprobs, 0))
                      : json(nullptr);
  if (!h.chat) {
    if (!d.content.empty() || !lp.is_null())
      out.push_back(chunk(
          h,
          {{"index", index}, {"text", d.content}, {"logprobs", lp}, {"finish_reason", nullptr}}));
    return out;
  }
  if (first || !d.content.empty() || !lp.is_null()) {
    json delta = json::object();
    if (first) delta["role"] = "assistant";
    delta["content"] = d.content;
    out.push_back(chunk(
        h, {{"index", index}, {"delta", delta}, {"logprobs", lp}, {"finish_reason", nullptr}}));
  }
  int k = calls_before;
  for (const auto& c : d.calls) {
    json head_call = {{"index", k},
                      {"id", c.id},
                      {"type", "function"},
                      {"function", {{"name", c.name}, {"arguments", ""}}}};
    out.push_back(chunk(h, {{"index", index},
                            {"delta", {{"tool_calls", json::array({head_call})}}},
                            {"logprobs", nullptr},
                            {"finish_reason", nullptr}}));
    for (auto& piece : pieces(arguments_text(c))) {
      json arg = {{"index", k}, {"function", {{"arguments", piece}}}};
      out.push_back(chunk(h, {{"index", index},
                              {"delta", {{"tool_calls", json::array({arg})}}},
                              {"logprobs", nullptr},
                              {"finish_reason", nullptr}}));
    }
    ++k;
  }
  return out;
}

json finish_chunk(const ReplyHead& h, int index, const std::string& finish_reason) {
  if (!h.chat)
    return chunk(
        h,
        {{"index", index}, {"text", ""}, {"logprobs", nullptr}, {"finish_reason", finish_reason}});
  return chunk(h, {{"index", index},
                   {"delta", json::object()},
                   {"logprobs", nullptr},
                   {"finish_reason", finish_reason}});
}

json usage_chunk(const ReplyHead& h, const json& usage) {
  return {{"id", h.id},
          {"object", h.chat ? "chat.completion.chunk" : "text_completion"},
          {"created", h.created},
          {"model", h.model},
          {"choices", json::array()},
          {"usage", usage}};
}

}  // namespace agentrt::api
