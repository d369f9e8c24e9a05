#include "actors/prompt_segments.h"

#include <algorithm>

namespace agentrt::actors {
namespace {

// Sorted by begin, overlapping or touching spans joined, empty ones dropped.
std::vector<TextSpan> normalized(std::vector<TextSpan> s) {
  std::erase_if(s, [](const TextSpan& x) { return x.end <= x.begin; });
  std::sort(s.begin(), s.end(), [](const TextSpan& a, const TextSpan& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end > b.end;
  });
  std::vector<TextSpan> out;
  for (const auto& x : s) {
    if (!out.empty() && x.begin < out.back().end) {
      out.back().end = std::max(out.back().end, x.end);
      continue;
    }
    out.push_back(x);
  }
  return out;
}

bool is_space(char c) {
  return c == ' ' || c == '\n' || c == '\t' || c == '\r';
}

// The part of `r` whose tokens do not depend on the text around it: from its first
// whitespace to its last. A BPE pre-tokenizer attaches the space before a word to that word
// and may merge punctuation with letters after it, so the value's first word tokenizes
// differently after "\n" than after "Question: " (" Kate" vs "Kate"), and its last word may
// merge with what follows; the words between are the same tokens in every prompt, which
// the segment cache's keys (exact tokens) need. A value without inner whitespace is kept
// whole.
TextSpan stable_part(std::string_view text, TextSpan r) {
  std::size_t lo = r.begin + 1;
  while (lo < r.end && !is_space(text[lo]))
    ++lo;
  std::size_t hi = r.end;
  while (hi > lo && !is_space(text[hi - 1]))
    --hi;
  if (lo >= r.end || hi < lo + 2) return r;  // one or two words: whole
  return {lo, hi - 1};
}

}  // namespace

std::vector<TextSpan> merge_spans(std::vector<TextSpan> outer, std::vector<TextSpan> inner) {
  inner = normalized(std::move(inner));
  std::vector<TextSpan> out = inner;
  for (const auto& o : normalized(std::move(outer))) {
    std::size_t at = o.begin;  // the part of `o` not yet covered
    for (const auto& i : inner) {
      if (i.end <= at || i.begin >= o.end) continue;
      if (i.begin > at) out.push_back({at, i.begin});
      at = std::max(at, i.end);
    }
    if (at < o.end) out.push_back({at, o.end});
  }
  std::sort(out.begin(), out.end(),
            [](const TextSpan& a, const TextSpan& b) { return a.begin < b.begin; });
  return out;
}

std::vector<TextSpan> find_all(std::string_view text, std::string_view needle) {
  std::vector<TextSpan> out;
  if (needle.empty()) return out;
  for (auto at = text.find(needle); at != std::string_view::npos;
       at = text.find(needle, at + needle.size()))
    out.push_back({at, at + needle.size()});
  return out;
}

std::vector<TextSpan> place_spans(std::string_view rendered, std::string_view content,
                                  std::span<const TextSpan> spans, std::size_t from, bool last,
                                  std::size_t* end) {
  if (end) *end = from;
  std::vector<TextSpan> out;
  if (content.empty()) return out;
  const std::size_t at = last ? rendered.rfind(content) : rendered.find(content, from);
  if (at != std::string_view::npos && (!last || at >= from)) {
    if (end) *end = at + content.size();
    for (const auto& s : spans)
      if (s.begin < s.end && s.end <= content.size()) out.push_back({at + s.begin, at + s.end});
    return out;
  }
  for (const auto& s : spans) {
    if (s.begin >= s.end || s.end > content.size()) continue;
    const auto piece = content.substr(s.begin, s.end - s.begin);
    const std::size_t p = last ? rendered.rfind(piece) : rendered.find(piece, from);
    if (p != std::string_view::npos && p >= from) out.push_back({p, p + piece.size()});
  }
  return out;
}

std::vector<TextSpan> place_messages(std::string_view rendered,
                                     const std::vector<chat::Message>& messages) {
  std::vector<TextSpan> out;
  std::size_t at = 0;
  for (const auto& m : messages) {
    const TextSpan whole{0, m.content.size()};
    auto placed = place_spans(rendered, m.content, std::span(&whole, 1), at, false, &at);
    out.insert(out.end(), placed.begin(), placed.end());
  }
  return out;
}

std::vector<PromptSegment> token_spans(const tokenizer::Tokenizer& tok,
                                       std::span<const std::int32_t> tokens, std::string_view text,
                                       std::span<const TextSpan> ranges, int min_tokens) {
  std::vector<PromptSegment> out;
  if (ranges.empty() || tokens.empty()) return out;
  // Each token's bytes, and where it starts in their concatenation.
  std::string joined;
  std::vector<std::size_t> start(tokens.size() + 1, 0);
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    start[i] = joined.size();
    if (!tok.decode_bytes(tokens.subspan(i, 1), false, joined).ok()) return out;
  }
  start[tokens.size()] = joined.size();
  const bool same = joined == text;
  std::size_t from = 0;
  for (const auto& r : ranges) {
    if (r.begin >= r.end || r.end > text.size()) continue;
    TextSpan b = r;
    if (!same) {  // e.g. a SentencePiece prefix space: find the range's text in the bytes
      const auto piece = text.substr(r.begin, r.end - r.begin);
      const std::size_t p = joined.find(piece, std::max(from, r.begin > 16 ? r.begin - 16 : 0));
      if (p == std::string::npos) continue;
      b = {p, p + piece.size()};
    }
    from = b.end;
    b = stable_part(joined, b);
    // Tokens [first, stop): the first starts at or after b.begin, and each ends (where the
    // next starts) at or before b.end.
    const auto first = std::lower_bound(start.begin(), start.end(), b.begin) - start.begin();
    const auto stop = std::upper_bound(start.begin(), start.end(), b.end) - start.begin() - 1;
    const auto first_i = static_cast<std::int32_t>(first);
    const auto end_i = static_cast<std::int32_t>(stop);
    if (end_i - first_i >= min_tokens) out.push_back({first_i, end_i});
  }
  return out;
}

std::vector<PromptSegment> text_segments(const tokenizer::Tokenizer& tok,
                                         std::span<const std::int32_t> tokens,
                                         std::span<const std::string> texts, int min_tokens) {
  std::string text;
  if (texts.empty() || !tok.decode_bytes(tokens, false, text).ok()) return {};
  std::vector<TextSpan> ranges;
  std::size_t from = 0;
  for (const auto& t : texts) {
    if (t.empty()) continue;
    const std::size_t at = text.find(t, from);
    if (at == std::string::npos) continue;
    ranges.push_back({at, at + t.size()});
    from = at + t.size();
  }
  return token_spans(tok, tokens, text, ranges, min_tokens);
}

}  // namespace agentrt::actors
