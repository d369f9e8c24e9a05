#include "engine/tokenizer/utf8.h"

namespace agentrt::tokenizer::utf8 {
namespace {

// Length of the valid prefix of a sequence starting at text[pos] (Rust/Unicode "maximal
// subpart" rules), and whether it is complete. A lead byte alone counts as prefix length 1.
struct Prefix {
  std::size_t valid = 0;  // bytes consumed that belong to a (possibly incomplete) sequence
  bool complete = false;
};

Prefix scan(std::string_view s, std::size_t pos) {
  auto b = [&](std::size_t i) { return static_cast<unsigned char>(s[pos + i]); };
  const unsigned char c = b(0);
  if (c < 0x80) return {1, true};
  std::size_t need = 0;
  unsigned char lo = 0x80, hi = 0xBF;
  if (c >= 0xC2 && c <= 0xDF) {
    need = 1;
  } else if (c >= 0xE0 && c <= 0xEF) {
    need = 2;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    need = 3;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
  } else {
    return {0, false};
  }
  std::size_t i = 1;
  for (; i <= need; ++i) {
    if (pos + i >= s.size()) return {i, false};
    const unsigned char x = b(i);
    const unsigned char l = i == 1 ? lo : 0x80, h = i == 1 ? hi : 0xBF;
    if (x < l || x > h) return {i, false};
  }
  return {i, true};
}

}  // namespace

std::size_t decode(std::string_view text, std::size_t pos, char32_t* cp) {
  const Prefix p = scan(text, pos);
  if (!p.complete) return 0;
  const auto* u = reinterpret_cast<const unsigned char*>(text.data() + pos);
  switch (p.valid) {
    case 1:
      *cp = u[0];
      break;
    case 2:
      *cp = (char32_t(u[0] & 0x1F) << 6) | (u[1] & 0x3F);
      break;
    case 3:
      *cp = (char32_t(u[0] & 0x0F) << 12) | (char32_t(u[1] & 0x3F) << 6) | (u[2] & 0x3F);
      break;
    default:
      *cp = (char32_t(u[0] & 0x07) << 18) | (char32_t(u[1] & 0x3F) << 12) |
            (char32_t(u[2] & 0x3F) << 6) | (u[3] & 0x3F);
  }
  return p.valid;
}

void append(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

bool is_valid(std::string_view text) {
  for (std::size_t i = 0; i < text.size();) {
    const Prefix p = scan(text, i);
    if (!p.complete) return false;
    i += p.valid;
  }
  return true;
}

std::string to_lossy(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  for (std::size_t i = 0; i < bytes.size();) {
    const Prefix p = scan(bytes, i);
    if (p.complete) {
      out.append(bytes.substr(i, p.valid));
      i += p.valid;
    } else {
      append(out, kReplacement);
      i += p.valid == 0 ? 1 : p.valid;
    }
  }
  return out;
}

std::size_t incomplete_suffix(std::string_view bytes) {
  // A sequence is at most 4 bytes, so only a lead byte among the last 3 can start one.
  const std::size_t n = bytes.size();
  for (std::size_t back = 1; back <= 3 && back <= n; ++back) {
    const std::size_t pos = n - back;
    const auto c = static_cast<unsigned char>(bytes[pos]);
    if ((c & 0xC0) == 0x80) continue;  // continuation byte: look further back
    const Prefix p = scan(bytes, pos);
    return (!p.complete && pos + p.valid == n) ? back : 0;
  }
  return 0;
}

}  // namespace agentrt::tokenizer::utf8
