// An exact reimplementation of Hugging Face `tokenizers` for BPE tokenizer.json files:
// byte-level ones (GPT-2, Llama-3, Qwen2/Qwen3: NFC, regex Split and ByteLevel
// pre-tokenizers, ByteLevel decoder) and SentencePiece-style ones (Llama 2, Mistral,
// Gemma 3: Prepend/Replace normalizers, Metaspace, byte_fallback BPE with unk, decoder
// Replace/ByteFallback/Fuse/Strip); added tokens and TemplateProcessing for both.
// A Tokenizer is immutable after loading (apart from an internal cache), cheap to copy
// (copies share state), and safe to use from any number of threads at once.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/common/result.h"

namespace agentrt::tokenizer {

// Selected fields of tokenizer_config.json (empty when loaded without one).
struct TokenizerConfig {
  std::string bos_token;  // e.g. "<|begin_of_text|>"; empty when null or absent
  std::string eos_token;  // e.g. "<|im_end|>"
  std::string pad_token;
  std::string chat_template;  // the Jinja template text; empty when absent
};

class Tokenizer {
 public:
  // Loads a tokenizer.json file. Errors name the file and a JSON pointer into it, e.g.
  // "tokenizer.json: /model/merges/17: merge 'ab' must be two tokens separated by a space".
  static Result<Tokenizer> load(const std::string& tokenizer_json_path);
  // Loads DIR/tokenizer.json and DIR/tokenizer_config.json (bos/eos/chat template).
  static Result<Tokenizer> load_dir(const std::string& dir);
  // Parses tokenizer.json text; name is used in error messages (e.g. the file name).
  static Result<Tokenizer> from_json(std::string_view json_text, const std::string& name);
  // Reads the tokenizer_config.json fields from text into this tokenizer's config. Call
  // right after loading, before the tokenizer is copied or shared (copies share the config).
  Status set_config_json(std::string_view json_text, const std::string& name);

  // Encodes text (bytes that are not valid UTF-8 are byte-encoded as they are). With
  // add_special_tokens, the post-processor's template (e.g. Llama-3's BOS) is applied.
  std::vector<std::int32_t> encode(std::string_view text, bool add_special_tokens = false) const;

  // Decodes ids to text exactly as HF `Tokenizer.decode` does: ByteLevel decoders turn
  // invalid UTF-8 into U+FFFD per maximal invalid sequence, ByteFallback decoders a run of
  // <0xXX> tokens that is not valid UTF-8 into one U+FFFD per byte. Fails with not_found on
  // an id that is not in the vocabulary.
  Result<std::string> decode(std::span<const std::int32_t> ids,
                             bool skip_special_tokens = false) const;
  // Appends the raw bytes of ids (before the lossy UTF-8 step): for SentencePiece-style
  // decoders each token's text after the Replace steps ("▁" -> " "), or the byte of a
  // <0xXX> token, with no Strip. Fails on an unknown id.
  Status decode_bytes(std::span<const std::int32_t> ids, bool skip_special_tokens,
                      std::string& out) const;

  // The id of a token's vocabulary text (byte-level form, e.g. "Ġworld") or added token.
  std::optional<std::int32_t> token_to_id(std::string_view token) const;
  // The vocabulary text of id (byte-level form) or the added token's content.
  Result<std::string> id_to_token(std::int32_t id) const;
  // One past the largest id (model vocabulary and added tokens).
  std::int32_t vocab_size() const;
  // True for added tokens marked special (skipped by skip_special_tokens).
  bool is_special(std::int32_t id) const;

  // BOS/EOS ids from tokenizer_config.json; nullopt when not configured.
  std::optional<std::int32_t> bos_id() const;
  std::optional<std::int32_t> eos_id() const;
  const TokenizerConfig& config() const;
  const std::string& name() const;

  struct Impl;

 private:
  friend class IncrementalDecoder;
  explicit Tokenizer(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<Impl> impl_;
};

}  // namespace agentrt::tokenizer
