#include "engine/chat/jinja/lexer.h"

#include <array>
#include <cstdint>
#include <utility>

namespace agentrt::chat::jinja {
std::size_t decode_utf8(std::string_view s, std::size_t i, char32_t* cp) {
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

bool js_space(char32_t c) {
  return c == ' ' || (c >= 0x09 && c <= 0x0D) || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F ||
         c == 0x3000 || c == 0xFEFF;
}

bool is_word_char(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

namespace {

// Length of the whitespace character at s[i], 0 when it is not whitespace.
std::size_t space_at(std::string_view s, std::size_t i) {
  if (i >= s.size()) return 0;
  char32_t cp = 0;
  const std::size_t n = decode_utf8(s, i, &cp);
  return js_space(cp) ? n : 0;
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

// Text after preprocessing, with each byte's offset in the original.
struct Source {
  std::string text;
  std::vector<std::size_t> at;
  void push(char c, std::size_t offset) {
    text.push_back(c);
    at.push_back(offset);
  }
};

bool line_start(const Source& s) {
  if (s.text.empty()) return true;
  const char c = s.text.back();
  if (c == '\n' || c == '\r') return true;
  // U+2028 / U+2029 end lines for JavaScript's multiline ^.
  const std::size_t n = s.text.size();
  return n >= 3 && static_cast<unsigned char>(s.text[n - 3]) == 0xE2 &&
         static_cast<unsigned char>(s.text[n - 2]) == 0x80 &&
         (static_cast<unsigned char>(s.text[n - 1]) == 0xA8 ||
          static_cast<unsigned char>(s.text[n - 1]) == 0xA9);
}

// Matches `{%(-?)\s*(?:end)?generation\s*(-?)%}` at i; returns its end (0: no match).
std::size_t generation_tag(std::string_view s, std::size_t i, bool* lstrip, bool* rstrip) {
  if (s.substr(i, 2) != "{%") return 0;
  std::size_t p = i + 2;
  *lstrip = p < s.size() && s[p] == '-';
  if (*lstrip) ++p;
  while (std::size_t n = space_at(s, p))
    p += n;
  if (s.substr(p, 3) == "end") p += 3;
  if (s.substr(p, 10) != "generation") return 0;
  p += 10;
  while (std::size_t n = space_at(s, p))
    p += n;
  *rstrip = p < s.size() && s[p] == '-';
  if (*rstrip) ++p;
  if (s.substr(p, 2) != "%}") return 0;
  return p + 2;
}

Source preprocess(std::string_view text) {
  if (!text.empty() && text.back() == '\n') text.remove_suffix(1);
  // lstrip_blocks: /^[ \t]*({[#%-])/gm -> "$1"
  Source a;
  for (std::size_t i = 0; i < text.size();) {
    if (line_start(a) && (text[i] == ' ' || text[i] == '\t')) {
      std::size_t j = i;
      while (j < text.size() && (text[j] == ' ' || text[j] == '\t'))
        ++j;
      if (j + 1 < text.size() && text[j] == '{' &&
          (text[j + 1] == '#' || text[j + 1] == '%' || text[j + 1] == '-')) {
        i = j;
        a.push(text[i], i);
        ++i;
        continue;
      }
      for (; i < j; ++i)
        a.push(text[i], i);
      continue;
    }
    a.push(text[i], i);
    ++i;
  }
  // trim_blocks: /([#%-]})\n/g -> "$1"
  Source b;
  for (std::size_t i = 0; i < a.text.size();) {
    const char c = a.text[i];
    if ((c == '#' || c == '%' || c == '-') && i + 2 < a.text.size() && a.text[i + 1] == '}' &&
        a.text[i + 2] == '\n') {
      b.push(c, a.at[i]);
      b.push('}', a.at[i + 1]);
      i += 3;
      continue;
    }
    b.push(c, a.at[i]);
    ++i;
  }
  // {% generation %} / {% endgeneration %}: removed, with the whitespace around kept unless
  // the tag's own '-' strips it.
  Source c;
  const std::string_view s = b.text;
  std::size_t last_end = 0;  // end of the previous match: a whitespace run cannot cross it
  for (std::size_t i = 0; i < s.size();) {
    bool lstrip = false;
    bool rstrip = false;
    const std::size_t end = s[i] == '{' ? generation_tag(s, i, &lstrip, &rstrip) : 0;
    if (end == 0) {
      c.push(s[i], b.at[i]);
      ++i;
      continue;
    }
    if (lstrip) {
      // Drop the whitespace run before the tag (already copied).
      std::size_t k = c.text.size();
      std::size_t start = i;
      while (start > last_end) {
        std::size_t q = start - 1;
        while (q > last_end && (static_cast<unsigned char>(s[q]) & 0xC0) == 0x80)
          --q;
        if (space_at(s, q) != start - q) break;
        k -= start - q;
        start = q;
      }
      c.text.resize(k);
      c.at.resize(k);
    }
    std::size_t after = end;
    while (std::size_t n = space_at(s, after))
      after += n;
    if (!rstrip)
      for (std::size_t q = end; q < after; ++q)
        c.push(s[q], b.at[q]);
    i = after;
    last_end = after;
  }
  return c;
}

struct Lexer {
  const Source& src;
  std::string_view original;
  const std::string& source;
  std::vector<Token> tokens;
  std::size_t pos = 0;
  int curly_depth = 0;

  std::string_view s() const { return src.text; }
  std::size_t orig(std::size_t p) const { return p < src.at.size() ? src.at[p] : original.size(); }
  Error error(std::size_t p, const std::string& msg) const {
    return make_error(ErrorCode::parse, source + ":" + line_col(original, orig(p)) + ": " + msg);
  }
  Tok last() const { return tokens.back().type; }
  void push(Tok t, std::string v, std::size_t at) { tokens.push_back({t, std::move(v), orig(at)}); }

  // The reference's consumeWhile: backslash escapes; reaching the end is an error.
  template <class Pred>
  Result<std::string> consume_while(Pred pred) {
    std::string out;
    while (pos < s().size() && pred(s()[pos])) {
      if (s()[pos] == '\\') {
        ++pos;
        if (pos >= s().size()) return error(pos, "Unexpected end of input");
        const char e = s()[pos++];
        if (e == 'x' || e == 'u') {
          const std::size_t len = e == 'x' ? 2 : 4;
          const std::string_view hex = s().substr(pos, len);
          std::uint32_t cp = 0;
          for (char h : hex) {
            const int d = is_digit(h)              ? h - '0'
                          : (h >= 'a' && h <= 'f') ? h - 'a' + 10
                          : (h >= 'A' && h <= 'F') ? h - 'A' + 10
                                                   : -1;
            if (d < 0) return error(pos, "Invalid hexadecimal escape sequence");
            cp = cp * 16 + static_cast<std::uint32_t>(d);
          }
          if (hex.size() != len) return error(pos, "Invalid hexadecimal escape sequence");
          append_utf8(cp, out);
          pos += len;
          continue;
        }
        static constexpr std::array<std::pair<char, char>, 9> kEscapes{{{'n', '\n'},
                                                                        {'t', '\t'},
                                                                        {'r', '\r'},
                                                                        {'b', '\b'},
                                                                        {'f', '\f'},
                                                                        {'v', '\v'},
                                                                        {'\'', '\''},
                                                                        {'"', '"'},
                                                                        {'\\', '\\'}}};
        bool found = false;
        for (auto [k, v] : kEscapes)
          if (k == e) {
            out.push_back(v);
            found = true;
          }
        if (!found) return error(pos - 1, std::string("Unexpected escaped character: ") + e);
        continue;
      }
      out.push_back(s()[pos++]);
      if (pos >= s().size()) return error(pos, "Unexpected end of input");
    }
    return out;
  }

  static void append_utf8(std::uint32_t cp, std::string& out) {
    if (cp < 0x80) {
      out.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
      out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
  }

  void strip_trailing_whitespace() {
    if (tokens.empty() || last() != Tok::text) return;
    std::string& v = tokens.back().value;
    std::size_t end = v.size();
    while (end > 0) {
      std::size_t start = end - 1;
      while (start > 0 && (static_cast<unsigned char>(v[start]) & 0xC0) == 0x80)
        --start;
      if (space_at(v, start) != end - start) break;
      end = start;
    }
    v.resize(end);
    if (v.empty()) tokens.pop_back();
  }
  void skip_leading_whitespace() {
    while (std::size_t n = space_at(s(), pos))
      pos += n;
  }

  Status run();
  Status one();
};

Status Lexer::run() {
  while (pos < s().size())
    AGENTRT_TRY(one());
  return ok_status();
}

Status Lexer::one() {
  const std::string_view t = s();
  if (tokens.empty() || last() == Tok::close_statement || last() == Tok::close_expression ||
      last() == Tok::comment) {
    const std::size_t start = pos;
    while (pos < t.size() && !(t[pos] == '{' && pos + 1 < t.size() &&
                               (t[pos + 1] == '%' || t[pos + 1] == '{' || t[pos + 1] == '#')))
      ++pos;
    if (pos > start) {
      push(Tok::text, std::string(t.substr(start, pos - start)), start);
      return ok_status();
    }
  }
  if (t.substr(pos, 2) == "{#") {
    const std::size_t start = pos;
    pos += 2;
    const bool strip_before = pos < t.size() && t[pos] == '-';
    if (strip_before) ++pos;
    std::string comment;
    while (!(pos + 1 < t.size() && t[pos] == '#' && t[pos + 1] == '}')) {
      if (pos + 2 >= t.size()) return error(start, "Missing end of comment tag");
      comment.push_back(t[pos++]);
    }
    const bool strip_after = !comment.empty() && comment.back() == '-';
    if (strip_after) comment.pop_back();
    if (strip_before) strip_trailing_whitespace();
    push(Tok::comment, std::move(comment), start);
    pos += 2;
    if (strip_after) skip_leading_whitespace();
    return ok_status();
  }
  if (t.substr(pos, 3) == "{%-") {
    strip_trailing_whitespace();
    push(Tok::open_statement, "{%", pos);
    pos += 3;
    return ok_status();
  }
  if (t.substr(pos, 3) == "{{-") {
    strip_trailing_whitespace();
    push(Tok::open_expression, "{{", pos);
    curly_depth = 0;
    pos += 3;
    return ok_status();
  }
  auto ws = consume_while([](char c) { return c == ' ' || (c >= 0x09 && c <= 0x0D); });
  if (!ws.ok()) return ws.error();
  skip_leading_whitespace();  // non-ASCII whitespace inside tags
  if (pos >= t.size()) return ok_status();
  if (t.substr(pos, 3) == "-%}") {
    push(Tok::close_statement, "%}", pos);
    pos += 3;
    skip_leading_whitespace();
    return ok_status();
  }
  if (t.substr(pos, 3) == "-}}") {
    push(Tok::close_expression, "}}", pos);
    pos += 3;
    skip_leading_whitespace();
    return ok_status();
  }
  const char ch = t[pos];
  if (ch == '-' || ch == '+') {
    if (tokens.empty() || last() == Tok::text)
      return error(pos, std::string("Unexpected character: ") + ch);
    const Tok l = last();
    if (l != Tok::identifier && l != Tok::number && l != Tok::string && l != Tok::close_paren &&
        l != Tok::close_square) {
      const std::size_t start = pos;
      ++pos;
      auto num = consume_while(is_digit);
      if (!num.ok()) return num.error();
      if (!num->empty() && pos + 1 < t.size() && t[pos] == '.' && is_digit(t[pos + 1])) {
        ++pos;
        auto frac = consume_while(is_digit);
        if (!frac.ok()) return frac.error();
        *num += "." + *frac;
      }
      push(num->empty() ? Tok::unary : Tok::number, std::string(1, ch) + *num, start);
      return ok_status();
    }
  }
  static constexpr std::array<std::pair<std::string_view, Tok>, 30> kTable{{
      {"{%", Tok::open_statement},
      {"%}", Tok::close_statement},
      {"{{", Tok::open_expression},
      {"}}", Tok::close_expression},
      {"(", Tok::open_paren},
      {")", Tok::close_paren},
      {"{", Tok::open_curly},
      {"}", Tok::close_curly},
      {"[", Tok::open_square},
      {"]", Tok::close_square},
      {",", Tok::comma},
      {".", Tok::dot},
      {":", Tok::colon},
      {"|", Tok::pipe},
      {"<=", Tok::comparison},
      {">=", Tok::comparison},
      {"==", Tok::comparison},
      {"!=", Tok::comparison},
      {"<", Tok::comparison},
      {">", Tok::comparison},
      {"+", Tok::additive},
      {"-", Tok::additive},
      {"~", Tok::additive},
      {"**", Tok::power},
      {"*", Tok::multiplicative},
      {"//", Tok::multiplicative},
      {"/", Tok::multiplicative},
      {"%", Tok::multiplicative},
      {"=", Tok::equals},
      {"", Tok::comment},
  }};
  for (const auto& [seq, type] : kTable) {
    if (seq.empty()) break;
    if (seq == "}}" && curly_depth > 0) continue;
    if (t.substr(pos, seq.size()) != seq) continue;
    push(type, std::string(seq), pos);
    if (type == Tok::open_expression) curly_depth = 0;
    if (type == Tok::open_curly) ++curly_depth;
    if (type == Tok::close_curly) --curly_depth;
    pos += seq.size();
    return ok_status();
  }
  if (ch == '\'' || ch == '"') {
    const std::size_t start = pos;
    ++pos;
    auto str = consume_while([ch](char c) { return c != ch; });
    if (!str.ok()) return str.error();
    push(Tok::string, std::move(*str), start);
    ++pos;
    return ok_status();
  }
  if (is_digit(ch)) {
    const std::size_t start = pos;
    auto num = consume_while(is_digit);
    if (!num.ok()) return num.error();
    if (last() != Tok::dot && pos + 1 < t.size() && t[pos] == '.' && is_digit(t[pos + 1])) {
      ++pos;
      auto frac = consume_while(is_digit);
      if (!frac.ok()) return frac.error();
      *num += "." + *frac;
    }
    push(Tok::number, std::move(*num), start);
    return ok_status();
  }
  if (is_word_char(ch)) {
    const std::size_t start = pos;
    auto word = consume_while(is_word_char);
    if (!word.ok()) return word.error();
    push(Tok::identifier, std::move(*word), start);
    return ok_status();
  }
  return error(pos, std::string("Unexpected character: ") + ch);
}

}  // namespace

const char* to_string(Tok t) {
  static constexpr const char* kNames[] = {"Text",
                                           "NumericLiteral",
                                           "StringLiteral",
                                           "Identifier",
                                           "Equals",
                                           "OpenParen",
                                           "CloseParen",
                                           "OpenStatement",
                                           "CloseStatement",
                                           "OpenExpression",
                                           "CloseExpression",
                                           "OpenSquareBracket",
                                           "CloseSquareBracket",
                                           "OpenCurlyBracket",
                                           "CloseCurlyBracket",
                                           "Comma",
                                           "Dot",
                                           "Colon",
                                           "Pipe",
                                           "AdditiveBinaryOperator",
                                           "MultiplicativeBinaryOperator",
                                           "ExponentiationBinaryOperator",
                                           "ComparisonBinaryOperator",
                                           "UnaryOperator",
                                           "Comment"};
  return kNames[static_cast<int>(t)];
}

std::string line_col(std::string_view text, std::size_t offset) {
  std::size_t line = 1;
  std::size_t col = 1;
  for (std::size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      col = 1;
    } else {
      ++col;
    }
  }
  return std::to_string(line) + ":" + std::to_string(col);
}

Result<std::vector<Token>> tokenize(std::string_view text, const std::string& source) {
  const Source src = preprocess(text);
  Lexer lexer{src, text, source, {}};
  AGENTRT_TRY(lexer.run());
  return std::move(lexer.tokens);
}

}  // namespace agentrt::chat::jinja
