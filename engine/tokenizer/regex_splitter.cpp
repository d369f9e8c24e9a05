#include "engine/tokenizer/regex_splitter.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <algorithm>

namespace agentrt::tokenizer {

struct RegexSplitter::Code {
  pcre2_code* code = nullptr;
  bool jit = false;
  ~Code() { pcre2_code_free(code); }
};

namespace {

// One match-data block per thread, grown on demand; freed at thread exit.
struct MatchData {
  pcre2_match_data* data = nullptr;
  ~MatchData() { pcre2_match_data_free(data); }
};
thread_local MatchData match_data;

}  // namespace

Result<RegexSplitter> RegexSplitter::compile(const std::string& pattern) {
  int error = 0;
  PCRE2_SIZE offset = 0;
  const uint32_t options = PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF;
  pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                                   options, &error, &offset, nullptr);
  if (code == nullptr) {
    PCRE2_UCHAR buffer[256];
    pcre2_get_error_message(error, buffer, sizeof(buffer));
    return make_error(ErrorCode::parse,
                      "bad regex: " + std::string(reinterpret_cast<char*>(buffer)) + " at offset " +
                          std::to_string(offset));
  }
  auto holder = std::make_shared<Code>();
  holder->code = code;
  holder->jit = pcre2_jit_compile(code, PCRE2_JIT_COMPLETE) == 0;
  RegexSplitter splitter;
  splitter.pattern_ = pattern;
  splitter.code_ = std::move(holder);
  return splitter;
}

void RegexSplitter::split(std::string_view text, SplitBehavior behavior,
                          std::vector<std::string_view>& out) const {
  if (behavior == SplitBehavior::isolated) return split(text, out);
  struct Span {
    std::size_t start, end;
    bool match;
  };
  std::vector<Span> spans;
  if (match_data.data == nullptr) match_data.data = pcre2_match_data_create(4, nullptr);
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  std::size_t pos = 0, gap_start = 0;
  while (pos < text.size()) {
    const int rc =
        code_->jit
            ? pcre2_jit_match(code_->code, subject, text.size(), pos, 0, match_data.data, nullptr)
            : pcre2_match(code_->code, subject, text.size(), pos, 0, match_data.data, nullptr);
    if (rc < 0) break;
    const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(match_data.data);
    const std::size_t start = ov[0], end = ov[1];
    if (end <= start) {
      pos = start + 1;
      while (pos < text.size() && (static_cast<unsigned char>(text[pos]) & 0xC0) == 0x80)
        ++pos;
      continue;
    }
    if (start > gap_start) spans.push_back({gap_start, start, false});
    spans.push_back({start, end, true});
    gap_start = pos = end;
  }
  if (gap_start < text.size()) spans.push_back({gap_start, text.size(), false});
  std::vector<Span> merged;
  bool previous_match = false;
  if (behavior == SplitBehavior::merged_with_next) {
    for (auto it = spans.rbegin(); it != spans.rend(); ++it) {
      if (it->match && !previous_match && !merged.empty()) {
        merged.back().start = it->start;
      } else {
        merged.push_back(*it);
      }
      previous_match = it->match;
    }
    std::reverse(merged.begin(), merged.end());
  } else {
    for (const Span& s : spans) {
      const bool join = behavior == SplitBehavior::merged_with_previous
                            ? s.match && !previous_match
                            : behavior == SplitBehavior::contiguous && s.match && previous_match;
      if (behavior == SplitBehavior::removed && s.match) {
        // dropped
      } else if (join && !merged.empty()) {
        merged.back().end = s.end;
      } else {
        merged.push_back(s);
      }
      previous_match = s.match;
    }
  }
  for (const Span& s : merged)
    out.push_back(text.substr(s.start, s.end - s.start));
}

void RegexSplitter::split(std::string_view text, std::vector<std::string_view>& out) const {
  if (match_data.data == nullptr) match_data.data = pcre2_match_data_create(4, nullptr);
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  std::size_t pos = 0, gap_start = 0;
  while (pos < text.size()) {
    const int rc =
        code_->jit
            ? pcre2_jit_match(code_->code, subject, text.size(), pos, 0, match_data.data, nullptr)
            : pcre2_match(code_->code, subject, text.size(), pos, 0, match_data.data, nullptr);
    if (rc < 0) break;  // no further match (or a resource error: the rest is one gap)
    const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(match_data.data);
    const std::size_t start = ov[0], end = ov[1];
    if (end <= start) {  // empty match: step over one code unit sequence
      pos = start + 1;
      while (pos < text.size() && (static_cast<unsigned char>(text[pos]) & 0xC0) == 0x80)
        ++pos;
      continue;
    }
    if (start > gap_start) out.push_back(text.substr(gap_start, start - gap_start));
    out.push_back(text.substr(start, end - start));
    gap_start = pos = end;
  }
  if (gap_start < text.size()) out.push_back(text.substr(gap_start));
}

}  // namespace agentrt::tokenizer
