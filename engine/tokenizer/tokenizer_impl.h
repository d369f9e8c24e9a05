// Internal state of a Tokenizer (shared by tokenizer.cpp and tokenizer_load.cpp).
#pragma once

#include <string>
#include <vector>

#include "engine/tokenizer/added_vocabulary.h"
#include "engine/tokenizer/bpe_model.h"
#include "engine/tokenizer/regex_splitter.h"
#include "engine/tokenizer/tokenizer.h"

namespace agentrt::tokenizer {

// One pre-tokenizer step: a regex Split, or ByteLevel (optionally splitting with the GPT-2
// regex first). Steps run in order on every piece.
struct PreTokenizerStep {
  enum class Kind { split, byte_level } kind = Kind::split;
  RegexSplitter regex;     // used when kind == split, or byte_level with use_regex
  bool use_regex = false;  // byte_level only
};

struct Tokenizer::Impl {
  std::string name;
  TokenizerConfig config;
  bool nfc = false;                     // normalizer
  bool add_prefix_space = false;        // ByteLevel pre-tokenizer at the start of the chain
  std::vector<PreTokenizerStep> steps;  // pre-tokenizer chain
  BpeModel model;
  AddedVocabulary added;
  std::vector<AddedToken> added_by_id;   // indexed by id; id == -1 when not an added token
  std::vector<std::int32_t> prefix_ids;  // TemplateProcessing "single", before the sequence
  std::vector<std::int32_t> suffix_ids;  // ... and after it
  std::vector<std::string> id_bytes;     // decoded bytes of every id (ByteLevel decoder)
  std::vector<bool> id_known;
  std::int32_t vocab_size = 0;

  const AddedToken* added_token(std::int32_t id) const {
    if (id < 0 || static_cast<std::size_t>(id) >= added_by_id.size()) return nullptr;
    const AddedToken& t = added_by_id[static_cast<std::size_t>(id)];
    return t.id < 0 ? nullptr : &t;
  }
  void encode_plain(std::string_view text, std::vector<std::int32_t>& out) const;
};

}  // namespace agentrt::tokenizer
