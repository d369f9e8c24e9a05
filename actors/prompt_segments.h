// Prompt segments (issue 21): text the runtime knows recurs in other agents' prompts (a
// step output or map item templated into a step, a tool result quoted to another agent, a
// document from the workflow's input, a chat message), found as byte ranges of a message's
// text and turned into token spans of the rendered, tokenized prompt for
// EngineRequest::segments. Pure functions; any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/chat/conversation.h"
#include "engine/prompt_segment.h"
#include "engine/tokenizer/tokenizer.h"

namespace agentrt::actors {

// Bytes [begin, end) of a text.
struct TextSpan {
  std::size_t begin = 0;
  std::size_t end = 0;
  friend bool operator==(const TextSpan&, const TextSpan&) = default;
};

// Spans shorter than this many tokens are not worth placing (AgentSpec::min_segment_tokens).
inline constexpr int kMinSegmentTokens = 16;

// Sorted, disjoint spans from `outer` (e.g. templated values) and `inner` (e.g. tool
// results found inside them): where an inner span overlaps an outer one, the inner span is
// kept and the outer one is cut around it; overlapping spans of one list are merged.
std::vector<TextSpan> merge_spans(std::vector<TextSpan> outer, std::vector<TextSpan> inner);

// Every place `needle` occurs in `text`, without overlaps (none for an empty needle).
std::vector<TextSpan> find_all(std::string_view text, std::string_view needle);

// `spans` of a message's `content`, placed in the rendered prompt `rendered`: where the
// content occurs verbatim (its last occurrence when `last`, else its first at or after
// `from`), the spans shifted there; otherwise (a template that trims or rewrites content)
// each span's own text where it occurs in the same way. `*end` (when given) receives the
// end of the content's place (`from` when not found).
std::vector<TextSpan> place_spans(std::string_view rendered, std::string_view content,
                                  std::span<const TextSpan> spans, std::size_t from, bool last,
                                  std::size_t* end = nullptr);

// The content of each of `messages` where it lies in `rendered` (their rendering), in
// order: a message whose content the template does not write verbatim is left out.
std::vector<TextSpan> place_messages(std::string_view rendered,
                                     const std::vector<chat::Message>& messages);

// Token spans of `tokens` (tok's encoding of `text`): for each byte range of `text`, the
// whole tokens whose bytes lie inside it, less its first and last word (from its first
// whitespace to its last), whose tokens depend on the text around it: the same value gives
// the same tokens in every prompt, as the segment cache's keys need. Spans of fewer than
// `min_tokens` tokens are dropped. Sorted and disjoint when `ranges` are.
std::vector<PromptSegment> token_spans(const tokenizer::Tokenizer& tok,
                                       std::span<const std::int32_t> tokens, std::string_view text,
                                       std::span<const TextSpan> ranges, int min_tokens);

// Token spans of `tokens` where each of `texts` (e.g. tool results appended on a resumed
// turn) occurs in their decoding, as token_spans gives them: each text is searched after
// the place of the last one found, and one not found there is skipped. Sorted, disjoint.
std::vector<PromptSegment> text_segments(const tokenizer::Tokenizer& tok,
                                         std::span<const std::int32_t> tokens,
                                         std::span<const std::string> texts, int min_tokens);

}  // namespace agentrt::actors
