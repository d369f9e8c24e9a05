#include "engine/tokenizer/incremental_decoder.h"

#include "engine/tokenizer/tokenizer_impl.h"
#include "engine/tokenizer/utf8.h"

namespace agentrt::tokenizer {

IncrementalDecoder::IncrementalDecoder(const Tokenizer& tokenizer, bool skip_special_tokens)
    : tokenizer_(&tokenizer), skip_special_(skip_special_tokens) {
  strip_left_ = tokenizer.impl_->piece_decoder.strip_count();
}

Result<std::string> IncrementalDecoder::push_piece(std::int32_t id) {
  const Tokenizer::Impl& impl = *tokenizer_->impl_;
  if (id < 0 || id >= impl.vocab_size || !impl.id_known[static_cast<std::size_t>(id)])
    return make_error(ErrorCode::not_found,
                      impl.name + ": id " + std::to_string(id) + " is not in the vocabulary");
  std::string out;
  if (skip_special_) {
    const AddedToken* t = impl.added_token(id);
    if (t != nullptr && t->special) return out;
  }
  const auto i = static_cast<std::size_t>(id);
  if (impl.id_byte[i] >= 0) {
    pending_.push_back(static_cast<char>(impl.id_byte[i]));
    return out;
  }
  PieceDecoder::flush_bytes(pending_, out);
  out += impl.id_bytes[i];
  impl.piece_decoder.strip_leading(out, &strip_left_);
  return out;
}

Result<std::string> IncrementalDecoder::push(std::int32_t id) {
  if (tokenizer_->impl_->pieces) return push_piece(id);
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
  const Tokenizer::Impl& impl = *tokenizer_->impl_;
  if (impl.pieces) {
    std::string out;
    PieceDecoder::flush_bytes(pending_, out);
    impl.piece_decoder.strip_leading(out, &strip_left_);
    strip_left_ = impl.piece_decoder.strip_count();
    return out;
  }
  std::string out = utf8::to_lossy(pending_);
  pending_.clear();
  return out;
}

}  // namespace agentrt::tokenizer
