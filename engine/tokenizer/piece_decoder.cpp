#include "engine/tokenizer/piece_decoder.h"

#include "engine/tokenizer/utf8.h"

namespace agentrt::tokenizer {

std::string PieceDecoder::token_text(std::string_view token) const {
  std::string text(token);
  for (const auto& [pattern, content] : replacements_) {
    std::string next;
    std::size_t from = 0;
    for (std::size_t hit = text.find(pattern); hit != std::string::npos;
         hit = text.find(pattern, from)) {
      next.append(text, from, hit - from).append(content);
      from = hit + pattern.size();
    }
    next.append(text, from);
    text.swap(next);
  }
  return text;
}

int PieceDecoder::byte_of(std::string_view text) const {
  if (!byte_fallback_ || text.size() != 6 || !text.starts_with("<0x") || text[5] != '>') return -1;
  // HF parses text[3..5] with u8::from_str_radix(.., 16), which also takes a leading '+'.
  std::string_view digits = text.substr(3, 2);
  if (digits[0] == '+') digits.remove_prefix(1);
  int value = 0;
  for (char c : digits) {
    int d = -1;
    if (c >= '0' && c <= '9') d = c - '0';
    if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
    if (c >= 'A' && c <= 'F') d = c - 'A' + 10;
    if (d < 0) return -1;
    value = value * 16 + d;
  }
  return value;
}

void PieceDecoder::flush_bytes(std::string& run, std::string& out) {
  if (run.empty()) return;
  if (utf8::is_valid(run)) {
    out += run;
  } else {
    for (std::size_t i = 0; i < run.size(); ++i)
      utf8::append(out, utf8::kReplacement);
  }
  run.clear();
}

void PieceDecoder::strip_leading(std::string& text, std::size_t* remaining) const {
  std::size_t cut = 0;
  while (*remaining > 0 && cut < text.size()) {
    if (text.compare(cut, strip_char_.size(), strip_char_) != 0) {
      *remaining = 0;
      break;
    }
    cut += strip_char_.size();
    --*remaining;
  }
  text.erase(0, cut);
}

}  // namespace agentrt::tokenizer
