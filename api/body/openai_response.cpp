#include "api/body/openai_response.h"

#include <random>

namespace agentrt::api::openai {
namespace {

// Bytes of the UTF-8 character starting at s[i], or 0 when none starts there (a stray
// continuation byte, an overlong form, a surrogate, past U+10FFFF or cut short).
std::size_t utf8_char_len(std::string_view s, std::size_t i) {
  const auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = b(i);
  if (c < 0x80) return 1;
  std::size_t n = 0;
  unsigned char lo = 0x80, hi = 0xBF;  // the allowed range of the second byte
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  if (b(i + 1) < lo || b(i + 1) > hi) return 0;
  for (std::size_t k = 2; k < n; ++k)
    if ((b(i + k) & 0xC0) != 0x80) return 0;
  return n;
}

Json bytes_json(std::string_view s) {
  Json out = Json::array();
  for (char c : s)
    out.push_back(static_cast<unsigned char>(c));
  return out;
}

std::string random_alnum(std::size_t n) {
  static constexpr char kAlnum[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::uniform_int_distribution<std::size_t> pick(0, sizeof kAlnum - 2);
  std::string out(n, ' ');
  for (char& c : out)
    c = kAlnum[pick(rng)];
  return out;
}

const char* object_name(const ReplyHead& h, bool chunk) {
  if (h.endpoint == OpenAiEndpoint::completions) return "text_completion";
  return chunk ? "chat.completion.chunk" : "chat.completion";
}

Json chunk(const ReplyHead& h, Json choice) {
  return {{"id", h.id},
          {"object", object_name(h, true)},
          {"created", h.created},
          {"model", valid_utf8(h.model)},
          {"choices", Json::array({std::move(choice)})}};
}

Json chat_delta_chunk(const ReplyHead& h, int index, Json delta, const Json& logprobs) {
  return chunk(h, {{"index", index},
                   {"delta", std::move(delta)},
                   {"logprobs", logprobs},
                   {"finish_reason", nullptr}});
}

Json chat_message(const ChoiceOut& c) {
  Json msg = {{"role", "assistant"}, {"content", valid_utf8(c.content)}, {"refusal", nullptr}};
  if (c.reasoning) msg["reasoning_content"] = valid_utf8(*c.reasoning);
  if (!c.tool_calls.empty()) {
    if (c.content.empty()) msg["content"] = nullptr;
    Json calls = Json::array();
    for (const ToolCallOut& t : c.tool_calls)
      calls.push_back(tool_call_json(t));
    msg["tool_calls"] = std::move(calls);
  }
  return msg;
}

}  // namespace

std::string valid_utf8(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) {
    const std::size_t n = utf8_char_len(s, i);
    if (n == 0) {
      out += "\xEF\xBF\xBD";
      ++i;
    } else {
      out.append(s.substr(i, n));
      i += n;
    }
  }
  return out;
}

std::vector<std::string> utf8_pieces(std::string_view s, std::size_t max_bytes) {
  std::vector<std::string> out;
  if (max_bytes == 0) max_bytes = 1;
  std::size_t i = 0;
  while (i < s.size()) {
    std::size_t end = std::min(s.size(), i + max_bytes);
    while (end < s.size() && (static_cast<unsigned char>(s[end]) & 0xC0) == 0x80)
      ++end;
    out.emplace_back(s.substr(i, end - i));
    i = end;
  }
  return out;
}

Json usage_json(std::int64_t prompt, std::int64_t completion, std::int64_t cached) {
  return {{"prompt_tokens", prompt},
          {"completion_tokens", completion},
          {"total_tokens", prompt + completion},
          {"prompt_tokens_details", {{"cached_tokens", cached}}}};
}

Json chat_logprobs_json(std::span<const TokenLogprob> tokens) {
  Json content = Json::array();
  for (const TokenLogprob& t : tokens) {
    Json top = Json::array();
    for (const TopLogprob& a : t.top)
      top.push_back(
          {{"token", valid_utf8(a.token)}, {"logprob", a.logprob}, {"bytes", bytes_json(a.token)}});
    content.push_back({{"token", valid_utf8(t.token)},
                       {"logprob", t.logprob},
                       {"bytes", bytes_json(t.token)},
                       {"top_logprobs", std::move(top)}});
  }
  return {{"content", std::move(content)}};
}

Json text_logprobs_json(std::span<const TokenLogprob> tokens, std::size_t text_offset) {
  Json toks = Json::array(), lps = Json::array(), tops = Json::array(), offs = Json::array();
  for (const TokenLogprob& t : tokens) {
    toks.push_back(valid_utf8(t.token));
    lps.push_back(t.logprob);
    Json alts = Json::object();        // OpenAI's shape: token -> logprob (a repeated text keeps
    for (const TopLogprob& a : t.top)  // the best, which comes first)
      alts.emplace(valid_utf8(a.token), a.logprob);
    tops.push_back(std::move(alts));
    offs.push_back(text_offset);
    text_offset += t.token.size();
  }
  return {{"tokens", std::move(toks)},
          {"token_logprobs", std::move(lps)},
          {"top_logprobs", std::move(tops)},
          {"text_offset", std::move(offs)}};
}

Json tool_call_json(const ToolCallOut& call) {
  return {
      {"id", valid_utf8(call.id)},
      {"type", "function"},
      {"function", {{"name", valid_utf8(call.name)}, {"arguments", valid_utf8(call.arguments)}}}};
}

Json completion_json(const ReplyHead& head, std::span<const ChoiceOut> choices, const Json& usage) {
  const bool chat = head.endpoint == OpenAiEndpoint::chat;
  Json out = Json::array();
  for (const ChoiceOut& c : choices) {
    Json choice = {{"index", c.index}, {"finish_reason", c.finish_reason}};
    if (chat) {
      choice["message"] = chat_message(c);
      choice["logprobs"] = c.logprobs ? chat_logprobs_json(*c.logprobs) : Json(nullptr);
    } else {
      choice["text"] = valid_utf8(c.content);
      choice["logprobs"] = c.logprobs ? text_logprobs_json(*c.logprobs) : Json(nullptr);
    }
    out.push_back(std::move(choice));
  }
  return {{"id", head.id},
          {"object", object_name(head, false)},
          {"created", head.created},
          {"model", valid_utf8(head.model)},
          {"choices", std::move(out)},
          {"usage", usage}};
}

Json chat_role_chunk(const ReplyHead& head, int index) {
  return chat_delta_chunk(head, index, {{"role", "assistant"}, {"content", ""}}, nullptr);
}

Json chat_content_chunk(const ReplyHead& head, int index, std::string_view content,
                        const Json& logprobs) {
  return chat_delta_chunk(head, index, {{"content", valid_utf8(content)}}, logprobs);
}

Json chat_reasoning_chunk(const ReplyHead& head, int index, std::string_view reasoning) {
  return chat_delta_chunk(head, index, {{"reasoning_content", valid_utf8(reasoning)}}, nullptr);
}

std::vector<Json> chat_tool_call_chunks(const ReplyHead& head, int index, int call_index,
                                        const ToolCallOut& call) {
  std::vector<Json> out;
  const Json first = {{"index", call_index},
                      {"id", valid_utf8(call.id)},
                      {"type", "function"},
                      {"function", {{"name", valid_utf8(call.name)}, {"arguments", ""}}}};
  out.push_back(chat_delta_chunk(head, index, {{"tool_calls", Json::array({first})}}, nullptr));
  for (const std::string& piece : utf8_pieces(call.arguments, kArgumentPieceBytes)) {
    const Json arg = {{"index", call_index}, {"function", {{"arguments", valid_utf8(piece)}}}};
    out.push_back(chat_delta_chunk(head, index, {{"tool_calls", Json::array({arg})}}, nullptr));
  }
  return out;
}

Json chat_finish_chunk(const ReplyHead& head, int index, std::string_view finish_reason) {
  return chunk(head, {{"index", index},
                      {"delta", Json::object()},
                      {"logprobs", nullptr},
                      {"finish_reason", finish_reason}});
}

Json text_chunk(const ReplyHead& head, int index, std::string_view text, const Json& logprobs,
                std::optional<std::string_view> finish_reason) {
  return chunk(head, {{"index", index},
                      {"text", valid_utf8(text)},
                      {"logprobs", logprobs},
                      {"finish_reason", finish_reason ? Json(*finish_reason) : Json(nullptr)}});
}

Json usage_chunk(const ReplyHead& head, const Json& usage) {
  return {{"id", head.id},
          {"object", object_name(head, true)},
          {"created", head.created},
          {"model", valid_utf8(head.model)},
          {"choices", Json::array()},
          {"usage", usage}};
}

Json model_json(std::string_view name, std::int64_t created) {
  return {
      {"id", valid_utf8(name)}, {"object", "model"}, {"created", created}, {"owned_by", "agentrt"}};
}

Json model_list_json(std::span<const std::string> names, std::int64_t created) {
  Json data = Json::array();
  for (const std::string& n : names)
    data.push_back(model_json(n, created));
  return {{"object", "list"}, {"data", std::move(data)}};
}

std::string tool_call_id() {
  return "call_" + random_alnum(24);
}

std::string completion_id(OpenAiEndpoint endpoint) {
  return (endpoint == OpenAiEndpoint::chat ? "chatcmpl-" : "cmpl-") + random_alnum(24);
}

std::string sse_data(const Json& event) {
  return "data: " + event.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n\n";
}

}  // namespace agentrt::api::openai
