// Jinja lexer with the reference renderer's rules (@huggingface/jinja's tokenize with
// lstrip_blocks and trim_blocks on, as its Template does): a trailing newline is dropped,
// spaces and tabs before a block tag at line start are stripped, the newline after a block
// tag is removed, `{%-`/`-%}` trim whitespace, and transformers' {% generation %} tags vanish.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "engine/common/result.h"

namespace agentrt::chat::jinja {

enum class Tok {
  text,
  number,
  string,
  identifier,
  equals,
  open_paren,
  close_paren,
  open_statement,
  close_statement,
  open_expression,
  close_expression,
  open_square,
  close_square,
  open_curly,
  close_curly,
  comma,
  dot,
  colon,
  pipe,
  additive,        // + - ~
  multiplicative,  // * / // %
  power,           // **
  comparison,      // < > <= >= == !=
  unary,           // a lone - or + before an operand
  comment,
};
const char* to_string(Tok t);

struct Token {
  Tok type;
  std::string value;
  std::size_t offset = 0;  // byte offset of the token in the original template text
};

// "LINE:COL" (1-based; COL counts bytes) of a byte offset in text.
std::string line_col(std::string_view text, std::size_t offset);

// Tokenizes template text. Errors name "SOURCE:LINE:COL".
Result<std::vector<Token>> tokenize(std::string_view text, const std::string& source);

// Character classes shared by the lexer and the string builtins. decode_utf8 decodes the
// UTF-8 code point at s[i] into *cp (invalid bytes decode as themselves) and returns its
// length; js_space is JavaScript's /\s/ (what trim() and the reference's lexer treat as
// whitespace); is_word_char is [0-9A-Za-z_].
std::size_t decode_utf8(std::string_view s, std::size_t i, char32_t* cp);
bool js_space(char32_t c);
bool is_word_char(char c);

}  // namespace agentrt::chat::jinja
