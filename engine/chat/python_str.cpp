#include "engine/chat/python_str.h"

#include <cstdint>

namespace agentrt::chat::py {
namespace {

// Python's str.isspace: Unicode White_Space plus the ASCII separators 0x1C-0x1F.
bool is_space(char32_t c) {
  if (c <= 0x20) return c == 0x20 || (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x1F);
  return c == 0x85 || c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 ||
         c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

// Decodes the code point starting at s[i] (assumes valid UTF-8; invalid bytes decode as
// themselves, which are never whitespace above 0x7F). Returns its length.
std::size_t decode_at(std::string_view s, std::size_t i, char32_t* cp) {
  const auto c = static_cast<unsigned char>(s[i]);
  std::size_t n = c < 0x80 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
  if (i + n > s.size()) n = 1;
  if (n == 1) {
    *cp = c;
    return 1;
  }
  char32_t v = c & (0x7F >> n);
  for (std::size_t k = 1; k < n; ++k)
    v = (v << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
  *cp = v;
  return n;
}

}  // namespace

std::string_view lstrip(std::string_view s, std::string_view chars) {
  const std::size_t p = s.find_first_not_of(chars);
  return p == std::string_view::npos ? std::string_view() : s.substr(p);
}

std::string_view rstrip(std::string_view s, std::string_view chars) {
  const std::size_t p = s.find_last_not_of(chars);
  return p == std::string_view::npos ? std::string_view() : s.substr(0, p + 1);
}

std::string_view strip(std::string_view s, std::string_view chars) {
  return rstrip(lstrip(s, chars), chars);
}

std::string_view strip_whitespace(std::string_view s) {
  std::size_t begin = 0;
  while (begin < s.size()) {
    char32_t cp = 0;
    const std::size_t n = decode_at(s, begin, &cp);
    if (!is_space(cp)) break;
    begin += n;
  }
  std::size_t end = s.size();
  while (end > begin) {
    std::size_t start = end - 1;
    while (start > begin && (static_cast<unsigned char>(s[start]) & 0xC0) == 0x80)
      --start;
    char32_t cp = 0;
    decode_at(s, start, &cp);
    if (!is_space(cp)) break;
    end = start;
  }
  return s.substr(begin, end - begin);
}

}  // namespace agentrt::chat::py
