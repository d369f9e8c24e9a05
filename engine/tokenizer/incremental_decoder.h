// Streaming detokenization: feed ids one at a time, get text that never ends inside a UTF-8
// character. The concatenation of every push() result and finish() equals
// Tokenizer::decode of all ids (same U+FFFD replacements). One instance per stream; not
// thread-safe; the Tokenizer must outlive it.
#pragma once

#include <cstdint>
#include <string>

#include "engine/common/result.h"
#include "engine/tokenizer/tokenizer.h"

namespace agentrt::tokenizer {

class IncrementalDecoder {
 public:
  explicit IncrementalDecoder(const Tokenizer& tokenizer, bool skip_special_tokens = false)
      : tokenizer_(&tokenizer), skip_special_(skip_special_tokens) {}

  // Adds one id; returns the text that became complete (possibly empty). Bytes of a
  // character that later bytes may still complete are held back. Fails on an unknown id
  // (the decoder state is unchanged then).
  Result<std::string> push(std::int32_t id);

  // Flushes held-back bytes (an incomplete character becomes U+FFFD) and resets the stream.
  std::string finish();

  // Bytes currently held back (at most 3).
  std::size_t pending_bytes() const { return pending_.size(); }

 private:
  const Tokenizer* tokenizer_;
  bool skip_special_;
  std::string pending_;
};

}  // namespace agentrt::tokenizer
