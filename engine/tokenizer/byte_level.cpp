#include "engine/tokenizer/byte_level.h"

#include "engine/tokenizer/utf8.h"

namespace agentrt::tokenizer {

const ByteLevelAlphabet& ByteLevelAlphabet::get() {
  static const ByteLevelAlphabet alphabet;
  return alphabet;
}

ByteLevelAlphabet::ByteLevelAlphabet() {
  char_to_byte_.fill(-1);
  int next = 256;
  for (int b = 0; b < 256; ++b) {
    const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
    const char32_t cp = printable ? static_cast<char32_t>(b) : static_cast<char32_t>(next++);
    utf8::append(byte_to_text_[b], cp);
    char_to_byte_[cp] = static_cast<std::int16_t>(b);
  }
}

void ByteLevelAlphabet::encode(std::string_view bytes, std::string& out) const {
  for (char c : bytes)
    out += byte_to_text_[static_cast<unsigned char>(c)];
}

bool ByteLevelAlphabet::decode(std::string_view token, std::string& out) const {
  const std::size_t mark = out.size();
  for (std::size_t i = 0; i < token.size();) {
    char32_t cp = 0;
    const std::size_t n = utf8::decode(token, i, &cp);
    if (n == 0 || cp >= char_to_byte_.size() || char_to_byte_[cp] < 0) {
      out.resize(mark);
      return false;
    }
    out.push_back(static_cast<char>(char_to_byte_[cp]));
    i += n;
  }
  return true;
}

}  // namespace agentrt::tokenizer
