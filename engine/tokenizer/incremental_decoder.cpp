#include "engine/tokenizer/incremental_decoder.h"

#include "engine/tokenizer/utf8.h"

namespace agentrt::tokenizer {

Result<std::string> IncrementalDecoder::push(std::int32_t id) {
  const std::size_t mark = pending_.size();
  if (Status s = tokenizer_->decode_bytes({&id, 1}, skip_special_, pending_); !s.ok()) {
    pending_.resize(mark);
    return s.error();
  }
  const std::size_t hold = utf8::incomplete_suffix(pending_);
  const std::string_view ready = std::string_view(pending_).substr(0, pending_.size() - hold);
  std::string out = utf8::is_valid(ready) ? std::string(ready) : utf8::to_lossy(ready);
  pending_.erase(0, pending_.size() - hold);
  return out;
}

std::string IncrementalDecoder::finish() {
  std::string out = utf8::to_lossy(pending_);
  pending_.clear();
  return out;
}

}  // namespace agentrt::tokenizer
