// The OpenAI API's reply objects, built from what the choices produced: chat.completion and
// its chunks, text_completion and its chunks, usage, logprobs, tool calls.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/openai_choice.h"

namespace agentrt::api {

// One choice of a whole reply.
struct ChoiceReply {
  std::string content;
  std::vector<chat::ToolCall> calls;
  std::vector<TokenLogprobOut> logprobs;
  std::string finish_reason = "stop";
  void add(ChoiceDelta d);
};

struct ReplyHead {
  std::string id;
  std::int64_t created = 0;
  std::string model;
  bool chat = true;
};

nlohmann::json usage_json(std::int64_t prompt, std::int64_t completion, std::int64_t cached);
// The whole reply: chat.completion or text_completion. want_logprobs: a logprobs object per
// choice, else null.
nlohmann::json whole_reply_json(const ReplyHead& head, const std::vector<ChoiceReply>& choices,
                                bool want_logprobs, const nlohmann::json& usage);
// The chunks one delta of choice `index` streams as (a chat tool call becomes a chunk with
// its id and name, then its arguments in pieces; calls_before numbers them). `first`: the
// chat role chunk comes first.
std::vector<nlohmann::json> delta_chunks(const ReplyHead& head, int index, const ChoiceDelta& d,
                                         bool want_logprobs, bool first, int calls_before);
// The chunk that ends choice `index`.
nlohmann::json finish_chunk(const ReplyHead& head, int index, const std::string& finish_reason);
// The usage chunk (stream_options.include_usage): no choices.
nlohmann::json usage_chunk(const ReplyHead& head, const nlohmann::json& usage);
// A tool call's arguments as the JSON text OpenAI sends.
std::string arguments_text(const chat::ToolCall& call);

}  // namespace agentrt::api
