// Golden tests for the SentencePiece-style tokenizers (Gemma 3, Llama 2, Metaspace variants):
// ids, decodes and streaming decodes must equal the reference, Tokenizers.js
// (@huggingface/tokenizers, the tokenizer core of @huggingface/transformers), run by node on
// tests/tokenizer/corpus.jsonl and tests/tokenizer/sp_extra.jsonl; the byte-level files are
// cross-checked the same way. Needs node and `npm ci` in tests/tokenjs.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "engine/tokenizer/incremental_decoder.h"
#include "engine/tokenizer/tokenizer.h"
#include "engine/tokenizer/tokenizer_test_util.h"

namespace agentrt::tokenizer {
namespace {

using nlohmann::json;

const std::string kSource = AGENTRT_SOURCE_DIR;

// Runs tests/tokenjs/encode.mjs for DIR/model; returns its rows, or records why it could not.
std::vector<json> reference_rows(const std::string& dir, const std::string& model) {
  if (!std::filesystem::exists(kSource + "/tests/tokenjs/node_modules/@huggingface/tokenizers")) {
    ADD_FAILURE() << "tests/tokenjs/node_modules is missing: run `npm ci` in " << kSource
                  << "/tests/tokenjs (needs node >= 18)";
    return {};
  }
  const std::string out = "tokenizer_sp_golden." + model + ".jsonl";
  const std::string cmd = "node " + kSource + "/tests/tokenjs/encode.mjs '" + dir + "' " + out +
                          " " + kSource + "/tests/tokenizer/corpus.jsonl " + kSource +
                          "/tests/tokenizer/sp_extra.jsonl --models " + model;
  if (const int rc = std::system(cmd.c_str()); rc != 0) {
    ADD_FAILURE() << "reference run failed (exit " << rc << "): " << cmd;
    return {};
  }
  std::ifstream in(out);
  std::vector<json> rows;
  std::string line;
  while (std::getline(in, line))
    if (!line.empty()) rows.push_back(json::parse(line));
  return rows;
}

std::string streamed(const Tokenizer& tok, const std::vector<std::int32_t>& ids, bool skip) {
  IncrementalDecoder dec(tok, skip);
  std::string text;
  for (std::int32_t id : ids) {
    auto piece = dec.push(id);
    if (!piece.ok()) return "<error: " + piece.error().to_string() + ">";
    text += *piece;
  }
  return text + dec.finish();
}

void check_model(const std::string& dir, const std::string& model, const Tokenizer* tok) {
  ASSERT_NE(tok, nullptr);
  const auto rows = reference_rows(dir, model);
  ASSERT_GT(rows.size(), 250u) << "too few reference rows for " << model;
  int failures = 0;
  for (std::size_t r = 0; r < rows.size() && failures < 10; ++r) {
    const json& row = rows[r];
    const std::string text = row["text"].get<std::string>();
    const std::string where = model + " case " + std::to_string(r) + " " + json(text).dump();
    const auto want = row["ids"].get<std::vector<std::int32_t>>();
    const auto want_special = row["ids_special"].get<std::vector<std::int32_t>>();
    const auto ids = tok->encode(text);
    const auto ids_special = tok->encode(text, true);
    const std::string decoded = row["decoded"].get<std::string>();
    const std::string decoded_skip = row["decoded_skip_special"].get<std::string>();
    const auto got = tok->decode(want_special);
    const auto got_skip = tok->decode(want_special, true);
    const bool ok = ids == want && ids_special == want_special && got.ok() && *got == decoded &&
                    got_skip.ok() && *got_skip == decoded_skip &&
                    streamed(*tok, want_special, false) == decoded &&
                    streamed(*tok, want_special, true) == decoded_skip;
    if (ok) continue;
    ++failures;
    EXPECT_EQ(json(ids).dump(), json(want).dump()) << where;
    EXPECT_EQ(json(ids_special).dump(), json(want_special).dump()) << where;
    EXPECT_EQ(got.ok() ? *got : got.error().to_string(), decoded) << where;
    EXPECT_EQ(got_skip.ok() ? *got_skip : got_skip.error().to_string(), decoded_skip) << where;
    EXPECT_EQ(streamed(*tok, want_special, false), decoded) << where;
    EXPECT_EQ(streamed(*tok, want_special, true), decoded_skip) << where;
  }
  EXPECT_EQ(failures, 0);
  std::printf("[ golden   ] %s: %zu cases compared with Tokenizers.js\n", model.c_str(),
              rows.size());
}

// Writes llama2's files with the normalizer replaced by a Metaspace pre-tokenizer (the
// Mistral v0.3 / non-legacy Llama layout) under the working directory; returns the dir.
std::string write_metaspace_variant(const std::string& name, const std::string& scheme) {
  const std::string src = test::tokenizers_dir() + "/llama2";
  std::ifstream in(src + "/tokenizer.json");
  if (!in) return {};
  json j = json::parse(in);
  j["normalizer"] = nullptr;
  j["pre_tokenizer"] = {{"type", "Metaspace"},
                        {"replacement", "\u2581"},
                        {"prepend_scheme", scheme},
                        {"split", false}};
  const std::string dir = "tokenizer_sp_variants";
  std::filesystem::create_directories(dir + "/" + name);
  std::ofstream(dir + "/" + name + "/tokenizer.json") << j.dump();
  std::filesystem::copy_file(src + "/tokenizer_config.json",
                             dir + "/" + name + "/tokenizer_config.json",
                             std::filesystem::copy_options::overwrite_existing);
  return dir;
}

TEST(TokenizerSpGolden, Gemma3MatchesTokenizersJs) {
  check_model(test::tokenizers_dir(), "gemma3", test::real_tokenizer("gemma3"));
}

TEST(TokenizerSpGolden, Llama2MatchesTokenizersJs) {
  check_model(test::tokenizers_dir(), "llama2", test::real_tokenizer("llama2"));
}

// The byte-level files through the same reference: a cross-check of the HF-made fixtures.
#define BYTE_LEVEL_CROSS_CHECK(Test, name)                                 \
  TEST(TokenizerJsCrossCheck, Test) {                                      \
    check_model(test::tokenizers_dir(), name, test::real_tokenizer(name)); \
  }
BYTE_LEVEL_CROSS_CHECK(Qwen3, "qwen3")
BYTE_LEVEL_CROSS_CHECK(Llama31, "llama3_1")
BYTE_LEVEL_CROSS_CHECK(Llama3, "llama3")
BYTE_LEVEL_CROSS_CHECK(DeepseekV3, "deepseek_v3")
BYTE_LEVEL_CROSS_CHECK(GptOss, "gptoss")
#undef BYTE_LEVEL_CROSS_CHECK

TEST(TokenizerSpGolden, MetaspaceVariantsMatchTokenizersJs) {
  for (const char* scheme : {"first", "always"}) {
    const std::string name = std::string("llama2_metaspace_") + scheme;
    const std::string dir = write_metaspace_variant(name, scheme);
    ASSERT_FALSE(dir.empty())
        << "llama2 tokenizer files are missing: run scripts/fetch_tokenizers.sh";
    auto tok = Tokenizer::load_dir(dir + "/" + name);
    ASSERT_TRUE(tok.ok()) << tok.error().to_string();
    check_model(dir, name, &*tok);
  }
}

}  // namespace
}  // namespace agentrt::tokenizer
