// Pure builders of the OpenAI API's reply objects: chat.completion and its chunks,
// text_completion and its chunks, usage, logprobs, the model list, tool-call ids and SSE
// framing. No runtime: the caller says what each choice produced. Every string they put in
// JSON is valid UTF-8 (a token cut inside a character shows U+FFFD; its "bytes" keep the
// raw bytes), so any dump of the result succeeds. Thread-safe (tool_call_id draws from a
// per-thread generator).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/body/openai_request.h"

namespace agentrt::api::openai {

using Json = nlohmann::json;

// Tool-call arguments stream in pieces of at most this many bytes (a UTF-8 character is
// never split, so a piece may be up to 3 bytes longer).
inline constexpr std::size_t kArgumentPieceBytes = 32;

struct TopLogprob {
  std::string token;  // the token's raw text (bytes)
  float logprob = 0.0f;
};

struct TokenLogprob {
  std::string token;  // the chosen token's raw text (bytes)
  float logprob = 0.0f;
  std::vector<TopLogprob> top;  // alternatives, best first
};

struct ToolCallOut {
  std::string id;         // "call_..." (tool_call_id())
  std::string name;       // function name
  std::string arguments;  // JSON text, as the model wrote it
};

// What every object of one reply shares.
struct ReplyHead {
  std::string id;            // "chatcmpl-..." / "cmpl-..." (completion_id())
  std::int64_t created = 0;  // Unix seconds
  std::string model;
  OpenAiEndpoint endpoint = OpenAiEndpoint::chat;
};

// One choice of a whole (non-streamed) reply.
struct ChoiceOut {
  int index = 0;
  std::string content;                                // chat: message content; completions: text
  std::optional<std::string> reasoning;               // chat: thinking, as "reasoning_content"
  std::vector<ToolCallOut> tool_calls;                // chat only
  std::string finish_reason = "stop";                 // "stop", "length", "tool_calls"
  std::optional<std::vector<TokenLogprob>> logprobs;  // null in the reply when absent
};

// {"prompt_tokens", "completion_tokens", "total_tokens",
//  "prompt_tokens_details": {"cached_tokens"}}.
Json usage_json(std::int64_t prompt, std::int64_t completion, std::int64_t cached);

// Chat logprobs: {"content": [{"token", "logprob", "bytes", "top_logprobs": [{"token",
// "logprob", "bytes"}]}]}.
Json chat_logprobs_json(std::span<const TokenLogprob> tokens);
// Completions logprobs: {"tokens", "token_logprobs", "top_logprobs": [{token: logprob}],
// "text_offset"}; offsets count bytes of the choice's text from `text_offset` (pass the
// text already sent when streaming, so offsets continue across chunks).
Json text_logprobs_json(std::span<const TokenLogprob> tokens, std::size_t text_offset = 0);

// {"id", "type": "function", "function": {"name", "arguments"}}.
Json tool_call_json(const ToolCallOut& call);

// The whole reply: "chat.completion" or "text_completion" (by head.endpoint). Choices keep
// their own index; `usage` is usage_json's.
Json completion_json(const ReplyHead& head, std::span<const ChoiceOut> choices, const Json& usage);

// Chunks of a streamed reply ("chat.completion.chunk" / "text_completion"), one choice
// each. Chat streams a choice as: chat_role_chunk, then content chunks and tool-call chunks
// in the order they were produced, then chat_finish_chunk; completions streams text_chunks,
// the last with a finish_reason. With stream_options.include_usage, usage_chunk comes last
// of all (choices empty). `logprobs`: chat_logprobs_json / text_logprobs_json or null.
Json chat_role_chunk(const ReplyHead& head, int index);
Json chat_content_chunk(const ReplyHead& head, int index, std::string_view content,
                        const Json& logprobs = nullptr);
Json chat_reasoning_chunk(const ReplyHead& head, int index, std::string_view reasoning);
// A tool call as chunks: {"index": call_index, "id", "type", "function": {"name",
// "arguments": ""}}, then {"index": call_index, "function": {"arguments": piece}} per piece.
std::vector<Json> chat_tool_call_chunks(const ReplyHead& head, int index, int call_index,
                                        const ToolCallOut& call);
Json chat_finish_chunk(const ReplyHead& head, int index, std::string_view finish_reason);
Json text_chunk(const ReplyHead& head, int index, std::string_view text,
                const Json& logprobs = nullptr,
                std::optional<std::string_view> finish_reason = std::nullopt);
Json usage_chunk(const ReplyHead& head, const Json& usage);

// GET /v1/models: {"object": "list", "data": [{"id", "object": "model", "created",
// "owned_by": "agentrt"}]}.
Json model_json(std::string_view name, std::int64_t created);
Json model_list_json(std::span<const std::string> names, std::int64_t created);

// "call_" + 24 random letters and digits.
std::string tool_call_id();
// "chatcmpl-" or "cmpl-" + 24 random letters and digits.
std::string completion_id(OpenAiEndpoint endpoint);

// One server-sent event: "data: " + compact JSON + "\n\n" (never throws).
std::string sse_data(const Json& event);
inline constexpr std::string_view kSseDone = "data: [DONE]\n\n";

// s with every invalid UTF-8 sequence replaced by U+FFFD.
std::string valid_utf8(std::string_view s);
// s split into pieces of about max_bytes, never inside a UTF-8 character.
std::vector<std::string> utf8_pieces(std::string_view s, std::size_t max_bytes);

}  // namespace agentrt::api::openai
