// The SentencePiece-style decoder chain of a tokenizer.json (Llama 2, Mistral, Gemma):
// Sequence[Replace("▁", " "), ByteFallback, Fuse, Strip(" ", start, 0)]. Replace runs on
// every token's text, ByteFallback turns runs of "<0xXX>" tokens into text, Fuse joins all
// tokens and Strip removes leading copies of one char from the joined text.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace agentrt::tokenizer {

class PieceDecoder {
 public:
  void add_replace(std::string pattern, std::string content) {
    replacements_.emplace_back(std::move(pattern), std::move(content));
  }
  void set_byte_fallback() { byte_fallback_ = true; }
  // Strip: removes up to count leading copies of the one-char string ch from the joined text.
  void set_strip(std::string ch, std::size_t count) {
    strip_char_ = std::move(ch);
    strip_count_ = count;
  }

  // A token's text after the Replace steps.
  std::string token_text(std::string_view token) const;
  // The byte that ByteFallback decodes from text ("<0x41>" -> 0x41), or -1 when text is not
  // a byte token (or ByteFallback is not in the chain).
  int byte_of(std::string_view text) const;
  std::size_t strip_count() const { return strip_count_; }

  // Appends a run of byte tokens' bytes as ByteFallback does: unchanged when it is valid
  // UTF-8, else one U+FFFD per byte; then clears run.
  static void flush_bytes(std::string& run, std::string& out);
  // Removes from the start of text up to *remaining strip chars, decrementing *remaining; sets
  // it to 0 once text starts with another char (the strip is over for the stream).
  void strip_leading(std::string& text, std::size_t* remaining) const;

 private:
  std::vector<std::pair<std::string, std::string>> replacements_;
  bool byte_fallback_ = false;
  std::string strip_char_;
  std::size_t strip_count_ = 0;
};

}  // namespace agentrt::tokenizer
