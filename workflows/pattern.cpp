#include "workflows/pattern.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

namespace agentrt::workflows {

struct Pattern::Code {
  pcre2_code* code = nullptr;
  ~Code() { pcre2_code_free(code); }
};

namespace {

struct MatchData {
  pcre2_match_data* data;
  explicit MatchData(const pcre2_code* code)
      : data(pcre2_match_data_create_from_pattern(code, nullptr)) {}
  ~MatchData() { pcre2_match_data_free(data); }
};

}  // namespace

Result<Pattern> Pattern::compile(const std::string& pattern) {
  int error = 0;
  PCRE2_SIZE offset = 0;
  pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                                   PCRE2_UTF | PCRE2_MATCH_INVALID_UTF, &error, &offset, nullptr);
  if (code == nullptr) {
    PCRE2_UCHAR buffer[256];
    pcre2_get_error_message(error, buffer, sizeof(buffer));
    return make_error(ErrorCode::parse,
                      "bad regex: " + std::string(reinterpret_cast<char*>(buffer)) + " at offset " +
                          std::to_string(offset));
  }
  auto holder = std::make_shared<Code>();
  holder->code = code;
  Pattern p;
  p.source_ = pattern;
  p.code_ = std::move(holder);
  return p;
}

std::optional<std::string> Pattern::extract_last(std::string_view text) const {
  if (!code_) return std::nullopt;
  MatchData md(code_->code);
  if (md.data == nullptr) return std::nullopt;
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  std::optional<std::string> last;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    const int rc = pcre2_match(code_->code, subject, text.size(), pos, 0, md.data, nullptr);
    if (rc < 0) break;
    const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md.data);
    const bool group = rc >= 2 && ov[2] != PCRE2_UNSET;
    const std::size_t b = group ? ov[2] : ov[0], e = group ? ov[3] : ov[1];
    last = std::string(text.substr(b, e - b));
    pos = ov[1] > ov[0] ? ov[1] : ov[0] + 1;
    while (pos < text.size() && (static_cast<unsigned char>(text[pos]) & 0xC0) == 0x80)
      ++pos;  // an empty match: step over a whole UTF-8 character
  }
  return last;
}

bool Pattern::matches(std::string_view text) const {
  if (!code_) return false;
  MatchData md(code_->code);
  if (md.data == nullptr) return false;
  return pcre2_match(code_->code, reinterpret_cast<PCRE2_SPTR>(text.data()), text.size(), 0, 0,
                     md.data, nullptr) >= 0;
}

}  // namespace agentrt::workflows
