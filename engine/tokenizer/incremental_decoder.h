// Streaming detokenization: feed ids one at a time, get text that never ends inside a UTF-8
// character. The concatenation of every push() result and finish() equals
// Tokenizer::decode of all ids (same U+FFFD replacements, same leading Strip). With a
// ByteFallback decoder a run of <0xXX> byte tokens is held until the run ends (HF decodes
// the run as one unit). One instance per stream; not thread-safe; the Tokenizer must
// outlive it.
#pragma once

#include <cstdint>
#include <string>

#include "engine/common/result.h"
#include "engine/tokenizer/tokenizer.h"

namespace agentrt::tokenizer {

class IncrementalDecoder {
 public:
  explicit IncrementalDecoder(const Tokenizer& tokenizer, bool skip_special_tokens = false);

  // Adds one id; returns the text that became complete (possibly empty). Bytes of a
  // character that later bytes may still complete are held back. Fails on an unknown id
  // (the decoder state is unchanged then).
  Result<std::string> push(std::int32_t id);

  // Flushes held-back bytes (an incomplete character becomes U+FFFD) and resets the stream.
  std::string finish();

  // Bytes currently held back (at most 3, or a whole run of byte tokens).
  std::size_t pending_bytes() const { return pending_.size(); }

 private:
  const Tokenizer* tokenizer_;
  bool skip_special_;
  std::string pending_;
  std::size_t strip_left_ = 0;  // leading strip chars still to remove (PieceDecoder Strip)

  Result<std::string> push_piece(std::int32_t id);
};

}  // namespace agentrt::tokenizer
