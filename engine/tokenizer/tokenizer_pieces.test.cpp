// Unit tests of the SentencePiece-style components on small hand-written tokenizer.json
// files: byte_fallback, unk/fuse_unk, Prepend/Replace, Metaspace, Split behaviors, the
// Replace/ByteFallback/Fuse/Strip decoder (HF's Rust semantics, including invalid byte
// runs), streaming, and the errors for shapes that are not supported.
#include <gtest/gtest.h>

#include <cstdio>
#include <nlohmann/json.hpp>
#include <random>

#include "engine/tokenizer/incremental_decoder.h"
#include "engine/tokenizer/regex_splitter.h"
#include "engine/tokenizer/tokenizer.h"
#include "engine/tokenizer/tokenizer_test_util.h"

namespace agentrt::tokenizer {
namespace {

using nlohmann::json;
using Ids = std::vector<std::int32_t>;

constexpr int kA = 259, kB = 260, kAb = 261, kSpace = 262, kSpaceAb = 263;

// Llama-2 layout: <unk> <s> </s>, the 256 byte tokens (ids 3..258), "a" "b" "ab" "▁" "▁ab".
json sp_json() {
  json vocab = {{"<unk>", 0}, {"<s>", 1}, {"</s>", 2}};
  for (int b = 0; b < 256; ++b) {
    char name[8];
    std::snprintf(name, sizeof(name), "<0x%02X>", b);
    vocab[name] = 3 + b;
  }
  vocab["a"] = kA;
  vocab["b"] = kB;
  vocab["ab"] = kAb;
  vocab["\u2581"] = kSpace;
  vocab["\u2581ab"] = kSpaceAb;
  auto added = [](int id, const char* content) {
    return json{{"id", id}, {"content", content}, {"special", true}, {"normalized", false}};
  };
  return json{
      {"added_tokens", json::array({added(0, "<unk>"), added(1, "<s>"), added(2, "</s>")})},
      {"normalizer",
       {{"type", "Sequence"},
        {"normalizers",
         json::array(
             {{{"type", "Prepend"}, {"prepend", "\u2581"}},
              {{"type", "Replace"}, {"pattern", {{"String", " "}}}, {"content", "\u2581"}}})}}},
      {"pre_tokenizer", nullptr},
      {"post_processor",
       {{"type", "TemplateProcessing"},
        {"single", json::array({{{"SpecialToken", {{"id", "<s>"}, {"type_id", 0}}}},
                                {{"Sequence", {{"id", "A"}, {"type_id", 0}}}}})},
        {"special_tokens", {{"<s>", {{"id", "<s>"}, {"ids", {1}}}}}}}},
      {"decoder",
       {{"type", "Sequence"},
        {"decoders",
         json::array({{{"type", "Replace"}, {"pattern", {{"String", "\u2581"}}}, {"content", " "}},
                      {{"type", "ByteFallback"}},
                      {{"type", "Fuse"}},
                      {{"type", "Strip"}, {"content", " "}, {"start", 1}, {"stop", 0}}})}}},
      {"model",
       {{"type", "BPE"},
        {"unk_token", "<unk>"},
        {"fuse_unk", true},
        {"byte_fallback", true},
        {"vocab", vocab},
        {"merges", json::array({"a b", "\u2581 ab"})}}}};
}

Tokenizer load(const json& j) {
  auto t = Tokenizer::from_json(j.dump(), "sp.json");
  EXPECT_TRUE(t.ok()) << t.error().to_string();
  return std::move(t).value();
}

std::string load_error(const json& j) {
  auto t = Tokenizer::from_json(j.dump(), "sp.json");
  return t.ok() ? "loaded" : t.error().message;
}

std::string streamed(const Tokenizer& tok, const Ids& ids, bool skip = false) {
  IncrementalDecoder dec(tok, skip);
  std::string out;
  for (std::int32_t id : ids)
    out += dec.push(id).value();
  return out + dec.finish();
}

constexpr std::int32_t byte(int b) {
  return 3 + b;
}

TEST(PieceTokenizer, PrependReplaceAndByteFallback) {
  const Tokenizer tok = load(sp_json());
  EXPECT_EQ(tok.encode("ab"), (Ids{kSpaceAb}));
  EXPECT_EQ(tok.encode("ab", true), (Ids{1, kSpaceAb}));
  // "é" is not in the vocabulary: its two UTF-8 bytes.
  EXPECT_EQ(tok.encode("ab é"), (Ids{kSpaceAb, kSpace, byte(0xC3), byte(0xA9)}));
  EXPECT_EQ(tok.encode(""), Ids{});
  // Prepend applies to each piece between added tokens.
  EXPECT_EQ(tok.encode("a<s>b"), (Ids{kSpace, kA, 1, kSpace, kB}));
  EXPECT_EQ(tok.decode(tok.encode("ab é")).value(), "ab é");
  EXPECT_EQ(tok.id_to_token(byte(0x0A)).value(), "<0x0A>");
}

TEST(PieceTokenizer, UnknownCharsWithoutByteFallback) {
  json j = sp_json();
  j["model"]["byte_fallback"] = false;
  EXPECT_EQ(load(j).encode("aééb"), (Ids{kSpace, kA, 0, kB}));  // fused
  j["model"]["fuse_unk"] = false;
  EXPECT_EQ(load(j).encode("aééb"), (Ids{kSpace, kA, 0, 0, kB}));
  j["model"].erase("unk_token");
  // Dropped, as HF does; the merges then join across the gap.
  EXPECT_EQ(load(j).encode("aééb"), (Ids{kSpaceAb}));
}

TEST(PieceTokenizer, DecodeFollowsHfByteFallbackAndStrip) {
  const Tokenizer tok = load(sp_json());
  // A valid run decodes as text; the Strip removes one leading space only.
  EXPECT_EQ(tok.decode(Ids{kSpace, kSpace, kA, byte(0xC3), byte(0xA9)}).value(), " aé");
  // An invalid run becomes one U+FFFD per byte (not per maximal invalid sequence).
  EXPECT_EQ(tok.decode(Ids{byte(0x41), byte(0xC3), kA}).value(), "\uFFFD\uFFFDa");
  EXPECT_EQ(tok.decode(Ids{kA, byte(0xE2), byte(0x96)}).value(), "a\uFFFD\uFFFD");
  EXPECT_EQ(tok.decode(Ids{1, kSpaceAb}).value(), "<s> ab");
  EXPECT_EQ(tok.decode(Ids{1, kSpaceAb}, true).value(), "ab");
  EXPECT_FALSE(tok.decode(Ids{9999}).ok());
  // Raw bytes per token (logprobs): the replaced text, or the byte itself.
  std::string raw;
  ASSERT_TRUE(tok.decode_bytes(Ids{kSpaceAb, byte(0xC3)}, false, raw).ok());
  EXPECT_EQ(raw, " ab\xC3");
}

TEST(PieceTokenizer, StreamingHoldsByteRunsAndStripsOnce) {
  const Tokenizer tok = load(sp_json());
  IncrementalDecoder dec(tok);
  EXPECT_EQ(dec.push(kSpace).value(), "");  // stripped
  EXPECT_EQ(dec.push(kSpaceAb).value(), " ab");
  EXPECT_EQ(dec.push(byte(0xC3)).value(), "");
  EXPECT_EQ(dec.pending_bytes(), 1u);
  EXPECT_EQ(dec.push(byte(0xA9)).value(), "");  // the run may still grow
  EXPECT_EQ(dec.push(kA).value(), "éa");
  EXPECT_EQ(dec.push(byte(0xC3)).value(), "");
  EXPECT_EQ(dec.finish(), "\uFFFD");
  EXPECT_FALSE(dec.push(-1).ok());
  // Random id strings: the stream always equals decode.
  std::mt19937 rng(7);
  for (int round = 0; round < 300; ++round) {
    Ids ids;
    const int n = static_cast<int>(rng() % 12);
    for (int i = 0; i < n; ++i) {
      const std::uint32_t r = rng() % 10;
      ids.push_back(
          r < 4   ? byte(static_cast<int>(rng() % 4 == 0 ? rng() % 256 : 0x80 + rng() % 0x60))
          : r < 6 ? kSpace
                  : static_cast<std::int32_t>(rng() % 3 == 0 ? rng() % 3 : kA + rng() % 5));
    }
    for (bool skip : {false, true})
      ASSERT_EQ(streamed(tok, ids, skip), tok.decode(ids, skip).value()) << json(ids).dump();
  }
}

TEST(PieceTokenizer, MetaspacePrependSchemes) {
  json j = sp_json();
  j["normalizer"] = nullptr;
  j["pre_tokenizer"] = {{"type", "Metaspace"},
                        {"replacement", "\u2581"},
                        {"prepend_scheme", "first"},
                        {"split", false}};
  EXPECT_EQ(load(j).encode("ab a"), (Ids{kSpaceAb, kSpace, kA}));
  EXPECT_EQ(load(j).encode("ab<s>ab"), (Ids{kSpaceAb, 1, kAb}));  // only the first piece
  EXPECT_EQ(load(j).encode("<s>ab"), (Ids{1, kAb}));
  j["pre_tokenizer"]["prepend_scheme"] = "always";
  EXPECT_EQ(load(j).encode("ab<s>ab"), (Ids{kSpaceAb, 1, kSpaceAb}));
  j["pre_tokenizer"]["prepend_scheme"] = "never";
  EXPECT_EQ(load(j).encode("ab ab"), (Ids{kAb, kSpaceAb}));
  // split: every "▁" starts a new pre-token, so no merge reaches across one.
  j["model"]["vocab"]["b\u2581"] = 264;
  j["model"]["merges"].insert(j["model"]["merges"].begin(), "b \u2581");
  EXPECT_EQ(load(j).encode("ab ab"), (Ids{kA, 264, kAb}));
  j["pre_tokenizer"]["split"] = true;
  EXPECT_EQ(load(j).encode("ab ab"), (Ids{kAb, kSpaceAb}));
  j["pre_tokenizer"]["prepend_scheme"] = "sometimes";
  EXPECT_EQ(load_error(j),
            "sp.json: /pre_tokenizer/prepend_scheme: expected \"always\", "
            "\"first\" or \"never\"");
}

TEST(PieceTokenizer, SplitBehaviorsMatchHfDocs) {
  // The example of HF's SplitDelimiterBehavior documentation.
  auto re = RegexSplitter::compile("-");
  ASSERT_TRUE(re.ok());
  auto run = [&](SplitBehavior b) {
    std::vector<std::string_view> out;
    re->split("the-final--countdown", b, out);
    return std::vector<std::string>(out.begin(), out.end());
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(run(SplitBehavior::removed), (V{"the", "final", "countdown"}));
  EXPECT_EQ(run(SplitBehavior::isolated), (V{"the", "-", "final", "-", "-", "countdown"}));
  EXPECT_EQ(run(SplitBehavior::merged_with_previous), (V{"the-", "final-", "-", "countdown"}));
  EXPECT_EQ(run(SplitBehavior::merged_with_next), (V{"the", "-final", "-", "-countdown"}));
  EXPECT_EQ(run(SplitBehavior::contiguous), (V{"the", "-", "final", "--", "countdown"}));
}

TEST(PieceTokenizer, UnsupportedShapesNameTheirPointer) {
  json j = sp_json();
  j["normalizer"]["normalizers"][1]["pattern"] = {{"Regex", " +"}};
  EXPECT_EQ(load_error(j),
            "sp.json: /normalizer/normalizers/1/pattern/Regex: a Regex pattern is "
            "not supported here");
  j = sp_json();
  j["normalizer"]["normalizers"][0] = {{"type", "NFKC"}};
  EXPECT_EQ(load_error(j),
            "sp.json: /normalizer/normalizers/0/type: normalizer 'NFKC' is not "
            "supported (NFC, Prepend, Replace, Sequence)");
  j = sp_json();
  j["decoder"]["decoders"][3]["stop"] = 1;
  EXPECT_EQ(load_error(j),
            "sp.json: /decoder/decoders/3/stop: only stop 0 is supported (no trailing strip)");
  j = sp_json();
  std::swap(j["decoder"]["decoders"][0], j["decoder"]["decoders"][2]);
  EXPECT_EQ(load_error(j),
            "sp.json: /decoder/decoders/1/type: decoder 'ByteFallback' is not supported "
            "at this position (order: Replace, ByteFallback, Fuse, Strip)");
  j = sp_json();
  j["decoder"]["decoders"][1] = {{"type", "Metaspace"}};
  EXPECT_EQ(load_error(j),
            "sp.json: /decoder/decoders/1/type: decoder 'Metaspace' is not "
            "supported (ByteLevel, or a Sequence of Replace, ByteFallback, Fuse, "
            "Strip)");
  j = sp_json();
  j["pre_tokenizer"] = {
      {"type", "Sequence"},
      {"pretokenizers",
       json::array(
           {{{"type", "Split"}, {"pattern", {{"String", " "}}}, {"behavior", "MergedWithPrevious"}},
            {{"type", "Metaspace"}, {"replacement", "\u2581"}}})}};
  EXPECT_EQ(load_error(j),
            "sp.json: /pre_tokenizer/pretokenizers/1/type: Metaspace is supported "
            "only as the first pre-tokenizer");
  j["pre_tokenizer"]["pretokenizers"].erase(1);
  j["pre_tokenizer"]["pretokenizers"][0]["behavior"] = "Sideways";
  EXPECT_EQ(load_error(j),
            "sp.json: /pre_tokenizer/pretokenizers/0/behavior: split behavior "
            "'Sideways' is not supported");
  j = sp_json();
  j["model"]["unk_token"] = "<nope>";
  EXPECT_EQ(load_error(j),
            "sp.json: /model/unk_token: unk_token '<nope>' is not in the vocabulary");
}

// Streaming equals decode on random id strings of the real llama2 file (byte tokens
// included). Gemma 3's streaming is checked by its golden test (one 262k-vocab load is enough
// for the sanitizer runs).
TEST(PieceTokenizer, RealStreamingEqualsDecode) {
  for (const char* name : {"llama2"}) {
    const Tokenizer* tok = test::real_tokenizer(name);
    ASSERT_NE(tok, nullptr);
    std::mt19937 rng(11);
    const Ids seed = tok->encode("Hi 👋 你好 <s><bos> x\n\n  y 𓀀", true);
    for (int round = 0; round < 200; ++round) {
      Ids ids;
      for (int i = 0; i < 16; ++i) {
        const std::uint32_t r = rng() % 3;
        ids.push_back(r == 0   ? seed[rng() % seed.size()]
                      : r == 1 ? static_cast<std::int32_t>(rng() % 600)
                               : static_cast<std::int32_t>(rng() % 32000));
      }
      for (bool skip : {false, true})
        ASSERT_EQ(streamed(*tok, ids, skip), tok->decode(ids, skip).value())
            << name << " " << json(ids).dump();
    }
  }
}

}  // namespace
}  // namespace agentrt::tokenizer
