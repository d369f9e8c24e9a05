// Unit tests on small hand-written tokenizer.json files: loading, errors, encode/decode.
#include "engine/tokenizer/tokenizer.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "engine/tokenizer/byte_level.h"
#include "engine/tokenizer/incremental_decoder.h"

namespace agentrt::tokenizer {
namespace {

using nlohmann::json;

// A tiny byte-level BPE: the 256 byte chars, plus merges building "Ġw", "or", "ld", "Ġwor"...
json tiny_json() {
  json vocab = json::object();
  const ByteLevelAlphabet& alphabet = ByteLevelAlphabet::get();
  for (int b = 0; b < 256; ++b) {
    std::string s;
    alphabet.encode(std::string(1, static_cast<char>(b)), s);
    vocab[s] = b;
  }
  const char* merged[] = {"Ġw", "or", "Ġwor", "ld", "Ġworld", "he", "hel", "hell", "hello"};
  int id = 256;
  for (const char* m : merged)
    vocab[m] = id++;
  json merges = json::array({"Ġ w", "o r", "Ġw or", "l d", "Ġwor ld", "h e", "he l", "hel l",
                             json::array({"hell", "o"})});
  return json{
      {"version", "1.0"},
      {"added_tokens", json::array({{{"id", 300}, {"content", "<|eot|>"}, {"special", true}},
                                    {{"id", 301}, {"content", "<tool>"}, {"special", false}}})},
      {"normalizer", nullptr},
      {"pre_tokenizer",
       {{"type", "Sequence"},
        {"pretokenizers",
         json::array(
             {{{"type", "Split"},
               {"pattern", {{"Regex", "\\s?\\p{L}+|\\p{N}|\\s+|[^\\s\\p{L}\\p{N}]+"}}},
               {"behavior", "Isolated"},
               {"invert", false}},
              {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", false}}})}}},
      {"post_processor",
       {{"type", "TemplateProcessing"},
        {"single", json::array({{{"SpecialToken", {{"id", "<|eot|>"}, {"type_id", 0}}}},
                                {{"Sequence", {{"id", "A"}, {"type_id", 0}}}}})},
        {"special_tokens", {{"<|eot|>", {{"id", "<|eot|>"}, {"ids", {300}}}}}}}},
      {"decoder", {{"type", "ByteLevel"}}},
      {"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", merges}}}};
}

Tokenizer tiny(const json& j = tiny_json()) {
  auto t = Tokenizer::from_json(j.dump(), "tiny.json");
  EXPECT_TRUE(t.ok()) << t.error().to_string();
  return std::move(t).value();
}

std::string load_error(const json& j) {
  auto t = Tokenizer::from_json(j.dump(), "tokenizer.json");
  return t.ok() ? std::string("(loaded)") : t.error().message;
}

TEST(Tokenizer, EncodesWithMergesAndAddedTokens) {
  Tokenizer tok = tiny();
  EXPECT_EQ(tok.encode("hello world"), (std::vector<std::int32_t>{264, 260}));
  EXPECT_EQ(tok.encode("hello<|eot|> world<tool>"),
            (std::vector<std::int32_t>{264, 300, 260, 301}));
  EXPECT_EQ(tok.encode("hello", true), (std::vector<std::int32_t>{300, 264}));
  EXPECT_EQ(tok.encode(""), std::vector<std::int32_t>{});
  EXPECT_EQ(tok.token_to_id("Ġworld"), 260);
  EXPECT_EQ(tok.token_to_id("<tool>"), 301);
  EXPECT_EQ(tok.token_to_id("nope"), std::nullopt);
  EXPECT_EQ(tok.id_to_token(260).value(), "Ġworld");
  EXPECT_TRUE(tok.is_special(300));
  EXPECT_FALSE(tok.is_special(301));
  EXPECT_EQ(tok.vocab_size(), 302);
}

TEST(Tokenizer, DecodesAndSkipsSpecial) {
  Tokenizer tok = tiny();
  const std::vector<std::int32_t> ids = {300, 264, 260, 301};
  EXPECT_EQ(tok.decode(ids).value(), "<|eot|>hello world<tool>");
  EXPECT_EQ(tok.decode(ids, true).value(), "hello world<tool>");
  EXPECT_EQ(tok.decode(std::vector<std::int32_t>{tok.token_to_id("ä").value()}).value(),
            "\xEF\xBF\xBD");  // byte 0xE4 alone -> U+FFFD
}

TEST(Tokenizer, IgnoreMergesEmitsWholeVocabPieces) {
  json j = tiny_json();
  j["model"]["vocab"]["hellx"] = 302;  // in the vocab but unreachable through merges
  Tokenizer plain = tiny(j);
  EXPECT_EQ(plain.encode("hellx"), (std::vector<std::int32_t>{263, 'x'}));
  j["model"]["ignore_merges"] = true;
  Tokenizer ignore = tiny(j);
  EXPECT_EQ(ignore.encode("hellx"), (std::vector<std::int32_t>{302}));
}

TEST(Tokenizer, LoadErrorsNameFileAndPointer) {
  json j = tiny_json();
  j["model"]["merges"][3] = "ld";
  EXPECT_EQ(load_error(j),
            "tokenizer.json: /model/merges/3: merge 'ld' must be two tokens separated by a space");
  j = tiny_json();
  j["model"]["merges"][2] = "Ġw zz";
  EXPECT_EQ(load_error(j), "tokenizer.json: /model/merges/2: token 'zz' is not in the vocab");
  j = tiny_json();
  j["model"]["type"] = "Unigram";
  EXPECT_EQ(load_error(j),
            "tokenizer.json: /model/type: model type 'Unigram' is not supported (only BPE)");
  j = tiny_json();
  j["pre_tokenizer"]["pretokenizers"][0]["pattern"]["Regex"] = "(abc";
  EXPECT_NE(load_error(j).find("/pre_tokenizer/pretokenizers/0/pattern: bad regex: missing closing "
                               "parenthesis at offset 4"),
            std::string::npos)
      << load_error(j);
  j = tiny_json();
  j["model"]["vocab"]["a/b"] = "x";
  EXPECT_EQ(load_error(j),
            "tokenizer.json: /model/vocab/a~1b: expected a non-negative 32-bit integer id");
  j = tiny_json();
  j["added_tokens"][0]["content"] = 5;
  EXPECT_EQ(load_error(j), "tokenizer.json: /added_tokens/0/content: expected a string");
  j = tiny_json();
  j["decoder"] = {{"type", "WordPiece"}};
  EXPECT_EQ(load_error(j),
            "tokenizer.json: /decoder/type: decoder 'WordPiece' is not supported (ByteLevel, or a "
            "Sequence of Replace, ByteFallback, Fuse, Strip)");
  j = tiny_json();
  j["model"]["vocab"]["huge"] = 2000000000;
  EXPECT_EQ(load_error(j),
            "tokenizer.json: /model/vocab/huge: id 2000000000 is too large (max 16777215)");
  auto bad = Tokenizer::from_json("{\"model\": [1,", "t.json");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, ErrorCode::parse);
  EXPECT_NE(bad.error().message.find("t.json: invalid JSON at byte"), std::string::npos);
  auto missing = Tokenizer::load("/nonexistent/tokenizer.json");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::not_found);
}

TEST(Tokenizer, Gpt2StyleByteLevelWithRegexAndPrefixSpace) {
  json j = tiny_json();
  j["pre_tokenizer"] = {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"use_regex", true}};
  Tokenizer tok = tiny(j);
  EXPECT_EQ(tok.encode("world"), (std::vector<std::int32_t>{260}));  // " world"
  EXPECT_EQ(tok.decode(tok.encode("world")).value(), " world");
}

TEST(Tokenizer, InvalidUtf8InputIsByteEncodedLosslessly) {
  Tokenizer tok = tiny();
  const std::string bytes = "ok\xFF\xC3(\xE2\x82";
  auto ids = tok.encode(bytes);
  std::string raw;
  ASSERT_TRUE(tok.decode_bytes(ids, false, raw).ok());
  EXPECT_EQ(raw, bytes);
}

TEST(Tokenizer, ConfigGivesBosEosAndTemplate) {
  Tokenizer tok = tiny();
  ASSERT_TRUE(tok.set_config_json(
                     R"({"bos_token": {"content": "<|eot|>"}, "eos_token": "<tool>",
                         "chat_template": "{{ x }}"})",
                     "tokenizer_config.json")
                  .ok());
  EXPECT_EQ(tok.bos_id(), 300);
  EXPECT_EQ(tok.eos_id(), 301);
  EXPECT_EQ(tok.config().chat_template, "{{ x }}");
  EXPECT_FALSE(tok.set_config_json("[", "c.json").ok());
}

TEST(IncrementalDecoder, HoldsBackPartialCharacters) {
  Tokenizer tok = tiny();
  // "é" is bytes C3 A9, each its own byte-level token here.
  const std::int32_t c3 = tok.token_to_id("Ã").value(), a9 = tok.token_to_id("©").value();
  IncrementalDecoder dec(tok);
  EXPECT_EQ(dec.push(c3).value(), "");
  EXPECT_EQ(dec.pending_bytes(), 1u);
  EXPECT_EQ(dec.push(a9).value(), "\xC3\xA9");
  EXPECT_EQ(dec.push(c3).value(), "");
  EXPECT_EQ(dec.push(tok.token_to_id("a").value()).value(),
            "\xEF\xBF\xBD"
            "a");
  EXPECT_EQ(dec.push(c3).value(), "");
  EXPECT_EQ(dec.finish(), "\xEF\xBF\xBD");
  EXPECT_FALSE(dec.push(99999).ok());
}

}  // namespace
}  // namespace agentrt::tokenizer
