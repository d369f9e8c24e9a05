#include "engine/tokenizer/tokenizer.h"

#include "engine/tokenizer/byte_level.h"
#include "engine/tokenizer/tokenizer_impl.h"
#include "engine/tokenizer/utf8.h"

namespace agentrt::tokenizer {
namespace {

thread_local std::vector<std::string_view> pieces_a, pieces_b;
thread_local std::string mapped;

// HF Metaspace: spaces become the replacement, which is prepended unless text starts with it.
std::string apply_metaspace(const Metaspace& m, std::string_view text, bool first) {
  std::string out;
  const bool prepend =
      m.prepend == Metaspace::Prepend::always || (m.prepend == Metaspace::Prepend::first && first);
  std::size_t from = 0;
  for (std::size_t hit = text.find(' '); hit != std::string_view::npos;
       hit = text.find(' ', from)) {
    out.append(text.substr(from, hit - from)).append(m.replacement);
    from = hit + 1;
  }
  out.append(text.substr(from));
  if (prepend && !out.starts_with(m.replacement)) out.insert(0, m.replacement);
  return out;
}

}  // namespace

void Tokenizer::Impl::encode_plain(std::string_view text, bool at_start,
                                   std::vector<std::int32_t>& out) const {
  std::string owned;
  if (!normalizer.empty() && normalizer.apply(text, owned)) text = owned;
  // Normalized added tokens are matched after normalization.
  std::vector<Segment> segments;
  added.split(text, /*normalized=*/true, segments);
  for (const Segment& seg : segments) {
    if (seg.id >= 0) {
      out.push_back(seg.id);
      continue;
    }
    std::string prefixed;
    std::string_view body = seg.text;
    if (add_prefix_space && !body.starts_with(' ')) {
      prefixed = " " + std::string(body);
      body = prefixed;
    }
    if (metaspace.on) {
      const bool first = at_start && seg.text.data() == text.data();
      prefixed = apply_metaspace(metaspace, body, first);
      body = prefixed;
    }
    auto& cur = pieces_a;
    auto& next = pieces_b;
    cur.clear();
    cur.push_back(body);
    for (const PreTokenizerStep& step : steps) {
      if (step.kind == PreTokenizerStep::Kind::byte_level && !step.use_regex) continue;
      next.clear();
      for (std::string_view p : cur)
        step.regex.split(p, step.behavior, next);
      cur.swap(next);
    }
    for (std::string_view p : cur) {
      if (!byte_level) {
        model.encode_piece(p, out);
        continue;
      }
      mapped.clear();
      ByteLevelAlphabet::get().encode(p, mapped);
      model.encode_piece(mapped, out);
    }
  }
}

std::vector<std::int32_t> Tokenizer::encode(std::string_view text, bool add_special_tokens) const {
  std::vector<std::int32_t> out;
  out.reserve(text.size() / 3 + 4);
  if (add_special_tokens) out.insert(out.end(), impl_->prefix_ids.begin(), impl_->prefix_ids.end());
  std::vector<Segment> segments;
  impl_->added.split(text, /*normalized=*/false, segments);
  for (const Segment& seg : segments) {
    if (seg.id >= 0) {
      out.push_back(seg.id);
    } else {
      impl_->encode_plain(seg.text, seg.text.data() == text.data(), out);
    }
  }
  if (add_special_tokens) out.insert(out.end(), impl_->suffix_ids.begin(), impl_->suffix_ids.end());
  return out;
}

Status Tokenizer::decode_bytes(std::span<const std::int32_t> ids, bool skip_special_tokens,
                               std::string& out) const {
  for (std::int32_t id : ids) {
    if (id < 0 || id >= impl_->vocab_size || !impl_->id_known[static_cast<std::size_t>(id)])
      return make_error(ErrorCode::not_found,
                        impl_->name + ": id " + std::to_string(id) + " is not in the vocabulary");
    if (skip_special_tokens) {
      const AddedToken* t = impl_->added_token(id);
      if (t != nullptr && t->special) continue;
    }
    out += impl_->id_bytes[static_cast<std::size_t>(id)];
  }
  return ok_status();
}

Result<std::string> Tokenizer::decode(std::span<const std::int32_t> ids,
                                      bool skip_special_tokens) const {
  if (impl_->pieces) return impl_->decode_pieces(ids, skip_special_tokens);
  std::string bytes;
  AGENTRT_TRY(decode_bytes(ids, skip_special_tokens, bytes));
  if (utf8::is_valid(bytes)) return bytes;
  return utf8::to_lossy(bytes);
}

Result<std::string> Tokenizer::Impl::decode_pieces(std::span<const std::int32_t> ids,
                                                   bool skip_special_tokens) const {
  std::string out, run;
  for (std::int32_t id : ids) {
    if (id < 0 || id >= vocab_size || !id_known[static_cast<std::size_t>(id)])
      return make_error(ErrorCode::not_found,
                        name + ": id " + std::to_string(id) + " is not in the vocabulary");
    if (skip_special_tokens) {
      const AddedToken* t = added_token(id);
      if (t != nullptr && t->special) continue;
    }
    const auto i = static_cast<std::size_t>(id);
    if (id_byte[i] >= 0) {
      run.push_back(static_cast<char>(id_byte[i]));
      continue;
    }
    PieceDecoder::flush_bytes(run, out);
    out += id_bytes[i];
  }
  PieceDecoder::flush_bytes(run, out);
  std::size_t strip = piece_decoder.strip_count();
  piece_decoder.strip_leading(out, &strip);
  return out;
}

std::optional<std::int32_t> Tokenizer::token_to_id(std::string_view token) const {
  std::vector<Segment> segs;
  for (bool normalized : {false, true}) {
    segs.clear();
    impl_->added.split(token, normalized, segs);
    if (segs.size() == 1 && segs[0].id >= 0 && segs[0].text == token) return segs[0].id;
  }
  const std::int32_t id = impl_->model.find(token);
  if (id >= 0) return id;
  return std::nullopt;
}

Result<std::string> Tokenizer::id_to_token(std::int32_t id) const {
  if (const AddedToken* t = impl_->added_token(id)) return t->content;
  if (const std::string* s = impl_->model.token(id)) return *s;
  return make_error(ErrorCode::not_found,
                    impl_->name + ": id " + std::to_string(id) + " is not in the vocabulary");
}

std::int32_t Tokenizer::vocab_size() const {
  return impl_->vocab_size;
}

bool Tokenizer::is_special(std::int32_t id) const {
  const AddedToken* t = impl_->added_token(id);
  return t != nullptr && t->special;
}

std::optional<std::int32_t> Tokenizer::bos_id() const {
  if (impl_->config.bos_token.empty()) return std::nullopt;
  return token_to_id(impl_->config.bos_token);
}

std::optional<std::int32_t> Tokenizer::eos_id() const {
  if (impl_->config.eos_token.empty()) return std::nullopt;
  return token_to_id(impl_->config.eos_token);
}

const TokenizerConfig& Tokenizer::config() const {
  return impl_->config;
}
const std::string& Tokenizer::name() const {
  return impl_->name;
}

}  // namespace agentrt::tokenizer
