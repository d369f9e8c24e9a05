// UTF-8 helpers shared by the tokenizer: decoding one code point, encoding, and the lossy
// conversion that matches Rust's String::from_utf8_lossy (what HF `decode` returns).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace agentrt::tokenizer::utf8 {

inline constexpr char32_t kReplacement = 0xFFFD;

// Decodes the code point at text[pos]. On success returns its length (1-4) and sets *cp; on
// an invalid or truncated sequence returns 0 and leaves *cp unspecified.
std::size_t decode(std::string_view text, std::size_t pos, char32_t* cp);

// Appends the UTF-8 encoding of cp (must be a valid scalar value).
void append(std::string& out, char32_t cp);

// True when every byte of text forms valid UTF-8.
bool is_valid(std::string_view text);

// Copies bytes, replacing each maximal invalid subsequence with U+FFFD, exactly as Rust's
// String::from_utf8_lossy does.
std::string to_lossy(std::string_view bytes);

// Length of the longest suffix of bytes that is a proper prefix of a valid UTF-8 sequence
// (a character that more bytes could still complete); 0 when none.
std::size_t incomplete_suffix(std::string_view bytes);

}  // namespace agentrt::tokenizer::utf8
