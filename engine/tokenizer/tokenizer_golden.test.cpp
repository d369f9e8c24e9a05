// Golden tests: our tokenizer must reproduce HF `tokenizers` exactly on the fixtures made by
// tests/tokenizer/make_fixtures.py (copied into tests/tokenizer/fixtures/).
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "engine/tokenizer/tokenizer.h"
#include "engine/tokenizer/tokenizer_test_util.h"

namespace agentrt::tokenizer {
namespace {

using nlohmann::json;

// $AGENTRT_TOKENIZER_FIXTURES_DIR, else <source>/tests/tokenizer/fixtures.
std::string fixtures_dir() {
  if (const char* d = std::getenv("AGENTRT_TOKENIZER_FIXTURES_DIR"); d != nullptr && *d != '\0')
    return d;
  return std::string(AGENTRT_SOURCE_DIR) + "/tests/tokenizer/fixtures";
}

// Reads a JSON-lines fixture; records a failure naming the file when it is missing.
std::vector<json> read_rows(const std::string& file) {
  const std::string path = fixtures_dir() + "/" + file;
  std::ifstream in(path);
  if (!in) {
    ADD_FAILURE() << "golden fixture " << path << " is missing: run "
                  << "`python3 tests/tokenizer/make_fixtures.py --tokenizers DIR --out OUT` on a "
                  << "machine with HF tokenizers/transformers and copy OUT/* to "
                  << "tests/tokenizer/fixtures/";
    return {};
  }
  std::vector<json> rows;
  std::string line;
  while (std::getline(in, line))
    if (!line.empty()) rows.push_back(json::parse(line));
  return rows;
}

std::string first_difference(const std::vector<std::int32_t>& got, const json& want) {
  const auto expected = want.get<std::vector<std::int32_t>>();
  std::size_t i = 0;
  while (i < got.size() && i < expected.size() && got[i] == expected[i])
    ++i;
  return "first difference at index " + std::to_string(i) + " (got " + std::to_string(got.size()) +
         " ids, want " + std::to_string(expected.size()) + ")";
}

void check_ids(const std::string& name) {
  const Tokenizer* tok = test::real_tokenizer(name);
  ASSERT_NE(tok, nullptr);
  const auto rows = read_rows(name + ".ids.jsonl");
  int failures = 0;
  for (std::size_t r = 0; r < rows.size() && failures < 10; ++r) {
    const json& row = rows[r];
    if (row.contains("error") || !row.contains("ids")) continue;
    const std::string text = row["text"].get<std::string>();
    const auto ids = tok->encode(text);
    if (ids != row["ids"].get<std::vector<std::int32_t>>()) {
      ++failures;
      ADD_FAILURE() << name << " line " << r << " " << json(text).dump() << ": "
                    << first_difference(ids, row["ids"]);
      continue;
    }
    if (row.contains("ids_special")) {
      EXPECT_EQ(tok->encode(text, true), row["ids_special"].get<std::vector<std::int32_t>>())
          << name << " line " << r;
    }
    if (row.contains("decoded")) {
      EXPECT_EQ(tok->decode(ids).value(), row["decoded"].get<std::string>())
          << name << " line " << r;
      EXPECT_EQ(tok->decode(ids, true).value(), row["decoded_skip_special"].get<std::string>())
          << name << " line " << r;
    }
  }
  EXPECT_EQ(failures, 0);
}

void check_decodes(const std::string& name) {
  const Tokenizer* tok = test::real_tokenizer(name);
  ASSERT_NE(tok, nullptr);
  for (const json& row : read_rows(name + ".decode.jsonl")) {
    if (!row.contains("text")) continue;
    const auto ids = row["ids"].get<std::vector<std::int32_t>>();
    auto got = tok->decode(ids, row["skip_special"].get<bool>());
    ASSERT_TRUE(got.ok()) << got.error().to_string();
    EXPECT_EQ(*got, row["text"].get<std::string>()) << row["ids"].dump();
  }
}

void check_chat_ids(const std::string& name) {
  const Tokenizer* tok = test::real_tokenizer(name);
  ASSERT_NE(tok, nullptr);
  for (const json& row : read_rows(name + ".chat.jsonl")) {
    if (!row.contains("ids")) continue;
    EXPECT_EQ(tok->encode(row["text"].get<std::string>()),
              row["ids"].get<std::vector<std::int32_t>>())
        << name << " chat case " << row["name"];
  }
}

TEST(TokenizerGolden, Qwen3Ids) {
  check_ids("qwen3");
}
TEST(TokenizerGolden, Llama31Ids) {
  check_ids("llama3_1");
}
TEST(TokenizerGolden, Qwen3Decodes) {
  check_decodes("qwen3");
}
TEST(TokenizerGolden, Llama31Decodes) {
  check_decodes("llama3_1");
}
TEST(TokenizerGolden, Qwen3ChatIds) {
  check_chat_ids("qwen3");
}
TEST(TokenizerGolden, Llama31ChatIds) {
  check_chat_ids("llama3_1");
}
TEST(TokenizerGolden, Llama32Ids) {
  check_ids("llama3_2");
}
TEST(TokenizerGolden, Llama32Decodes) {
  check_decodes("llama3_2");
}
TEST(TokenizerGolden, Llama32ChatIds) {
  check_chat_ids("llama3_2");
}

}  // namespace
}  // namespace agentrt::tokenizer
