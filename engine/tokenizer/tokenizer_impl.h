// Internal state of a Tokenizer (shared by tokenizer.cpp and tokenizer_load.cpp).
#pragma once

#include <span>
#include <string>
#include <vector>

#include "engine/tokenizer/added_vocabulary.h"
#include "engine/tokenizer/bpe_model.h"
#include "engine/tokenizer/normalizer.h"
#include "engine/tokenizer/piece_decoder.h"
#include "engine/tokenizer/regex_splitter.h"
#include "engine/tokenizer/tokenizer.h"

namespace agentrt::tokenizer {

// One pre-tokenizer step: a regex Split, or ByteLevel (optionally splitting with the GPT-2
// regex first). Steps run in order on every piece.
struct PreTokenizerStep {
  enum class Kind { split, byte_level } kind = Kind::split;
  RegexSplitter regex;     // used when kind == split, or byte_level with use_regex
  bool use_regex = false;  // byte_level only
  SplitBehavior behavior = SplitBehavior::isolated;
};

// A Metaspace pre-tokenizer (first in the chain): spaces become the replacement, which is
// also prepended (always, or only to the piece at the start of the input).
struct Metaspace {
  enum class Prepend { always, first, never };
  bool on = false;
  std::string replacement;  // e.g. "▁"
  Prepend prepend = Prepend::always;
};

struct Tokenizer::Impl {
  std::string name;
  TokenizerConfig config;
  Normalizer normalizer;
  bool add_prefix_space = false;        // ByteLevel pre-tokenizer at the start of the chain
  bool byte_level = false;              // a ByteLevel pre-tokenizer maps bytes to its alphabet
  Metaspace metaspace;                  // runs before steps when on
  std::vector<PreTokenizerStep> steps;  // pre-tokenizer chain
  BpeModel model;
  AddedVocabulary added;
  std::vector<AddedToken> added_by_id;   // indexed by id; id == -1 when not an added token
  std::vector<std::int32_t> prefix_ids;  // TemplateProcessing "single", before the sequence
  std::vector<std::int32_t> suffix_ids;  // ... and after it
  std::vector<std::string> id_bytes;     // decoded bytes of every id (one byte for <0xXX>)
  std::vector<bool> id_known;
  bool pieces = false;                // decoder: PieceDecoder chain rather than ByteLevel
  PieceDecoder piece_decoder;         // when pieces
  std::vector<std::int16_t> id_byte;  // when pieces: ByteFallback byte of every id, or -1
  std::int32_t vocab_size = 0;

  const AddedToken* added_token(std::int32_t id) const {
    if (id < 0 || static_cast<std::size_t>(id) >= added_by_id.size()) return nullptr;
    const AddedToken& t = added_by_id[static_cast<std::size_t>(id)];
    return t.id < 0 ? nullptr : &t;
  }
  // Encodes text between raw added tokens; at_start: text begins at input offset 0.
  void encode_plain(std::string_view text, bool at_start, std::vector<std::int32_t>& out) const;
  // Tokenizer::decode through the PieceDecoder chain.
  Result<std::string> decode_pieces(std::span<const std::int32_t> ids,
                                    bool skip_special_tokens) const;
};

}  // namespace agentrt::tokenizer
