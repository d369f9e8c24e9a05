// Unicode Normalization Form C (canonical decomposition, then canonical composition), as the
// Qwen2/Qwen3 tokenizers' "NFC" normalizer requires. Self-contained (no ICU); Unicode data
// version is the one the tables were generated from (see nfc_tables.h).
#pragma once

#include <string>
#include <string_view>

namespace agentrt::tokenizer {

// True when text is certainly already in NFC (a cheap scan; ASCII always is).
bool is_nfc_quick(std::string_view text);

// Returns the NFC form of text. Bytes that are not valid UTF-8 are copied through unchanged
// and act as starters (they block composition across them). Thread-safe.
std::string to_nfc(std::string_view text);

}  // namespace agentrt::tokenizer
