// The GPT-2 byte-level alphabet: every byte maps to one printable code point so that BPE
// vocabularies can be stored as text ("Ġ" is the byte 0x20). Used by the ByteLevel
// pre-tokenizer (bytes -> chars) and decoder (chars -> bytes).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace agentrt::tokenizer {

class ByteLevelAlphabet {
 public:
  // The one shared instance (immutable; safe from any thread).
  static const ByteLevelAlphabet& get();

  // Appends the byte-level text of bytes (each byte becomes one 1- or 2-byte UTF-8 char).
  void encode(std::string_view bytes, std::string& out) const;

  // Maps a byte-level token back to bytes. Returns false (out unchanged) when a char of
  // token is outside the alphabet; HF then uses the token's own UTF-8 bytes.
  bool decode(std::string_view token, std::string& out) const;

 private:
  ByteLevelAlphabet();
  std::array<std::string, 256> byte_to_text_;
  std::array<std::int16_t, 512> char_to_byte_;  // code point (< 512) -> byte, -1 if none
};

}  // namespace agentrt::tokenizer
